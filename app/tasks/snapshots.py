"""One task rendered for API responses and for events, from the same ORM row."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from app.api.schemas import ReminderOut, TaskOut
from app.core.db.models import Reminder, Task
from app.core.events.contract import ReminderData, TaskData
from app.domain.recurrence import RecurrenceRule

_SHARED_FIELDS = (
    "id",
    "title",
    "description",
    "priority",
    "completed",
    "completed_at",
    "due_date",
    "timezone",
    "recurrence",
    "series_id",
    "occurrence_index",
    "version",
)


def _by_time(reminders: list[Reminder]) -> list[Reminder]:
    # Freshly added reminders sit in input order until the row is reloaded; sort for output.
    return sorted(reminders, key=lambda r: (r.remind_at, str(r.id)))


def pending_reminders(task: Task) -> list[Reminder]:
    """The reminders still to fire, in time order."""
    return [r for r in _by_time(task.reminders) if r.sent_at is None and r.cancelled_at is None]


def reminder_data(reminder: Reminder) -> ReminderData:
    return ReminderData(
        id=reminder.id, remind_at=reminder.remind_at, offset_seconds=reminder.offset_seconds
    )


def _shared(task: Task) -> dict[str, Any]:
    """The columns events and API responses both carry, as they are on the row."""
    return {name: getattr(task, name) for name in _SHARED_FIELDS} | {"tags": list(task.tags)}


def task_data(task: Task) -> TaskData:
    return TaskData(
        **_shared(task),
        owner_id=task.owner_id,
        reminders=[reminder_data(r) for r in pending_reminders(task)],
    )


def task_out(task: Task) -> TaskOut:
    return TaskOut(
        **_shared(task),
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
        created_at=task.created_at,
        updated_at=task.updated_at,
    )
