"""Advanced task fields: due dates, time zones, recurrence series and reminders.

Existing tasks keep every value; they get no due date, the UTC zone and no recurrence.
Downgrading drops the new columns and tables (and with them due dates, series and reminders).
"""

import sqlalchemy as sa
from alembic import op

from app.core.db.migrations.columns import owner_column
from app.core.db.types import JSONVariant, UTCDateTime

revision: str = "0002"
down_revision: str | None = "0001"

NOW = sa.text("CURRENT_TIMESTAMP")
PENDING = sa.text("sent_at IS NULL AND cancelled_at IS NULL")
OPEN = sa.text("NOT completed")


def upgrade() -> None:
    op.create_table(
        "task_recurrences",
        sa.Column("id", sa.Uuid(), primary_key=True),
        owner_column(),
        sa.Column("rule", JSONVariant, nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("series_start", UTCDateTime(), nullable=False),
        sa.Column("next_due_date", UTCDateTime(), nullable=True),
        sa.Column("last_created_at", UTCDateTime(), nullable=True),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("created_at", UTCDateTime(), server_default=NOW, nullable=False),
    )

    with op.batch_alter_table("tasks") as batch:
        batch.add_column(sa.Column("due_date", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("timezone", sa.String(64), server_default="UTC", nullable=False))
        batch.add_column(sa.Column("recurrence", JSONVariant, nullable=True))
        batch.add_column(
            sa.Column(
                "reminder_sent", sa.Boolean(), server_default=sa.text("false"), nullable=False
            )
        )
        batch.add_column(sa.Column("series_id", sa.Uuid(), nullable=True))
        batch.add_column(sa.Column("occurrence_index", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_tasks_series_id_task_recurrences",
            "task_recurrences",
            ["series_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch.create_unique_constraint(
            "uq_tasks_series_id_occurrence_index", ["series_id", "occurrence_index"]
        )
    op.create_index("ix_tasks_owner_due", "tasks", ["owner_id", "due_date"])
    op.create_index(
        "ix_tasks_open_due", "tasks", ["due_date"], postgresql_where=OPEN, sqlite_where=OPEN
    )

    op.create_table(
        "reminders",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column(
            "task_id", sa.Uuid(), sa.ForeignKey("tasks.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("offset_seconds", sa.Integer(), nullable=True),
        sa.Column("remind_at", UTCDateTime(), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.Column("cancelled_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), server_default=NOW, nullable=False),
        sa.CheckConstraint(
            "offset_seconds IS NULL OR offset_seconds >= 0",
            name="ck_reminders_offset_nonnegative",
        ),
    )
    op.create_index("ix_reminders_task", "reminders", ["task_id"])
    op.create_index(
        "ix_reminders_pending",
        "reminders",
        ["remind_at"],
        postgresql_where=PENDING,
        sqlite_where=PENDING,
    )


def downgrade() -> None:
    op.drop_index("ix_reminders_pending", table_name="reminders")
    op.drop_index("ix_reminders_task", table_name="reminders")
    op.drop_table("reminders")
    op.drop_index("ix_tasks_open_due", table_name="tasks")
    op.drop_index("ix_tasks_owner_due", table_name="tasks")
    with op.batch_alter_table("tasks") as batch:
        batch.drop_constraint("uq_tasks_series_id_occurrence_index", type_="unique")
        batch.drop_constraint("fk_tasks_series_id_task_recurrences", type_="foreignkey")
        batch.drop_column("occurrence_index")
        batch.drop_column("series_id")
        batch.drop_column("reminder_sent")
        batch.drop_column("recurrence")
        batch.drop_column("timezone")
        batch.drop_column("due_date")
    op.drop_table("task_recurrences")
