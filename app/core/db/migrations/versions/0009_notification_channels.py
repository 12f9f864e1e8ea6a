"""Notifications: per-user channel preferences and Web Push subscriptions.

New tables only; downgrading drops them (preferences and browsers' subscriptions are lost).
"""

import sqlalchemy as sa
from alembic import op

from app.core.db.migrations.columns import owner_column
from app.core.db.types import UTCDateTime

revision: str = "0009"
down_revision: str | None = "0008"


def upgrade() -> None:
    op.create_table(
        "notification_preferences",
        owner_column(primary_key=True),
        sa.Column("push", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("email", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("webhook_url", sa.String(2048), nullable=True),
        sa.Column("webhook_secret", sa.String(100), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "push_subscriptions",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("endpoint", sa.String(2048), nullable=False),
        sa.Column("p256dh", sa.String(100), nullable=False),
        sa.Column("auth", sa.String(50), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        # Listed before the unique constraint, which keeps the table's SQL as first released.
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], ondelete="CASCADE"),
        sa.UniqueConstraint("owner_id", "endpoint", name="uq_push_subscriptions_owner_endpoint"),
    )
    op.create_index("ix_push_subscriptions_owner", "push_subscriptions", ["owner_id"])


def downgrade() -> None:
    op.drop_index("ix_push_subscriptions_owner", table_name="push_subscriptions")
    op.drop_table("push_subscriptions")
    op.drop_table("notification_preferences")
