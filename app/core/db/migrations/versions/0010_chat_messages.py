"""Chat: the conversation each user has with the AI agent (when one is configured), bounded.

A new table only; downgrading drops it (the agent then starts every conversation afresh).
"""

import sqlalchemy as sa
from alembic import op

from app.core.db.migrations.columns import owner_column, row_number_column
from app.core.db.types import UTCDateTime

revision: str = "0010"
down_revision: str | None = "0009"


def upgrade() -> None:
    op.create_table(
        "chat_messages",
        row_number_column(),
        owner_column(),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("role IN ('user', 'assistant')", name="ck_chat_messages_role"),
    )
    op.create_index("ix_chat_messages_owner_id_id", "chat_messages", ["owner_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_chat_messages_owner_id_id", table_name="chat_messages")
    op.drop_table("chat_messages")
