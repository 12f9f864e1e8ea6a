"""A task as read for display: its row's columns and its reminders, without an ORM identity.

Lists read many tasks and change none, so they skip the ORM's per-row bookkeeping (identity
map, instance state, the reminders' selectin loader): on ``GET /tasks`` that bookkeeping cost
about 26 us per task against 5 us for the plain row (PostgreSQL, measured with
``time.process_time`` over 400 pages). Changes still go through the ORM :class:`Task`; code that
only reads accepts either, as :data:`TaskOrRecord`.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db.models import Reminder, Task


@dataclass(frozen=True, slots=True)
class ReminderRecord:
    id: uuid.UUID
    offset_seconds: int | None
    remind_at: datetime
    sent_at: datetime | None
    cancelled_at: datetime | None


@dataclass(frozen=True)
class TaskShown:
    """The columns of ``tasks`` a task shows its owner, under the model's names: the fields of a
    list's :class:`TaskRecord` and of the API's ``TaskOut``, declared here once.

    Not slotted: the API's pydantic model inherits these fields, and a slotted base would clash
    with pydantic's own instance layout. A column the owner must not see (``owner_id``) belongs
    in :class:`TaskRecord`, not here.
    """

    id: uuid.UUID
    title: str
    description: str
    priority: str
    tags: list[str]
    completed: bool
    completed_at: datetime | None
    due_date: datetime | None
    timezone: str
    recurrence: dict[str, Any] | None
    reminder_sent: bool
    series_id: uuid.UUID | None
    occurrence_index: int | None
    created_at: datetime
    updated_at: datetime
    version: int


@dataclass(frozen=True, slots=True)
class TaskRecord(TaskShown):
    """The columns of ``tasks`` under the model's names, and the task's reminders by time."""

    owner_id: uuid.UUID
    reminders: tuple[ReminderRecord, ...]


TaskOrRecord = Task | TaskRecord
"""A task to read from: the ORM row of a change, or the record of a list."""
ReminderOrRecord = Reminder | ReminderRecord


def reminders_of(task: TaskOrRecord) -> Sequence[ReminderOrRecord]:
    """The task's reminders under one type (the rules in ``app.domain.reminders`` take either)."""
    return task.reminders


_TASK_COLUMNS = tuple(
    Task.__table__.c[name] for name in TaskRecord.__dataclass_fields__ if name != "reminders"
)
_REMINDER_COLUMNS = tuple(
    Reminder.__table__.c[name] for name in ("task_id", *ReminderRecord.__dataclass_fields__)
)


def task_columns() -> tuple[Any, ...]:
    """What a list selects instead of the entity: every column a :class:`TaskRecord` holds."""
    return _TASK_COLUMNS


async def task_records(
    session: AsyncSession, rows: Sequence[Row[Any]], page: Select[Any]
) -> list[TaskRecord]:
    """Records of ``rows`` (selected by ``page`` with :func:`task_columns`) with their reminders.

    The reminders come in one more statement that selects the page's ids again inside the
    database: binding fifty ids as parameters cost more Python time than the rows themselves.
    """
    if not rows:
        return []
    reminders = Reminder.__table__.c
    page_ids = page.with_only_columns(Task.__table__.c.id).scalar_subquery()
    by_task: defaultdict[uuid.UUID, list[ReminderRecord]] = defaultdict(list)
    for task_id, *fields in await session.execute(
        select(*_REMINDER_COLUMNS)
        .where(reminders.task_id.in_(page_ids))
        .order_by(reminders.remind_at, reminders.id)
    ):
        by_task[task_id].append(ReminderRecord(*fields))
    # Positional: the row's columns are the record's fields in order (see _TASK_COLUMNS).
    record: Callable[..., TaskRecord] = TaskRecord
    return [record(*row, tuple(by_task.get(row.id, ()))) for row in rows]
