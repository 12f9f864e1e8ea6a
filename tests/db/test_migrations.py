"""Alembic migrations: a round trip on real PostgreSQL holding data, and parity with the models."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from app.core.db.migrate import alembic_config, downgrade, upgrade
from app.core.db.models import Base
from app.core.db.session import create_engine
from devtools.postgres import PostgresServer


async def _execute(url: str, *statements: str, **params: object) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            for statement in statements:
                await connection.execute(text(statement), params)
    finally:
        await engine.dispose()


async def _fetch(url: str, query: str) -> list[tuple[object, ...]]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return [tuple(row) for row in await connection.execute(text(query))]
    finally:
        await engine.dispose()


async def test_round_trip_keeps_data_on_postgres(postgres: PostgresServer) -> None:
    url = postgres.url(postgres.create_database())
    user_id, task_id, later_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()

    await asyncio.to_thread(upgrade, url, "0001")
    await _execute(
        url,
        "INSERT INTO users (id, email, password_hash) VALUES (:user, 'a@example.com', 'h')",
        "INSERT INTO tasks (id, owner_id, title, description, priority, tags, completed)"
        " VALUES (:task, :user, 'written at 0001', 'd', 'high', '[\"work\"]', false)",
        "INSERT INTO outbox (event_id, topic, key, event_type, payload)"
        " VALUES (:event, 'task-events', 'k', 'task.created', '{}')",
        user=user_id,
        task=task_id,
        event=uuid.uuid4(),
    )

    await asyncio.to_thread(upgrade, url, "head")
    rows = await _fetch(
        url,
        "SELECT title, description, priority, tags, due_date, timezone, recurrence,"
        " reminder_sent, version FROM tasks",
    )
    assert rows == [("written at 0001", "d", "high", ["work"], None, "UTC", None, False, 1)]

    # Use the new fields, then step down one revision and up again.
    await _execute(
        url,
        "INSERT INTO tasks (id, owner_id, title, due_date, timezone)"
        " VALUES (:later, :user, 'written at head', '2031-01-01T09:00:00Z', 'Europe/Berlin')",
        "INSERT INTO reminders (id, task_id, remind_at) VALUES (:rem, :later, now())",
        later=later_id,
        user=user_id,
        rem=uuid.uuid4(),
    )
    # Down one revision at a time to the initial schema; every step keeps the core data.
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    while (await _fetch(url, "SELECT version_num FROM alembic_version")) != [("0001",)]:
        await asyncio.to_thread(downgrade, url, "-1")
    assert sorted(await _fetch(url, "SELECT title, priority FROM tasks")) == [
        ("written at 0001", "high"),
        ("written at head", "medium"),
    ]
    assert await _fetch(url, "SELECT count(*) FROM outbox") == [(1,)]
    assert await _fetch(url, "SELECT to_regclass('reminders')") == [(None,)]

    await asyncio.to_thread(upgrade, url, "head")
    assert await _fetch(url, "SELECT version_num FROM alembic_version") == [(head,)]
    assert await _fetch(url, "SELECT count(*), count(due_date) FROM tasks") == [(2, 0)]
    assert await _fetch(url, "SELECT count(*) FROM users") == [(1,)]


def _fresh_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database on ``backend`` ("postgres" or "sqlite")."""
    if backend == "postgres":
        server: PostgresServer = request.getfixturevalue("postgres")
        return server.url(server.create_database())
    return f"sqlite+aiosqlite:///{tmp_path / 'schema.db'}"


# Every constraint and index name a fresh `upgrade head` creates, recorded from main at ed78d40
# (before the revisions left the names equal to the naming convention's to the convention).
# Deployed databases hold these names and downgrades drop constraints by name, so neither an edit
# of a revision nor of the models' NAMING_CONVENTION (op.create_table applies it) may alter one.
# The doubled check-constraint names are what the revisions have always created.
SCHEMA_NAMES: dict[str, set[str]] = {
    "access_tokens": {
        "fk_access_tokens_owner_id_users",
        "ix_access_tokens_owner",
        "pk_access_tokens",
        "uq_access_tokens_token_hash",
    },
    "alembic_version": {"alembic_version_pkc"},
    "audit_log": {"ix_audit_log_task_time", "pk_audit_log", "uq_audit_log_event_id"},
    "chat_messages": {
        "ck_chat_messages_ck_chat_messages_role",
        "fk_chat_messages_owner_id_users",
        "ix_chat_messages_owner_id_id",
        "pk_chat_messages",
    },
    "chat_undo": {"fk_chat_undo_owner_id_users", "pk_chat_undo"},
    "idempotency_keys": {"fk_idempotency_keys_owner_id_users", "pk_idempotency_keys"},
    "login_throttle": {"ix_login_throttle_last_attempt_at", "pk_login_throttle"},
    "notification_deliveries": {
        "ck_notification_deliveries_ck_notification_deliveries_status",
        "ix_notification_deliveries_owner_sent",
        "pk_notification_deliveries",
        "uq_notification_deliveries_reminder_id_channel",
    },
    "notification_preferences": {
        "fk_notification_preferences_owner_id_users",
        "pk_notification_preferences",
    },
    "outbox": {"ix_outbox_unpublished", "pk_outbox", "uq_outbox_event_id"},
    "processed_events": {"ix_processed_events_processed_at", "pk_processed_events"},
    "push_subscriptions": {
        "fk_push_subscriptions_owner_id_users",
        "ix_push_subscriptions_owner",
        "pk_push_subscriptions",
        "uq_push_subscriptions_owner_endpoint",
    },
    "reminders": {
        "ck_reminders_ck_reminders_offset_nonnegative",
        "fk_reminders_task_id_tasks",
        "ix_reminders_pending",
        "ix_reminders_task",
        "pk_reminders",
    },
    "revoked_tokens": {"ix_revoked_tokens_expires_at", "pk_revoked_tokens"},
    "task_recurrences": {"fk_task_recurrences_owner_id_users", "pk_task_recurrences"},
    "tasks": {
        "ck_tasks_ck_tasks_priority",
        "fk_tasks_owner_id_users",
        "fk_tasks_series_id_task_recurrences",
        "ix_tasks_open_due",
        "ix_tasks_owner_created",
        "ix_tasks_owner_due",
        "pk_tasks",
        "uq_tasks_series_id_occurrence_index",
    },
    "users": {"pk_users", "ux_users_email_lower"},
    "withheld_reminder_emails": {
        "ck_withheld_reminder_emails_ck_withheld_reminder_emails_reason",
        "ix_withheld_reminder_emails_owner",
        "pk_withheld_reminder_emails",
    },
}

POSTGRES_NAMES = (
    "SELECT conrelid::regclass::text, conname FROM pg_constraint"
    " WHERE connamespace = 'public'::regnamespace AND contype IN ('p', 'f', 'u', 'c')"
    " UNION SELECT tablename, indexname FROM pg_indexes WHERE schemaname = 'public'"
)
SQLITE_INDEX_NAMES = (
    "SELECT tbl_name, name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
)


def _schema_names(connection: Connection) -> dict[str, set[str]]:
    names: dict[str, set[str]] = {}
    query = POSTGRES_NAMES if connection.dialect.name == "postgresql" else SQLITE_INDEX_NAMES
    for table, name in connection.execute(text(query)):
        names.setdefault(table, set()).add(name)
    if connection.dialect.name == "sqlite":
        # SQLite keeps constraint names only in each table's SQL: reflect them from it.
        inspector = inspect(connection)
        for table in inspector.get_table_names():
            constraints = [
                inspector.get_pk_constraint(table),
                *inspector.get_foreign_keys(table),
                *inspector.get_unique_constraints(table),
                *inspector.get_check_constraints(table),
            ]
            names.setdefault(table, set()).update(str(c["name"]) for c in constraints)
    return names


def _diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


# SQLite cannot reflect the expression index on lower(email); PostgreSQL compares it.
@pytest.mark.filterwarnings(
    "ignore:autogenerate skipping metadata-specified expression-based index"
)
@pytest.mark.parametrize("backend", ["postgres", "sqlite"])
async def test_migrations_build_exactly_the_models(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = _fresh_url(backend, request, tmp_path)
    await asyncio.to_thread(upgrade, url, "head")
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(_diff) == []
    finally:
        await engine.dispose()


@pytest.mark.parametrize("backend", ["postgres", "sqlite"])
async def test_migrations_create_the_recorded_names(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = _fresh_url(backend, request, tmp_path)
    await asyncio.to_thread(upgrade, url, "head")
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(_schema_names) == SCHEMA_NAMES
    finally:
        await engine.dispose()
