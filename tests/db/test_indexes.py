"""The hot queries are index scans on PostgreSQL, checked with EXPLAIN on a populated table."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from app.core.db.migrate import upgrade
from app.core.db.session import create_engine
from devtools.postgres import PostgresServer

POPULATE = [
    "INSERT INTO users (id, email, password_hash)"
    " SELECT gen_random_uuid(), 'u' || i || '@example.com', 'h' FROM generate_series(1, 50) i",
    "INSERT INTO tasks (id, owner_id, title, due_date, completed)"
    " SELECT gen_random_uuid(), (SELECT id FROM users ORDER BY email LIMIT 1 OFFSET i % 50),"
    "        't' || i, now() + (i || ' minutes')::interval, i % 10 <> 0"
    " FROM generate_series(1, 20000) i",
    "INSERT INTO reminders (id, task_id, remind_at, sent_at)"
    " SELECT gen_random_uuid(), id, due_date - interval '1 hour',"
    "        CASE WHEN completed THEN due_date END FROM tasks",
    "INSERT INTO outbox (event_id, topic, key, event_type, payload, published_at)"
    " SELECT gen_random_uuid(), 'task-events', 'k', 'task.created', '{}',"
    "        CASE WHEN i % 100 <> 0 THEN now() END FROM generate_series(1, 20000) i",
    "ANALYZE",
]

QUERIES = {
    "ix_tasks_owner_due": "SELECT id FROM tasks WHERE owner_id = (SELECT id FROM users LIMIT 1)"
    " AND due_date < now() + interval '1 day'",
    "ix_tasks_open_due": "SELECT id FROM tasks WHERE NOT completed"
    " AND due_date < now() + interval '1 hour'",
    "ix_reminders_pending": "SELECT id FROM reminders WHERE sent_at IS NULL"
    " AND cancelled_at IS NULL AND remind_at <= now() + interval '1 hour'",
    "ix_outbox_unpublished": "SELECT id FROM outbox WHERE published_at IS NULL"
    " ORDER BY id LIMIT 100",
}


@pytest.fixture(scope="module")
async def populated_url(postgres: PostgresServer) -> str:
    url = postgres.url(postgres.create_database())
    await asyncio.to_thread(upgrade, url, "head")
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            for statement in POPULATE:
                await connection.execute(text(statement))
    finally:
        await engine.dispose()
    return url


@pytest.mark.parametrize("index", sorted(QUERIES))
async def test_hot_query_uses_its_index(populated_url: str, index: str) -> None:
    engine = create_engine(populated_url)
    try:
        async with engine.connect() as connection:
            plan = "\n".join(
                row[0] for row in await connection.execute(text("EXPLAIN " + QUERIES[index]))
            )
    finally:
        await engine.dispose()
    scans = (
        f"Index Scan using {index}",
        f"Index Only Scan using {index}",
        f"Bitmap Index Scan on {index}",
    )
    assert any(scan in plan for scan in scans), plan
