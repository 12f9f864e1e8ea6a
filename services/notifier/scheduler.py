"""The notifier's clock: fire each reminder when its ``remind_at`` arrives.

An in-memory min-heap holds the times of the next ``size`` pending reminders. The loop sleeps
until the earliest of them (or until woken), claims everything due, and goes back to sleep. The
heap is reloaded from the database when a NOTIFY on ``reminders`` says reminders were added,
moved or cancelled, when it has drained a full window, and on a slow backstop poll that catches
a lost notification. The database stays the truth: claims select by ``remind_at <= now``, so a
stale heap costs at most a wasted wake-up, never a missed or doubled reminder.

Each claim is the root of a trace: the ``reminder.due`` events it writes carry it, so the
delivery and its ``notification.sent`` follow in the same trace.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import SpanKind
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.observability.tracing import continue_trace, current_traceparent
from services.common.waiting import wait_set
from services.notifier.claims import Claimed, claim_due, due_count, upcoming

log = logging.getLogger("services.notifier.scheduler")

# Due reminders another transaction holds (a replica's claim, the API completing the task) are
# looked at again this soon: the holder commits within milliseconds.
LOCKED_RETRY = timedelta(milliseconds=50)
ERROR_RETRY_SECONDS = 1.0


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class ReminderSweep:
    sent: int
    suppressed: int


async def sweep(
    sessions: async_sessionmaker[AsyncSession],
    now: datetime,
    batch_size: int,
    *,
    tracer: TracerProvider | None = None,
) -> ReminderSweep:
    """Claim every reminder due by ``now``, one committed batch at a time.

    Safe to run concurrently with itself and with other replicas: each batch skips rows another
    claim holds. Used by the scheduler loop and by ``POST /reminder-check``.
    """
    sent = suppressed = 0
    while True:
        with continue_trace(tracer, "reminders claim", None, kind=SpanKind.INTERNAL):
            async with sessions() as session, session.begin():
                claimed = await claim_due(
                    session, now, batch_size, traceparent=current_traceparent()
                )
            _log(claimed)
        sent += len(claimed.sent)
        suppressed += len(claimed.suppressed)
        if len(claimed) < batch_size:
            return ReminderSweep(sent, suppressed)


def _log(claimed: Claimed) -> None:
    if not claimed:
        return
    log.info(
        "reminders fired",
        extra={"sent": len(claimed.sent), "suppressed": len(claimed.suppressed)},
    )


class ReminderScheduler:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        size: int = 1000,
        poll_seconds: float = 30.0,
        batch_size: int = 200,
        clock: Callable[[], datetime] = utc_now,
        tracer: TracerProvider | None = None,
    ) -> None:
        self._sessions = sessions
        self._tracer = tracer
        self._size = size
        self._poll = poll_seconds
        self._batch_size = batch_size
        self._clock = clock
        self._heap: list[datetime] = []
        # Whether the last reload saw every pending reminder (fewer than `size` of them).
        self._complete = True
        self._stale = True
        self._wake = asyncio.Event()

    def changed(self) -> None:
        """Reminders were added, moved or cancelled: reload before the next sleep."""
        self._stale = True
        self._wake.set()

    @property
    def next_due(self) -> datetime | None:
        return self._heap[0] if self._heap else None

    async def run(self) -> None:
        """Fire reminders until cancelled; a database outage pauses it, never ends it."""
        while True:
            try:
                await self._step()
            except Exception as exc:  # the loop must outlive any one failure
                log.warning(
                    "scheduler step failed, retrying",
                    extra={"error": f"{type(exc).__name__}: {exc}"},
                )
                self._stale = True
                await asyncio.sleep(ERROR_RETRY_SECONDS)

    async def _step(self) -> None:
        if self._stale:
            await self._reload()
        now = self._clock()
        if self._heap and self._heap[0] <= now:
            await self._fire(now)
        else:
            await self._sleep(now)

    async def _reload(self) -> None:
        # Cleared before the query: a change notified while it runs triggers another reload.
        self._stale = False
        async with self._sessions() as session:
            pending = await upcoming(session, self._size)
        self._heap = pending
        heapq.heapify(self._heap)
        self._complete = len(pending) < self._size

    async def _fire(self, now: datetime) -> None:
        await sweep(self._sessions, now, self._batch_size, tracer=self._tracer)
        while self._heap and self._heap[0] <= now:
            heapq.heappop(self._heap)
        async with self._sessions() as session:
            held_elsewhere = await due_count(session, now)
        if held_elsewhere:
            # Look again shortly: sent by their holder by then, or free for us to claim.
            heapq.heappush(self._heap, now + LOCKED_RETRY)
        elif not self._heap and not self._complete:
            self._stale = True  # the window drained; more reminders wait beyond it

    async def _sleep(self, now: datetime) -> None:
        timeout = self._poll
        if self._heap:
            timeout = min(timeout, (self._heap[0] - now).total_seconds())
        woken = await wait_set(self._wake, timeout)
        if not woken and (not self._heap or self._heap[0] > self._clock()):
            self._stale = True  # the backstop poll
        self._wake.clear()
