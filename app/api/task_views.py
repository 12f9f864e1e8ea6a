"""A task as the API returns it, from the ORM row the task service hands back."""

from __future__ import annotations

from datetime import timedelta

from app.api.schemas import ReminderOut, TaskOut
from app.core.db.models import Task
from app.domain import reminders as reminder_rules
from app.domain.recurrence import RecurrenceRule
from app.tasks.snapshots import shared_fields


def task_out(task: Task) -> TaskOut:
    return TaskOut(
        **shared_fields(task),
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
            # Freshly added reminders sit in input order until the row is reloaded.
            for r in reminder_rules.by_time(task.reminders)
        ],
        reminder_sent=task.reminder_sent,
        created_at=task.created_at,
        updated_at=task.updated_at,
    )
