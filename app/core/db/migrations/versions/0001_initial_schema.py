"""Initial schema: users, tasks (core fields), outbox, idempotency keys."""

import sqlalchemy as sa
from alembic import op

from app.core.db.migrations.columns import owner_column, row_number_column
from app.core.db.types import JSONVariant, UTCDateTime

revision: str = "0001"
down_revision: str | None = None

NOW = sa.text("CURRENT_TIMESTAMP")


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("created_at", UTCDateTime(), server_default=NOW, nullable=False),
    )
    op.create_index("ux_users_email_lower", "users", [sa.text("lower(email)")], unique=True)

    op.create_table(
        "tasks",
        sa.Column("id", sa.Uuid(), primary_key=True),
        owner_column(),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("priority", sa.String(6), server_default="medium", nullable=False),
        sa.Column("tags", JSONVariant, server_default=sa.text("'[]'"), nullable=False),
        sa.Column("completed", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("completed_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), server_default=NOW, nullable=False),
        sa.Column("updated_at", UTCDateTime(), server_default=NOW, nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.CheckConstraint("priority IN ('high', 'medium', 'low')", name="ck_tasks_priority"),
    )
    op.create_index("ix_tasks_owner_created", "tasks", ["owner_id", "created_at"])

    op.create_table(
        "outbox",
        row_number_column(),
        sa.Column("event_id", sa.Uuid(), unique=True, nullable=False),
        sa.Column("topic", sa.String(255), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("payload", JSONVariant, nullable=False),
        sa.Column("created_at", UTCDateTime(), server_default=NOW, nullable=False),
        sa.Column("published_at", UTCDateTime(), nullable=True),
    )
    op.create_index(
        "ix_outbox_unpublished",
        "outbox",
        ["id"],
        postgresql_where=sa.text("published_at IS NULL"),
        sqlite_where=sa.text("published_at IS NULL"),
    )

    if op.get_bind().dialect.name == "postgresql":
        # Wake the relay (LISTEN outbox) whenever events commit, whoever wrote them; a trigger
        # costs no extra round trip, and PostgreSQL folds a transaction's notifications into one.
        op.execute(
            "CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS"
            " $$ BEGIN PERFORM pg_notify('outbox', ''); RETURN NULL; END $$"
        )
        op.execute(
            "CREATE TRIGGER outbox_notify AFTER INSERT ON outbox"
            " FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify()"
        )

    op.create_table(
        "idempotency_keys",
        owner_column(),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("response", JSONVariant, nullable=False),
        sa.Column("created_at", UTCDateTime(), server_default=NOW, nullable=False),
        sa.PrimaryKeyConstraint("owner_id", "key"),
    )


def downgrade() -> None:
    op.drop_table("idempotency_keys")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER outbox_notify ON outbox")
        op.execute("DROP FUNCTION outbox_notify()")
    op.drop_index("ix_outbox_unpublished", table_name="outbox")
    op.drop_table("outbox")
    op.drop_index("ix_tasks_owner_created", table_name="tasks")
    op.drop_table("tasks")
    op.drop_index("ux_users_email_lower", table_name="users")
    op.drop_table("users")
