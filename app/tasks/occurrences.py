"""The next occurrence of a recurring series, created once however often it is asked for.

The recurring service calls :func:`create_next_occurrence` for every ``task.completed`` of a
series, and its repair sweep calls it for every series whose latest occurrence is completed
without a successor. Both run in the caller's transaction. Exactly-once is the unique
``(series_id, occurrence_index)`` constraint: the new task is inserted with
``INSERT ... ON CONFLICT DO NOTHING``, so of two concurrent or repeated calls one inserts and the
others change nothing and record no event. The engine is deterministic in its arguments and is
given the completion time as "now", so every call computes the same occurrence.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Protocol

from sqlalchemy import and_, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db.models import Reminder, Task, TaskRecurrence
from app.core.events.contract import (
    EventType,
)
from app.core.processes import RECURRING
from app.domain.recurrence import Occurrence, RecurrenceRule, next_occurrence
from app.tasks.commands import new_task_columns, record_reminders_scheduled, record_task_event

SOURCE_RECURRING: Final = RECURRING.source
# What the next occurrence keeps of the completed one; its due date and place in the series
# are its own.
CARRIED_OVER: Final = ("owner_id", "title", "description", "priority", "tags", "timezone")


class CompletedTask(Protocol):
    """What a completion needs to know; both the ORM ``Task`` and the event's ``TaskData`` fit."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def owner_id(self) -> uuid.UUID: ...
    @property
    def title(self) -> str: ...
    @property
    def description(self) -> str: ...
    @property
    def priority(self) -> str: ...
    @property
    def tags(self) -> list[str]: ...
    @property
    def completed_at(self) -> datetime | None: ...
    @property
    def due_date(self) -> datetime | None: ...
    @property
    def timezone(self) -> str: ...
    @property
    def series_id(self) -> uuid.UUID | None: ...
    @property
    def occurrence_index(self) -> int | None: ...


@dataclass(frozen=True, slots=True)
class NextOccurrence:
    """The outcome of one call: the task created, or why none was."""

    task: Task | None
    reason: str  # "created", "exists", "series-ended", "series-inactive", "not-recurring"


def _insert(session: AsyncSession, table: Any) -> postgresql.Insert | sqlite.Insert:
    """A dialect-specific INSERT, the kind that has ``on_conflict_do_nothing``."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


async def create_next_occurrence(
    session: AsyncSession,
    completed: CompletedTask,
    *,
    traceparent: str | None = None,
) -> NextOccurrence:
    """Create the occurrence that follows ``completed`` (if the series goes on) with its
    reminders, move the series forward and record ``task.created`` in the outbox."""
    if completed.series_id is None or completed.occurrence_index is None:
        return NextOccurrence(None, "not-recurring")
    series = await session.get(TaskRecurrence, completed.series_id, populate_existing=True)
    if series is None or not series.active:
        # The rule was removed or replaced, or the series' open occurrence was deleted.
        return NextOccurrence(None, "series-inactive")
    completed_at = completed.completed_at or datetime.now(UTC)
    # A due date cleared on one occurrence: the series goes on from the completion.
    current = Occurrence(completed.occurrence_index, completed.due_date or completed_at)
    following = next_occurrence(
        RecurrenceRule.parse(series.rule),
        series_start=series.series_start,
        tz=series.timezone,
        current=current,
        completed_at=completed_at,
        # Stable across redeliveries (the engine's contract): the completion, not the clock.
        now=completed_at,
    )
    if following is None:
        await session.execute(
            update(TaskRecurrence)
            .where(TaskRecurrence.id == series.id)
            .values(active=False, next_due_date=None)
        )
        return NextOccurrence(None, "series-ended")

    new_id = await _insert_task(session, completed, series, following)
    if new_id is None:
        return NextOccurrence(None, "exists")
    await _copy_reminders(session, completed.id, new_id, following.due - current.due)
    await session.execute(
        update(TaskRecurrence)
        .where(TaskRecurrence.id == series.id)
        .values(next_due_date=following.due, last_created_at=datetime.now(UTC))
    )
    task = await session.get(Task, new_id)
    assert task is not None  # inserted above, in this transaction
    await _record_created(session, task, traceparent)
    return NextOccurrence(task, "created")


async def _insert_task(
    session: AsyncSession,
    completed: CompletedTask,
    series: TaskRecurrence,
    following: Occurrence,
) -> uuid.UUID | None:
    statement = (
        _insert(session, Task.__table__)
        .values(
            **new_task_columns(),
            **{column: getattr(completed, column) for column in CARRIED_OVER},
            due_date=following.due,
            recurrence=series.rule,
            series_id=series.id,
            occurrence_index=following.index,
        )
        .on_conflict_do_nothing(index_elements=["series_id", "occurrence_index"])
        .returning(Task.__table__.c.id)
    )
    new_id: uuid.UUID | None = await session.scalar(statement)
    return new_id


async def _copy_reminders(
    session: AsyncSession, template_id: uuid.UUID, task_id: uuid.UUID, delta: timedelta
) -> None:
    """The completed task's reminders, for the new occurrence: relative ones keep their offset
    from the new due date, absolute ones move by as much as the due date moved."""
    template = (
        await session.scalars(
            select(Reminder).where(Reminder.task_id == template_id).order_by(Reminder.remind_at)
        )
    ).all()
    if not template:
        return
    rows = [
        {
            "id": uuid.uuid4(),
            "task_id": task_id,
            "offset_seconds": reminder.offset_seconds,
            "remind_at": reminder.remind_at + delta,
        }
        for reminder in template
    ]
    await session.execute(_insert(session, Reminder.__table__), rows)


async def _record_created(session: AsyncSession, task: Task, traceparent: str | None) -> None:
    await record_task_event(
        session, EventType.TASK_CREATED, task, traceparent, source=SOURCE_RECURRING
    )
    await record_reminders_scheduled(session, task, traceparent, source=SOURCE_RECURRING)


async def series_missing_next(
    session: AsyncSession, *, completed_before: datetime, limit: int
) -> Sequence[Task]:
    """Completed latest occurrences of active series: each lacks the occurrence after it.

    ``completed_before`` leaves recent completions to the event consumer; the sweep only repairs
    what it missed (an event lost before the outbox existed, a series ended by a bug...).
    """
    latest = (
        select(Task.series_id, func.max(Task.occurrence_index).label("last_index"))
        .where(Task.series_id.is_not(None))
        .group_by(Task.series_id)
        .subquery()
    )
    statement = (
        select(Task)
        .join(
            latest,
            and_(
                Task.series_id == latest.c.series_id,
                Task.occurrence_index == latest.c.last_index,
            ),
        )
        .join(TaskRecurrence, TaskRecurrence.id == Task.series_id)
        .where(
            TaskRecurrence.active.is_(True),
            Task.completed.is_(True),
            Task.completed_at < completed_before,
        )
        .order_by(Task.completed_at, Task.id)
        .limit(limit)
    )
    return (await session.scalars(statement)).all()
