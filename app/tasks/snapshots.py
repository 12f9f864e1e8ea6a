"""One task rendered for API responses and for events, from the same ORM row."""

from __future__ import annotations

from datetime import timedelta

from app.api.schemas import ReminderOut, TaskOut
from app.db.models import Reminder, Task
from app.domain.recurrence import RecurrenceRule
from app.events.contract import ReminderData, TaskData


def _active(reminders: list[Reminder]) -> list[Reminder]:
    return [r for r in _by_time(reminders) if r.cancelled_at is None]


def _by_time(reminders: list[Reminder]) -> list[Reminder]:
    # Freshly added reminders sit in input order until the row is reloaded; sort for output.
    return sorted(reminders, key=lambda r: (r.remind_at, str(r.id)))


def task_data(task: Task) -> TaskData:
    return TaskData(
        id=task.id,
        owner_id=task.owner_id,
        title=task.title,
        description=task.description,
        priority=task.priority,
        tags=list(task.tags),
        completed=task.completed,
        completed_at=task.completed_at,
        due_date=task.due_date,
        timezone=task.timezone,
        recurrence=task.recurrence,
        series_id=task.series_id,
        occurrence_index=task.occurrence_index,
        reminders=[
            ReminderData(id=r.id, remind_at=r.remind_at, offset_seconds=r.offset_seconds)
            for r in _active(task.reminders)
            if r.sent_at is None
        ],
        version=task.version,
    )


def task_out(task: Task) -> TaskOut:
    return TaskOut(
        id=task.id,
        title=task.title,
        description=task.description,
        priority=task.priority,
        tags=list(task.tags),
        completed=task.completed,
        completed_at=task.completed_at,
        due_date=task.due_date,
        timezone=task.timezone,
        recurrence=task.recurrence,
        recurrence_text=(
            RecurrenceRule.parse(task.recurrence).describe() if task.recurrence else None
        ),
        reminders=[
            ReminderOut(
                id=r.id,
                remind_at=r.remind_at,
                before=None if r.offset_seconds is None else timedelta(seconds=r.offset_seconds),
                sent_at=r.sent_at,
                cancelled_at=r.cancelled_at,
            )
            for r in _by_time(task.reminders)
        ],
        reminder_sent=task.reminder_sent,
        series_id=task.series_id,
        occurrence_index=task.occurrence_index,
        created_at=task.created_at,
        updated_at=task.updated_at,
        version=task.version,
    )
