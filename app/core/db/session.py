"""Engine and session factory for the configured database."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Final

from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session


def create_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    """An async engine; SQLite gets foreign keys and WAL so it behaves like the real thing."""
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

        return engine
    engine = create_async_engine(url, pool_size=pool_size, max_overflow=0, pool_recycle=1800)
    _ping_when_idle(engine)
    return engine


# A connection back in use within this long is trusted without a ping.
IDLE_BEFORE_PING_S: Final = 1.0


def _ping_when_idle(engine: AsyncEngine) -> None:
    """Pre-ping, but only connections that sat idle in the pool.

    A connection the server dropped (restart, failover, idle timeout) should not reach a request,
    which would fail on it. SQLAlchemy's ``pool_pre_ping`` checks every checkout, and
    its asyncpg ping is three round trips (BEGIN, a statement, ROLLBACK) -- under load more than
    the create-task request's own statements. Only connections idle for a second are checked:
    an idle timeout or a restart during a quiet spell is caught before use; a restart under
    load fails the statements in flight (the pool then discards every connection it holds, and
    the next requests get fresh ones). Raising DisconnectionError makes the pool discard the
    connection and hand out a fresh one.
    """

    @event.listens_for(engine.sync_engine, "checkin")
    def _returned(_dbapi_connection: Any, record: Any) -> None:
        record.info["returned_at"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _check(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        returned = record.info.get("returned_at")
        if returned is None or time.monotonic() - returned < IDLE_BEFORE_PING_S:
            return  # fresh, or in use a moment ago
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:  # whatever the driver raises for a dead connection
            raise DisconnectionError(f"pooled connection failed its ping: {exc}") from exc


def dialect_name(session: AsyncSession) -> str:
    """ "postgresql" or "sqlite": the few statements that differ between them branch on this."""
    return session.get_bind().dialect.name


def session_factory(
    engine: AsyncEngine, *, after_commit: Callable[[Session], None] | None = None
) -> async_sessionmaker[AsyncSession]:
    """Sessions on ``engine``; ``after_commit`` sees each session right after it commits.

    Work that must only count once the data is durable (metrics) hangs off ``after_commit``
    and reads what the transaction noted in ``session.info``, which a rollback clears.
    """
    if after_commit is None:
        return async_sessionmaker(engine, expire_on_commit=False)

    class _ObservedSession(Session):
        pass

    event.listen(_ObservedSession, "after_commit", after_commit)
    event.listen(_ObservedSession, "after_rollback", lambda session: session.info.clear())
    return async_sessionmaker(engine, expire_on_commit=False, sync_session_class=_ObservedSession)
