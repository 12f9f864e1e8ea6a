"""The PostgreSQL pool: a hard size, and dropped idle connections never reach a caller."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.db import session as db_session
from app.core.db.session import create_engine
from devtools.postgres import PostgresServer

pytestmark = [pytest.mark.postgres]


async def _backend_pid(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        return int(await connection.scalar(text("SELECT pg_backend_pid()")))


async def _terminate(postgres: PostgresServer, pid: int) -> None:
    admin = await asyncpg.connect(postgres.url("postgres", driver="postgresql"))
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
    finally:
        await admin.close()


async def test_a_connection_dropped_while_idle_is_replaced_before_use(
    postgres: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db_session, "IDLE_BEFORE_PING_S", 0.0)  # every reuse counts as idle
    engine = create_engine(postgres.url(postgres.create_database()), pool_size=1)
    try:
        first = await _backend_pid(engine)
        await _terminate(postgres, first)  # as a server restart or an idle timeout would

        second = await _backend_pid(engine)  # the ping found it dead; a fresh one served

        assert second != first
    finally:
        await engine.dispose()


async def test_without_the_ping_the_dropped_connection_fails_the_caller(
    postgres: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The control: what the ping saves callers from.
    monkeypatch.setattr(db_session, "IDLE_BEFORE_PING_S", 3600.0)
    engine = create_engine(postgres.url(postgres.create_database()), pool_size=1)
    try:
        await _terminate(postgres, await _backend_pid(engine))

        with pytest.raises(DBAPIError):
            await _backend_pid(engine)
    finally:
        await engine.dispose()


async def test_the_pool_size_is_a_hard_cap(postgres: PostgresServer) -> None:
    engine = create_engine(postgres.url(postgres.create_database()), pool_size=2)
    try:
        held = [await engine.connect() for _ in range(2)]
        freed = await held[0].scalar(text("SELECT pg_backend_pid()"))
        with pytest.raises(TimeoutError):  # a third caller waits; no extra connection opens
            await asyncio.wait_for(_backend_pid(engine), 0.5)
        await held[0].close()
        assert await asyncio.wait_for(_backend_pid(engine), 10) == freed  # the same connection
        await held[1].close()
        assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    finally:
        await engine.dispose()
