"""One task as its events carry it (and the columns the API's responses share with them)."""

from __future__ import annotations

from typing import Any

from app.core.db.models import Reminder, Task
from app.core.events.contract import ReminderData, TaskData
from app.domain import reminders as reminder_rules
from app.tasks.records import TaskOrRecord

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


def reminder_data(reminder: Reminder) -> ReminderData:
    return ReminderData(
        id=reminder.id, remind_at=reminder.remind_at, offset_seconds=reminder.offset_seconds
    )


def shared_fields(task: TaskOrRecord) -> dict[str, Any]:
    """The columns events and API responses both carry, as they are on the row."""
    return {name: getattr(task, name) for name in _SHARED_FIELDS} | {"tags": list(task.tags)}


def task_data(task: Task) -> TaskData:
    return TaskData(
        **shared_fields(task),
        owner_id=task.owner_id,
        reminders=[reminder_data(r) for r in reminder_rules.pending(task.reminders)],
    )
