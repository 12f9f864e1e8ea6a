"""Engine and session factory for the configured database."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import event
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
    # Pre-ping costs a round trip per checkout, but without it a connection the server killed
    # (restart, failover, idle timeout) can leave asyncpg in a state SQLAlchemy does not
    # recognise as a disconnect, and requests fail until the process restarts.
    return create_async_engine(
        url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True, pool_recycle=1800
    )


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
