"""Chat: the last change each user made by chat, so that "undo" can take it back."""

import sqlalchemy as sa
from alembic import op

from app.core.db.migrations.columns import owner_column
from app.core.db.types import JSONVariant, UTCDateTime

revision: str = "0005"
down_revision: str | None = "0004"


def upgrade() -> None:
    op.create_table(
        "chat_undo",
        owner_column(primary_key=True),
        sa.Column("action", JSONVariant, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("chat_undo")
