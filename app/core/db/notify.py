"""PostgreSQL NOTIFY from inside a transaction: listeners hear it only once the change commits."""

from __future__ import annotations

from typing import Final

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db.session import dialect_name

OUTBOX_CHANNEL: Final = "outbox"  # the relay: new events (sent by a trigger on the outbox table)
REMINDERS_CHANNEL: Final = "reminders"  # the notifier: reminders added, moved or cancelled


async def notify(session: AsyncSession, channel: str) -> None:
    """Wake the listeners of ``channel`` on commit; a no-op on SQLite (the local run polls)."""
    if dialect_name(session) == "postgresql":
        # PostgreSQL folds identical notifications of one transaction into one.
        await session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": channel})
