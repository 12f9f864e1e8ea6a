"""E-mail address verification and the per-user reminder e-mail volume.

users gains the verification state (every existing address starts unverified: none was ever
verified); notification_deliveries gains the reminder's owner, counted by the hourly e-mail
bound; withheld_reminder_emails records the reminders not e-mailed and why. Downgrading drops
them all (the record of withheld e-mails with them).
"""

import sqlalchemy as sa
from alembic import op

from app.core.db.types import UTCDateTime

revision: str = "0008"
down_revision: str | None = "0007"


def upgrade() -> None:
    # Plain ADD COLUMN (no batch copy on SQLite: users has an expression index batch cannot copy).
    op.add_column("users", sa.Column("email_verified_at", UTCDateTime(), nullable=True))
    op.add_column("users", sa.Column("email_verification_nonce", sa.String(64), nullable=True))
    op.add_column("users", sa.Column("email_verification_sent_at", UTCDateTime(), nullable=True))
    op.add_column("notification_deliveries", sa.Column("owner_id", sa.Uuid(), nullable=True))
    op.create_index(
        "ix_notification_deliveries_owner_sent",
        "notification_deliveries",
        ["owner_id", "channel", "delivered_at"],
    )
    op.create_table(
        "withheld_reminder_emails",
        sa.Column("reminder_id", sa.Uuid(), primary_key=True),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("created_at", UTCDateTime(), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint(
            "reason IN ('unverified', 'volume')", name="ck_withheld_reminder_emails_reason"
        ),
    )
    op.create_index(
        "ix_withheld_reminder_emails_owner",
        "withheld_reminder_emails",
        ["owner_id", "created_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_withheld_reminder_emails_owner", table_name="withheld_reminder_emails")
    op.drop_table("withheld_reminder_emails")
    op.drop_index("ix_notification_deliveries_owner_sent", table_name="notification_deliveries")
    # Plain DROP COLUMN (SQLite 3.35+), for the same reason as in upgrade.
    op.drop_column("notification_deliveries", "owner_id")
    for column in ("email_verification_sent_at", "email_verification_nonce", "email_verified_at"):
        op.drop_column("users", column)
