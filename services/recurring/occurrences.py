"""The recurring service's effects: the consumer of ``task.completed`` and the repair sweep.

Both create occurrences through :func:`app.tasks.occurrences.create_next_occurrence`, whose
unique ``(series_id, occurrence_index)`` insert makes them safe to run in any order, any number
of times, concurrently with each other and on several replicas. The process counts what they
create in ``todo_tasks_total{event="created"}`` once committed (``services.common.process``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.events.contract import CloudEvent, TaskData
from app.core.observability.tracing import current_traceparent
from app.tasks.occurrences import NextOccurrence, create_next_occurrence, series_missing_next

log = logging.getLogger("services.recurring")


def _report(result: NextOccurrence, trigger: str) -> None:
    if result.task is not None:
        log.info(
            "next occurrence created",
            extra={
                "trigger": trigger,
                "task_id": str(result.task.id),
                "series_id": str(result.task.series_id),
                "occurrence_index": result.task.occurrence_index,
                "due_date": result.task.due_date.isoformat() if result.task.due_date else None,
            },
        )


async def on_completed(event: CloudEvent, session: AsyncSession) -> None:
    """The ``recurring`` consumer's handler for ``task.completed``."""
    # The event's snapshot is the completion as it happened; the reminders to carry over are
    # read from the database (the snapshot lists pending ones only, and completing cancelled
    # them all). The new events carry the handling span's context: the completion's trace.
    completed = TaskData.model_validate(event.data)
    result = await create_next_occurrence(session, completed, traceparent=current_traceparent())
    _report(result, "event")


@dataclass(frozen=True, slots=True)
class OccurrenceSweep:
    examined: int
    created: int
    failed: int


async def repair_series(
    sessions: async_sessionmaker[AsyncSession],
    *,
    grace: timedelta,
    batch_size: int,
    now: datetime | None = None,
) -> OccurrenceSweep:
    """Create the missing next occurrence of every active series whose latest occurrence was
    completed more than ``grace`` ago; one transaction per series, so one broken series
    (logged, counted) does not hold up the others."""
    cutoff = (now or datetime.now(UTC)) - grace
    examined = created = failed = 0
    while True:
        async with sessions() as session:
            candidates = await series_missing_next(
                session, completed_before=cutoff, limit=batch_size
            )
        progress = False
        for candidate in candidates:
            examined += 1
            try:
                async with sessions() as session, session.begin():
                    result = await create_next_occurrence(session, candidate)
            except Exception as exc:
                failed += 1
                log.exception(
                    "series repair failed",
                    extra={"series_id": str(candidate.series_id), "error": str(exc)},
                )
                continue
            progress = True
            _report(result, "sweep")
            created += result.task is not None
        # A full batch that moved on may have more behind it; failures alone would repeat.
        if len(candidates) < batch_size or not progress:
            return OccurrenceSweep(examined, created, failed)
