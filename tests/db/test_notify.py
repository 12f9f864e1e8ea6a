"""Commits wake their listeners: the outbox trigger and the reminders channel, on PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg

from app.core.db.migrate import upgrade_async
from devtools.postgres import PostgresServer


async def _listen(dsn: str, channel: str) -> tuple[asyncpg.Connection, asyncio.Queue[str]]:
    connection = await asyncpg.connect(dsn)
    heard: asyncio.Queue[str] = asyncio.Queue()
    # Listener callbacks get (connection, pid, channel, payload).
    await connection.add_listener(channel, lambda *args: heard.put_nowait(args[3]))
    return connection, heard


async def test_outbox_insert_notifies_once_per_committed_transaction(
    postgres: PostgresServer,
) -> None:
    database = postgres.create_database()
    await upgrade_async(postgres.url(database))
    dsn = postgres.url(database, driver="postgresql")
    listener, heard = await _listen(dsn, "outbox")
    writer = await asyncpg.connect(dsn)
    try:
        insert = (
            "INSERT INTO outbox (event_id, topic, key, event_type, payload)"
            " VALUES ($1, 'task-events', 'k', 'task.created', '{}')"
        )
        async with writer.transaction():
            await writer.execute(insert, uuid.uuid4())
            await writer.execute(insert, uuid.uuid4())
            assert heard.empty()  # nothing is heard before the commit
        assert await asyncio.wait_for(heard.get(), timeout=5) == ""  # the trigger's payload

        rolled_back = writer.transaction()
        await rolled_back.start()
        await writer.execute(insert, uuid.uuid4())
        await rolled_back.rollback()
        # A marker notification sent after the rollback arrives next: the rollback sent nothing.
        await writer.execute("SELECT pg_notify('outbox', 'marker')")
        assert await asyncio.wait_for(heard.get(), timeout=5) == "marker"
        assert heard.empty()
    finally:
        await writer.close()
        await listener.close()
