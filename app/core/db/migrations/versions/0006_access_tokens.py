"""MCP: personal access tokens, stored as SHA-256 hashes."""

import sqlalchemy as sa
from alembic import op

from app.core.db.migrations.columns import owner_column
from app.core.db.types import JSONVariant, UTCDateTime

revision: str = "0006"
down_revision: str | None = "0005"


def upgrade() -> None:
    op.create_table(
        "access_tokens",
        sa.Column("id", sa.Uuid(), primary_key=True),
        owner_column(),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("token_hash", sa.String(64), unique=True, nullable=False),
        sa.Column("scopes", JSONVariant, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_used_at", UTCDateTime(), nullable=True),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_access_tokens_owner", "access_tokens", ["owner_id"])


def downgrade() -> None:
    op.drop_index("ix_access_tokens_owner", table_name="access_tokens")
    op.drop_table("access_tokens")
