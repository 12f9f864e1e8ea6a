"""Every change to a task, each in the caller's transaction together with its outbox events.

Callers (the API routes, the recurring and notifier services) open the transaction and commit;
these functions validate, change rows, and record the events, so a change and its events commit
or roll back together.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.problems import invalid, not_found
from app.api.schemas import ReminderIn, TaskCreate, TaskUpdate
from app.core.db.models import Reminder, Task, TaskRecurrence
from app.core.db.notify import REMINDERS_CHANNEL, notify
from app.core.events import outbox
from app.core.events.contract import (
    SOURCE_API,
    CloudEvent,
    EventType,
    ReminderScheduledData,
    TaskDeletedData,
)
from app.domain.recurrence import RecurrenceError, RecurrenceRule, check_series
from app.tasks.snapshots import pending_reminders, reminder_data, task_data


def _now() -> datetime:
    return datetime.now(UTC)


def _build_reminders(
    reminders: Sequence[ReminderIn], due_date: datetime | None, field: str = "reminders"
) -> list[Reminder]:
    built = []
    for position, reminder in enumerate(reminders):
        if reminder.before is not None:
            if due_date is None:
                raise invalid(f"{field}[{position}].before", "a relative reminder needs a due_date")
            built.append(
                Reminder(
                    id=uuid.uuid4(),
                    offset_seconds=int(reminder.before.total_seconds()),
                    remind_at=due_date - reminder.before,
                )
            )
        else:
            assert reminder.at is not None  # ReminderIn guarantees exactly one of the two
            built.append(Reminder(id=uuid.uuid4(), offset_seconds=None, remind_at=reminder.at))
    return built


def _refresh_reminder_sent(task: Task) -> None:
    active = [r for r in task.reminders if r.cancelled_at is None]
    task.reminder_sent = bool(active) and all(r.sent_at is not None for r in active)


def _start_series(task: Task, rule: RecurrenceRule) -> TaskRecurrence:
    if task.due_date is None:
        raise invalid("recurrence", "a recurring task needs a due_date to start its series")
    try:
        check_series(rule, task.due_date, task.timezone)
    except RecurrenceError as exc:
        raise invalid("recurrence", f"{exc.field.removeprefix('recurrence.')}: {exc}") from None
    series = TaskRecurrence(
        id=uuid.uuid4(),
        owner_id=task.owner_id,
        rule=rule.to_dict(),
        timezone=task.timezone,
        series_start=task.due_date,
        next_due_date=task.due_date,
        last_created_at=_now(),
    )
    task.series_id = series.id
    task.occurrence_index = 0
    task.recurrence = rule.to_dict()
    return series


TASK_CHANGES = "task_changes"  # session.info key: task events of this transaction, for metrics


async def record_task_event(
    session: AsyncSession,
    event_type: EventType,
    task: Task,
    traceparent: str | None,
    *,
    source: str = SOURCE_API,
) -> None:
    """The task's snapshot as ``event_type`` in the outbox (and counted once committed)."""
    session.info.setdefault(TASK_CHANGES, []).append(event_type.value.removeprefix("task."))
    await outbox.record(
        session,
        CloudEvent.of(
            event_type, task_data(task), subject=task.id, source=source, traceparent=traceparent
        ),
    )


async def record_reminders_scheduled(
    session: AsyncSession, task: Task, traceparent: str | None, *, source: str = SOURCE_API
) -> None:
    """``reminder.scheduled`` for the task's pending reminders, and a wake-up for the notifier,
    whose in-memory schedule then takes them in at once instead of at its next poll."""
    pending = pending_reminders(task)
    if not pending:
        return
    await notify(session, REMINDERS_CHANNEL)
    data = ReminderScheduledData(
        task_id=task.id, owner_id=task.owner_id, reminders=[reminder_data(r) for r in pending]
    )
    await outbox.record(
        session,
        CloudEvent.of(
            EventType.REMINDER_SCHEDULED,
            data,
            subject=task.id,
            source=source,
            traceparent=traceparent,
        ),
    )


async def create_task(
    session: AsyncSession,
    owner_id: uuid.UUID,
    body: TaskCreate,
    *,
    traceparent: str | None = None,
) -> Task:
    now = _now()
    task = Task(
        id=uuid.uuid4(),
        owner_id=owner_id,
        title=body.title,
        description=body.description,
        priority=body.priority,
        tags=body.tags,
        due_date=body.due_date,
        timezone=body.timezone,
        # Column defaults apply only at flush; the event snapshot is taken before it.
        completed=False,
        reminder_sent=False,
        version=1,
        created_at=now,
        updated_at=now,
        reminders=_build_reminders(body.reminders, body.due_date),
    )
    if body.recurrence is not None:
        # The series row first: the task references it.
        session.add(_start_series(task, body.recurrence))
        await session.flush()
    session.add(task)
    # The first outbox insert flushes the task and its reminders; all of it commits together.
    await record_task_event(session, EventType.TASK_CREATED, task, traceparent)
    await record_reminders_scheduled(session, task, traceparent)
    return task


async def get_task(session: AsyncSession, owner_id: uuid.UUID, task_id: uuid.UUID) -> Task:
    """The caller's task; another user's task is indistinguishable from a missing one."""
    task = await session.scalar(select(Task).where(Task.id == task_id, Task.owner_id == owner_id))
    if task is None:
        raise not_found()
    return task


def _require(value: object, field: str) -> None:
    if value is None:
        raise invalid(field, "must not be null")


async def update_task(
    session: AsyncSession,
    task: Task,
    body: TaskUpdate,
    *,
    traceparent: str | None = None,
) -> Task:
    given = body.model_fields_set
    for field in ("title", "description", "priority", "tags", "timezone"):
        if field in given:
            value = getattr(body, field)
            _require(value, field)
            setattr(task, field, value)

    reminders_moved = False
    if "due_date" in given and body.due_date != task.due_date:
        task.due_date = body.due_date
        reminders_moved = _move_relative_reminders(task, replacing="reminders" in given)
    if "reminders" in given:
        _replace_reminders(task, body.reminders or [])
        reminders_moved = True
    if "recurrence" in given:
        await _change_recurrence(session, task, body.recurrence)
    elif "timezone" in given and task.series_id is not None:
        series = await session.get(TaskRecurrence, task.series_id)
        if series is not None:
            series.timezone = task.timezone

    _refresh_reminder_sent(task)
    task.updated_at = _now()
    await session.flush()
    await record_task_event(session, EventType.TASK_UPDATED, task, traceparent)
    if reminders_moved:
        # The notifier re-reads its schedule on any change, including reminders going away.
        # Tell the notifier even when no reminder is left: it drops the ones it held.
        await notify(session, REMINDERS_CHANNEL)
        await record_reminders_scheduled(session, task, traceparent)
    return task


def _move_relative_reminders(task: Task, *, replacing: bool) -> bool:
    """Relative reminders follow the due date; returns whether any pending one moved."""
    moved = False
    for reminder in task.reminders:
        if reminder.offset_seconds is None or reminder.sent_at or reminder.cancelled_at:
            continue
        if task.due_date is None:
            if not replacing:
                raise invalid(
                    "due_date", "the task has reminders relative to its due date; remove them first"
                )
            continue
        reminder.remind_at = task.due_date - timedelta(seconds=reminder.offset_seconds)
        moved = True
    return moved


def _replace_reminders(task: Task, reminders: Sequence[ReminderIn]) -> None:
    # Reminders already sent stay as history; the pending ones are replaced by the new set.
    kept = [r for r in task.reminders if r.sent_at is not None]
    task.reminders = kept + _build_reminders(reminders, task.due_date)


async def _change_recurrence(
    session: AsyncSession, task: Task, rule: RecurrenceRule | None
) -> None:
    if task.series_id is not None:
        await session.execute(
            update(TaskRecurrence).where(TaskRecurrence.id == task.series_id).values(active=False)
        )
    if rule is None:
        task.recurrence = None
        return
    # A new rule starts a new series anchored on this task's due date. The series row is
    # flushed alone first: no ORM relationship orders it before the task row that now points
    # at it, and the task's UPDATE could otherwise come first (a foreign-key violation).
    series = _start_series(task, rule)
    session.add(series)
    await session.flush([series])


async def complete_task(
    session: AsyncSession,
    owner_id: uuid.UUID,
    task_id: uuid.UUID,
    *,
    traceparent: str | None = None,
) -> Task:
    """Mark the task completed once; a retry returns it unchanged and records no second event."""
    now = _now()
    # The conditional UPDATE is the idempotency guard: of two concurrent calls, one wins.
    claimed = await session.scalar(
        update(Task)
        .where(Task.id == task_id, Task.owner_id == owner_id, Task.completed.is_(False))
        .values(completed=True, completed_at=now, updated_at=now, version=Task.version + 1)
        .returning(Task.id)
        .execution_options(synchronize_session=False)
    )
    if claimed is not None:
        await session.execute(
            update(Reminder)
            .where(
                Reminder.task_id == task_id,
                Reminder.sent_at.is_(None),
                Reminder.cancelled_at.is_(None),
            )
            .values(cancelled_at=now)
            .execution_options(synchronize_session=False)
        )
        await notify(session, REMINDERS_CHANNEL)
    task = await session.scalar(
        select(Task)
        .where(Task.id == task_id, Task.owner_id == owner_id)
        .execution_options(populate_existing=True)
    )
    if task is None:
        raise not_found()
    if claimed is not None:
        await session.refresh(task, ["reminders"])
        await record_task_event(session, EventType.TASK_COMPLETED, task, traceparent)
    return task


async def delete_task(session: AsyncSession, task: Task, *, traceparent: str | None = None) -> None:
    if task.series_id is not None and not task.completed:
        # Deleting the open occurrence of a series ends the series.
        await session.execute(
            update(TaskRecurrence).where(TaskRecurrence.id == task.series_id).values(active=False)
        )
    data = TaskDeletedData(id=task.id, owner_id=task.owner_id, series_id=task.series_id)
    if any(r.sent_at is None and r.cancelled_at is None for r in task.reminders):
        await notify(session, REMINDERS_CHANNEL)
    await session.delete(task)
    session.info.setdefault(TASK_CHANGES, []).append("deleted")
    await outbox.record(
        session,
        CloudEvent.of(EventType.TASK_DELETED, data, subject=task.id, traceparent=traceparent),
    )
