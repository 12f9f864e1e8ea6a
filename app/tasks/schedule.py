"""A task's place in its recurring series: its occurrence and the ones after it.

Computed from the task's own position (``occurrence_index``), never by walking the series from
its first occurrence, and bounded by ``limit``; the rule engine runs in a worker thread, so a
rare rule that makes ``rrule`` search far ahead cannot stall the event loop (and with it the
process's health checks).
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db.models import Task, TaskRecurrence
from app.domain.recurrence import Occurrence, RecurrenceRule, occurrences_from
from app.tasks.commands import get_task
from app.tasks.errors import InvalidTaskInput, TaskNotFound

MAX_OCCURRENCES: Final = 100


@dataclass(frozen=True, slots=True)
class ListedOccurrence:
    index: int
    due_date: datetime
    task_id: uuid.UUID | None  # the task of this occurrence, once created
    completed: bool | None


@dataclass(frozen=True, slots=True)
class SeriesSchedule:
    series_id: uuid.UUID
    rule: dict[str, Any]
    description: str
    timezone: str
    occurrences: list[ListedOccurrence]


async def upcoming_occurrences(
    session: AsyncSession, owner_id: uuid.UUID, task_id: uuid.UUID, limit: int
) -> SeriesSchedule:
    """The task's occurrence and up to ``limit - 1`` after it, with the tasks created so far."""
    if not 1 <= limit <= MAX_OCCURRENCES:
        raise InvalidTaskInput("limit", f"must be from 1 to {MAX_OCCURRENCES}")
    task = await get_task(session, owner_id, task_id)
    series = await session.get(TaskRecurrence, task.series_id) if task.series_id else None
    if series is None:
        raise TaskNotFound("recurring series for this task")
    rule = RecurrenceRule.parse(series.rule)
    first = task.occurrence_index or 0
    of_series = select(Task).where(Task.series_id == series.id)
    if rule.anchor == "schedule":
        schedule = await asyncio.to_thread(
            _scheduled, rule, series.series_start, series.timezone, first, limit
        )
        indexes = [occurrence.index for occurrence in schedule]
        created = {
            t.occurrence_index: t
            for t in await session.scalars(of_series.where(Task.occurrence_index.in_(indexes)))
        }
    else:
        # Completion-anchored series exist only as the tasks created so far.
        tasks = await session.scalars(
            of_series.where(Task.occurrence_index >= first, Task.due_date.is_not(None))
            .order_by(Task.occurrence_index)
            .limit(limit)
        )
        created = {t.occurrence_index: t for t in tasks}
        schedule = [
            Occurrence(index=i, due=t.due_date)
            for i, t in created.items()
            if i is not None and t.due_date is not None
        ]
    listed = []
    for occurrence in schedule:
        existing = created.get(occurrence.index)
        listed.append(
            ListedOccurrence(
                index=occurrence.index,
                due_date=occurrence.due,
                task_id=existing.id if existing else None,
                completed=existing.completed if existing else None,
            )
        )
    return SeriesSchedule(
        series_id=series.id,
        rule=series.rule,
        description=rule.describe(),
        timezone=series.timezone,
        occurrences=listed,
    )


def _scheduled(
    rule: RecurrenceRule, start: datetime, tz: str, first: int, limit: int
) -> list[Occurrence]:
    return list(islice(occurrences_from(rule, start, tz, first), limit))
