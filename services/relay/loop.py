"""When the relay publishes: at once when NOTIFY says so, on a slow poll otherwise.

NOTIFY 'outbox' is sent by every transaction that writes to the outbox (app.core.events.outbox), so
a committed event is usually published within milliseconds. The poll is the backstop for a
lost notification (a LISTEN connection that dropped, a SQLite local run with no NOTIFY at all).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.common.listen import Listener
from services.common.waiting import wait_set
from services.relay.outbox import OutboxRelay
from services.relay.pruning import prune

log = logging.getLogger("services.relay")

_MAX_BACKOFF_S = 10.0


class RelayLoop:
    def __init__(
        self, relay: OutboxRelay, *, poll_seconds: float, listener_url: str | None = None
    ) -> None:
        self.relay = relay
        self.poll_seconds = poll_seconds
        self.wake = asyncio.Event()
        self.listener = (
            Listener(listener_url, "outbox", self.wake.set) if listener_url is not None else None
        )
        self.last_error: str | None = None

    async def run(self) -> None:
        """Publish until cancelled; failures are retried with a capped exponential backoff."""
        listening = (
            asyncio.create_task(self.listener.run(), name="relay-listen")
            if self.listener is not None
            else None
        )
        backoff = 0.5
        try:
            while True:
                self.wake.clear()
                try:
                    await self.relay.publish_all()
                except Exception as exc:
                    self.last_error = f"{type(exc).__name__}: {exc}"
                    log.warning("publishing failed, retrying", extra={"error": self.last_error})
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, _MAX_BACKOFF_S)
                    continue
                self.last_error, backoff = None, 0.5
                await wait_set(self.wake, self.poll_seconds)
        finally:
            if listening is not None:
                listening.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await listening


async def prune_periodically(
    sessions: async_sessionmaker[AsyncSession],
    *,
    retention: timedelta,
    batch_size: int,
    interval_seconds: float,
) -> None:
    while True:
        try:
            await prune(sessions, cutoff=datetime.now(UTC) - retention, batch_size=batch_size)
        except Exception:  # the timer must outlive a database outage
            log.exception("pruning failed")
        await asyncio.sleep(interval_seconds)
