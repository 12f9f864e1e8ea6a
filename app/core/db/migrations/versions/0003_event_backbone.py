"""Event backbone: audit history, processed-event bookkeeping, notification deliveries.

New tables only; downgrading drops them (and the audit history with them).
"""

import sqlalchemy as sa
from alembic import op

from app.core.db.migrations.columns import row_number_column
from app.core.db.types import JSONVariant, UTCDateTime

revision: str = "0003"
down_revision: str | None = "0002"

NOW = sa.text("CURRENT_TIMESTAMP")


def upgrade() -> None:
    op.create_table(
        "audit_log",
        row_number_column(),
        sa.Column("event_id", sa.Uuid(), unique=True, nullable=False),
        sa.Column("task_id", sa.Uuid(), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("event_time", UTCDateTime(), nullable=False),
        sa.Column("source", sa.String(255), nullable=False),
        sa.Column("task_version", sa.Integer(), nullable=True),
        sa.Column("traceparent", sa.String(64), nullable=True),
        sa.Column("data", JSONVariant, nullable=False),
        sa.Column("recorded_at", UTCDateTime(), server_default=NOW, nullable=False),
    )
    op.create_index("ix_audit_log_task_time", "audit_log", ["task_id", "event_time", "id"])

    op.create_table(
        "processed_events",
        sa.Column("consumer_group", sa.String(100), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("processed_at", UTCDateTime(), server_default=NOW, nullable=False),
        sa.PrimaryKeyConstraint("consumer_group", "event_id"),
    )
    op.create_index("ix_processed_events_processed_at", "processed_events", ["processed_at"])

    op.create_table(
        "notification_deliveries",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("reminder_id", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("delivered_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), server_default=NOW, nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'delivered', 'failed')",
            name="ck_notification_deliveries_status",
        ),
        sa.UniqueConstraint("reminder_id", "channel"),
    )


def downgrade() -> None:
    op.drop_table("notification_deliveries")
    op.drop_index("ix_processed_events_processed_at", table_name="processed_events")
    op.drop_table("processed_events")
    op.drop_index("ix_audit_log_task_time", table_name="audit_log")
    op.drop_table("audit_log")
