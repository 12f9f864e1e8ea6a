"""The readiness checks' database probe, on a connection of its own.

Requests and worker handlers share a pool with a hard size (app.core.db.session). Under load every
connection is in use, and a probe queued behind them would time out and report a healthy
database as down -- taking the busiest pods out of the Service and firing the database alert.
The probe keeps one connection apart, so it measures the database, not the queue.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from app.core.db.session import create_engine

PROBE_TIMEOUT_S = 2.0


class DatabaseProbe:
    def __init__(self, database_url: str, *, timeout_s: float = PROBE_TIMEOUT_S) -> None:
        self._engine = create_engine(database_url, pool_size=1)
        self._timeout_s = timeout_s

    async def problem(self) -> str | None:
        """None when the database answers ``SELECT 1`` in time, else what went wrong."""
        try:
            async with asyncio.timeout(self._timeout_s), self._engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception as exc:
            return f"database: {type(exc).__name__}"
        return None

    async def close(self) -> None:
        await self._engine.dispose()
