"""Alembic migrations: a round trip on real PostgreSQL holding data, parity with the models, and
the constraint and index names deployed databases hold."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

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


# The doubled check-constraint names (ck_tasks_ck_tasks_priority) are what the revisions have
# always created: op.create_table applies the models' naming convention to the explicit names.
SCHEMA = Path(__file__).with_name("schema_postgres.txt")

POSTGRES_SCHEMA = """
SELECT c.relname::text, 'column ' || lpad(a.attnum::text, 2, '0') || ' ' || a.attname || ' '
  || format_type(a.atttypid, a.atttypmod) || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END
  || coalesce(' DEFAULT ' || pg_get_expr(d.adbin, d.adrelid), '')
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' AND a.attnum > 0
  AND NOT a.attisdropped
UNION ALL
SELECT conrelid::regclass::text, 'constraint ' || conname || ' ' || pg_get_constraintdef(oid)
FROM pg_constraint WHERE connamespace = 'public'::regnamespace AND contype IN ('p', 'f', 'u', 'c')
UNION ALL
SELECT tablename::text, 'index ' || indexname
  || CASE WHEN indexdef LIKE 'CREATE UNIQUE %' THEN ' UNIQUE' ELSE '' END
  || substring(indexdef from ' USING .*$')
FROM pg_indexes WHERE schemaname = 'public'
UNION ALL
SELECT tgrelid::regclass::text, 'trigger ' || tgname || ' ' || pg_get_triggerdef(oid)
FROM pg_trigger WHERE NOT tgisinternal
UNION ALL
SELECT proname::text, 'function ' || trim(regexp_replace(prosrc, '\\s+', ' ', 'g'))
FROM pg_proc WHERE pronamespace = 'public'::regnamespace
"""
SQLITE_INDEX_NAMES = (
    "SELECT tbl_name, name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
)

T = TypeVar("T")


def _recorded_schema() -> list[str]:
    lines = SCHEMA.read_text().splitlines()
    return [line for line in lines if not line.startswith("#")]


def _postgres_schema(connection: Connection) -> list[str]:
    rows = connection.execute(text(POSTGRES_SCHEMA))
    return sorted(f"{relation} {what}" for relation, what in rows)


def _recorded_names() -> dict[str, set[str]]:
    """The constraint and index names in the recorded schema, by table."""
    names: dict[str, set[str]] = {}
    for table, kind, name, *_ in (line.split() for line in _recorded_schema()):
        if kind in ("constraint", "index"):
            names.setdefault(table, set()).add(name)
    return names


def _sqlite_names(connection: Connection) -> dict[str, set[str]]:
    names: dict[str, set[str]] = {}
    for table, name in connection.execute(text(SQLITE_INDEX_NAMES)):
        names.setdefault(table, set()).add(name)
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


@pytest.fixture(params=["postgres", "sqlite"])
async def head_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database on each backend, upgraded from empty to head."""
    if request.param == "postgres":
        server: PostgresServer = request.getfixturevalue("postgres")
        url = server.url(server.create_database())
    else:
        url = f"sqlite+aiosqlite:///{tmp_path / 'head.db'}"
    await asyncio.to_thread(upgrade, url, "head")
    return url


async def _inspect(url: str, inspection: Callable[[Connection], T]) -> T:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(inspection)
    finally:
        await engine.dispose()


# SQLite cannot reflect the expression index on lower(email); PostgreSQL compares it.
@pytest.mark.filterwarnings(
    "ignore:autogenerate skipping metadata-specified expression-based index"
)
async def test_migrations_build_exactly_the_models(head_url: str) -> None:
    assert await _inspect(head_url, _diff) == []


@pytest.mark.parametrize("head_url", ["postgres"], indirect=True)
async def test_migrations_build_the_recorded_schema(head_url: str) -> None:
    assert await _inspect(head_url, _postgres_schema) == _recorded_schema()


# SQLite's table SQL is not comparable line by line (a batch-copied table's constraints come in
# no fixed order), so there the names are checked, taken from the same record.
@pytest.mark.parametrize("head_url", ["sqlite"], indirect=True)
async def test_migrations_create_the_recorded_names_on_sqlite(head_url: str) -> None:
    assert await _inspect(head_url, _sqlite_names) == _recorded_names()
