"""Every change to a task, each in the caller's transaction together with its outbox events.

Callers (the API routes, the web UI, the recurring service) open the transaction and commit;
these functions validate, change rows, and record the events, so a change and its events commit
or roll back together. A refusal is a :class:`~app.tasks.errors.TaskError`, raised before
anything is written.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from app.core.db.models import Reminder, Task, TaskRecurrence
from app.core.db.notify import REMINDERS_CHANNEL, notify
from app.core.events import outbox
from app.core.events.contract import (
    SOURCE_API,
    CloudEvent,
    EventType,
    ReminderScheduledData,
    TaskData,
    TaskDeletedData,
)
from app.core.observability.metrics import note_task_change
from app.domain import reminders as reminder_rules
from app.domain.recurrence import RecurrenceError, RecurrenceRule, check_series
from app.tasks.errors import InvalidTaskInput, TaskNotFound, VersionConflict
from app.tasks.inputs import NewTask, ReminderSpec, TaskChanges
from app.tasks.snapshots import reminder_data, task_data

# The fields of a NewTask its row stores as they are (the rule and reminders are built).
_STORED_AS_GIVEN: Final = {"title", "description", "priority", "tags", "due_date", "timezone"}


def _now() -> datetime:
    return datetime.now(UTC)


def new_task_columns() -> dict[str, Any]:
    """What every new task row starts as, whoever creates it (a user or the recurring service).

    Set here rather than left to the column defaults: those apply only at the flush, and the
    event snapshot is taken before it.
    """
    now = _now()
    return {
        "id": uuid.uuid4(),
        "completed": False,
        "reminder_sent": False,
        "version": 1,
        "created_at": now,
        "updated_at": now,
    }


def _build_reminders(
    reminders: Sequence[ReminderSpec], due_date: datetime | None, field: str = "reminders"
) -> list[Reminder]:
    built = []
    for position, reminder in enumerate(reminders):
        if reminder.before is not None:
            if due_date is None:
                raise InvalidTaskInput(
                    f"{field}[{position}].before", "a relative reminder needs a due_date"
                )
            built.append(
                Reminder(
                    id=uuid.uuid4(),
                    offset_seconds=int(reminder.before.total_seconds()),
                    remind_at=due_date - reminder.before,
                )
            )
        else:
            assert reminder.at is not None  # ReminderSpec guarantees exactly one of the two
            built.append(Reminder(id=uuid.uuid4(), offset_seconds=None, remind_at=reminder.at))
    return built


def _refresh_reminder_sent(task: Task) -> None:
    task.reminder_sent = reminder_rules.all_sent(task.reminders)


def _start_series(task: Task, rule: RecurrenceRule) -> None:
    """A new series anchored on the task's due date, with the task as its occurrence 0.

    Assigned through ``Task.series`` so the flush inserts the series before it writes the task
    row pointing at it (set through the id alone, an updated task was written first: a
    foreign-key violation); the id is set as well because the event snapshot reads it first.
    """
    if task.due_date is None:
        raise InvalidTaskInput(
            "recurrence", "a recurring task needs a due_date to start its series"
        )
    try:
        check_series(rule, task.due_date, task.timezone)
    except RecurrenceError as exc:
        field = exc.field.removeprefix("recurrence.")
        raise InvalidTaskInput("recurrence", f"{field}: {exc}") from None
    series = TaskRecurrence(
        id=uuid.uuid4(),
        owner_id=task.owner_id,
        rule=rule.to_dict(),
        timezone=task.timezone,
        series_start=task.due_date,
        next_due_date=task.due_date,
        last_created_at=_now(),
    )
    task.series = series
    task.series_id = series.id
    task.occurrence_index = 0
    task.recurrence = rule.to_dict()


async def record_task_event(
    session: AsyncSession,
    event_type: EventType,
    task: Task,
    traceparent: str | None,
    *,
    source: str = SOURCE_API,
) -> None:
    """The task's snapshot as ``event_type`` in the outbox (and counted once committed)."""
    note_task_change(session, event_type.value.removeprefix("task."))
    await _record_about(session, task, event_type, task_data(task), source, traceparent)


async def _record_about(
    session: AsyncSession,
    task: Task,
    event_type: EventType,
    data: TaskData | TaskDeletedData | ReminderScheduledData,
    source: str,
    traceparent: str | None,
) -> None:
    """An event about ``task`` in the outbox: the task is its subject (and its Kafka key)."""
    await outbox.record(
        session,
        CloudEvent.of(event_type, data, subject=task.id, source=source, traceparent=traceparent),
    )


async def record_reminders_scheduled(
    session: AsyncSession, task: Task, traceparent: str | None, *, source: str = SOURCE_API
) -> None:
    """``reminder.scheduled`` for the task's pending reminders, and a wake-up for the notifier,
    whose in-memory schedule then takes them in at once instead of at its next poll."""
    pending = reminder_rules.pending(task.reminders)
    if not pending:
        return
    await notify(session, REMINDERS_CHANNEL)
    data = ReminderScheduledData(
        task_id=task.id, owner_id=task.owner_id, reminders=[reminder_data(r) for r in pending]
    )
    await _record_about(session, task, EventType.REMINDER_SCHEDULED, data, source, traceparent)


async def create_task(
    session: AsyncSession,
    owner_id: uuid.UUID,
    body: NewTask,
    *,
    traceparent: str | None = None,
) -> Task:
    task = Task(
        **new_task_columns(),
        owner_id=owner_id,
        **body.model_dump(include=_STORED_AS_GIVEN),
        reminders=_build_reminders(body.reminders, body.due_date),
    )
    if body.recurrence is not None:
        _start_series(task, body.recurrence)
    session.add(task)
    # The first outbox insert flushes the task and its reminders; all of it commits together.
    await record_task_event(session, EventType.TASK_CREATED, task, traceparent)
    await record_reminders_scheduled(session, task, traceparent)
    return task


async def get_task(session: AsyncSession, owner_id: uuid.UUID, task_id: uuid.UUID) -> Task:
    """The caller's task; another user's task is indistinguishable from a missing one."""
    task = await session.scalar(select(Task).where(Task.id == task_id, Task.owner_id == owner_id))
    if task is None:
        raise TaskNotFound()
    return task


def _require(value: object, field: str) -> None:
    if value is None:
        raise InvalidTaskInput(field, "must not be null")


async def update_task(
    session: AsyncSession,
    task: Task,
    body: TaskChanges,
    *,
    traceparent: str | None = None,
) -> Task:
    given = body.model_fields_set
    if "recurrence" in given and task.completed:
        # A completed occurrence is history: its series goes on from the open occurrence, which
        # is where a rule is changed (or removed). Starting a series here would start it done.
        raise InvalidTaskInput(
            "recurrence", "this occurrence is completed; change the rule on the open occurrence"
        )
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
    try:
        await session.flush()
    except StaleDataError:
        # Someone else committed a change between the caller's read and this write (the
        # version column guards the UPDATE); the caller's transaction is to be rolled back.
        raise VersionConflict(None) from None
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
                raise InvalidTaskInput(
                    "due_date", "the task has reminders relative to its due date; remove them first"
                )
            continue
        reminder.remind_at = task.due_date - timedelta(seconds=reminder.offset_seconds)
        moved = True
    return moved


def _replace_reminders(task: Task, reminders: Sequence[ReminderSpec]) -> None:
    # The pending ones are replaced by the new set; sent ones stay as history, as many as fit
    # under the per-task limit (otherwise every edit after a reminder fired would add rows).
    kept = reminder_rules.kept_when_replacing(task.reminders, len(reminders))
    task.reminders = kept + _build_reminders(reminders, task.due_date)


async def _change_recurrence(
    session: AsyncSession, task: Task, rule: RecurrenceRule | None
) -> None:
    if task.series_id is not None:
        # Not flushing the task's pending changes here: they are written once, below, so one
        # update bumps the version once.
        with session.no_autoflush:
            await session.execute(
                update(TaskRecurrence)
                .where(TaskRecurrence.id == task.series_id)
                .values(active=False)
            )
    if rule is None:
        task.recurrence = None
        return
    # A new rule starts a new series anchored on this task's due date.
    _start_series(task, rule)


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
            .where(Reminder.task_id == task_id, Reminder.pending())
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
        raise TaskNotFound()
    if claimed is not None:
        await session.refresh(task, ["reminders"])
        await record_task_event(session, EventType.TASK_COMPLETED, task, traceparent)
    return task


async def reopen_task(
    session: AsyncSession,
    owner_id: uuid.UUID,
    task_id: uuid.UUID,
    *,
    traceparent: str | None = None,
) -> Task:
    """Take back a one-off task's completion: open again, and the reminders that completing it
    cancelled pending again if they are still ahead. A task already open is returned unchanged.

    A recurring task's completion cannot be taken back: the recurring service has created (or
    is creating) its next occurrence from the ``task.completed`` event, and reopening this one
    would leave two open occurrences of one series.
    """
    task = await get_task(session, owner_id, task_id)
    if not task.completed:
        return task
    if task.series_id is not None:
        raise InvalidTaskInput(
            "completed",
            "a recurring task's completion cannot be undone: its next occurrence follows from it",
        )
    now = _now()
    restored = False
    for reminder in task.reminders:
        # complete_task cancels the pending reminders at its own completion time.
        if (
            reminder.sent_at is None
            and reminder.cancelled_at is not None
            and reminder.cancelled_at == task.completed_at
            and reminder.remind_at > now
        ):
            reminder.cancelled_at = None
            restored = True
    task.completed = False
    task.completed_at = None
    task.updated_at = now
    _refresh_reminder_sent(task)
    await session.flush()
    await record_task_event(session, EventType.TASK_UPDATED, task, traceparent)
    if restored:
        await record_reminders_scheduled(session, task, traceparent)
    return task


async def delete_task(session: AsyncSession, task: Task, *, traceparent: str | None = None) -> None:
    if task.series_id is not None and not task.completed:
        # Deleting the open occurrence of a series ends the series.
        await session.execute(
            update(TaskRecurrence).where(TaskRecurrence.id == task.series_id).values(active=False)
        )
    data = TaskDeletedData(id=task.id, owner_id=task.owner_id, series_id=task.series_id)
    if any(reminder_rules.is_pending(r) for r in task.reminders):
        await notify(session, REMINDERS_CHANNEL)
    await session.delete(task)
    note_task_change(session, "deleted")
    await _record_about(session, task, EventType.TASK_DELETED, data, SOURCE_API, traceparent)
