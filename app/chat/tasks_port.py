"""The chat's one door into the task service: every read and change the assistant makes.

Changes go through `app.tasks.commands`, the task service the REST API calls, with bodies checked
by the service's own input models: the same validation, the same outbox events, the same
per-owner isolation. This is the only chat module that knows the task service's modules, so
moving to another shape of that service changes this file alone.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any, Final, Protocol

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.chat.intents import Priority, Query
from app.core.db.models import ChatUndo, Task
from app.core.observability.tracing import current_traceparent
from app.domain import reminders as reminder_rules
from app.domain.recurrence import RecurrenceRule
from app.tasks import commands
from app.tasks.errors import InvalidTaskInput, TaskError
from app.tasks.inputs import NewTask, TaskChanges
from app.tasks.queries import TaskFilter, list_tasks
from app.tasks.records import ReminderOrRecord, TaskOrRecord

MATCH_LIMIT: Final = 6
LIST_LIMIT: Final = 20
COMPLETED_SCAN: Final = 500


class Refused(Exception):
    """The task service refused a change; str() says why, naming the field."""


@dataclass(frozen=True, slots=True)
class PendingReminder:
    at: datetime
    before: timedelta | None  # None for a reminder at a fixed instant


def _rule(recurrence: dict[str, Any] | None) -> RecurrenceRule | None:
    return RecurrenceRule.parse(recurrence) if recurrence else None


def _pending(reminders: Sequence[ReminderOrRecord]) -> tuple[PendingReminder, ...]:
    return tuple(
        PendingReminder(
            at=r.remind_at,
            before=None if r.offset_seconds is None else timedelta(seconds=r.offset_seconds),
        )
        for r in reminder_rules.pending(reminders)
    )


class TaskView(BaseModel):
    """A task as the chat reads it (aware datetimes in UTC): `model_validate` reads it from the
    task's row or record, each field from the attribute of its name or alias."""

    model_config = ConfigDict(frozen=True, from_attributes=True)

    id: uuid.UUID
    title: str
    description: str
    due: datetime | None = Field(validation_alias="due_date")
    timezone: str
    rule: Annotated[RecurrenceRule | None, BeforeValidator(_rule)] = Field(
        validation_alias="recurrence"
    )
    tags: tuple[str, ...]
    priority: Priority  # the column's check allows only these; checked here again
    completed: bool
    completed_at: datetime | None
    version: int
    reminders: Annotated[tuple[PendingReminder, ...], BeforeValidator(_pending)]

    def body(self, *keys: str) -> dict[str, Any]:
        """The task's values as API request JSON, limited to `keys` (all when none given)."""
        values: dict[str, Any] = {
            "title": self.title,
            "description": self.description,
            "priority": self.priority,
            "tags": list(self.tags),
            "due_date": None if self.due is None else self.due.isoformat(),
            "timezone": self.timezone,
            "recurrence": None if self.rule is None else self.rule.to_dict(),
            "reminders": [reminder_json(r) for r in self.reminders],
        }
        return {key: values[key] for key in keys} if keys else values

    def summary(self) -> dict[str, Any]:
        """The task as the chat shows it (POST /chat's `tasks`, the AI agent's tool results)."""
        return {
            "id": str(self.id),
            "title": self.title,
            "due_date": None if self.due is None else self.due.isoformat(),
            "timezone": self.timezone,
            "recurrence": None if self.rule is None else self.rule.to_dict(),
            "recurrence_text": None if self.rule is None else self.rule.describe(),
            "tags": list(self.tags),
            "priority": self.priority,
            "completed": self.completed,
            "version": self.version,
        }


def reminder_json(reminder: PendingReminder) -> dict[str, str]:
    """A pending reminder as the API's request JSON: relative ones stay relative."""
    if reminder.before is None:
        return {"at": reminder.at.isoformat()}
    return {"before": f"PT{int(reminder.before.total_seconds())}S"}


def _view(task: TaskOrRecord) -> TaskView:
    return TaskView.model_validate(task)


@contextmanager
def _refusals() -> Iterator[None]:
    """The task service's refusal, or its input model's, raised as `Refused` naming the field."""
    try:
        yield
    except InvalidTaskInput as error:
        raise Refused(f"{error.field}: {error.message}") from None
    except TaskError as error:
        raise Refused(str(error)) from None
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        raise Refused(f"{field}: {first['msg']}") from None


async def create(session: AsyncSession, owner: uuid.UUID, body: dict[str, Any]) -> TaskView:
    with _refusals():
        task = await commands.create_task(
            session, owner, NewTask.model_validate(body), traceparent=current_traceparent()
        )
    return _view(task)


async def get(session: AsyncSession, owner: uuid.UUID, task_id: uuid.UUID) -> TaskView | None:
    task = await _row(session, owner, task_id)
    return None if task is None else _view(task)


async def _row(session: AsyncSession, owner: uuid.UUID, task_id: uuid.UUID) -> Task | None:
    return await session.scalar(
        select(Task)
        .where(Task.id == task_id, Task.owner_id == owner)
        .execution_options(populate_existing=True)
    )


async def _existing(session: AsyncSession, owner: uuid.UUID, task_id: uuid.UUID) -> Task:
    task = await _row(session, owner, task_id)
    if task is None:
        raise Refused("that task no longer exists")
    return task


async def update(
    session: AsyncSession, owner: uuid.UUID, task_id: uuid.UUID, body: dict[str, Any]
) -> TaskView:
    task = await _existing(session, owner, task_id)
    with _refusals():
        changed = await commands.update_task(
            session, task, TaskChanges.model_validate(body), traceparent=current_traceparent()
        )
    return _view(changed)


class _TaskCommand(Protocol):
    """A command of the task service on one task of an owner (complete, reopen)."""

    def __call__(
        self,
        session: AsyncSession,
        owner_id: uuid.UUID,
        task_id: uuid.UUID,
        *,
        traceparent: str | None = None,
    ) -> Awaitable[Task]: ...


async def _on_task(
    command: _TaskCommand, session: AsyncSession, owner: uuid.UUID, task_id: uuid.UUID
) -> TaskView:
    with _refusals():
        task = await command(session, owner, task_id, traceparent=current_traceparent())
    return _view(task)


async def complete(session: AsyncSession, owner: uuid.UUID, task_id: uuid.UUID) -> TaskView:
    return await _on_task(commands.complete_task, session, owner, task_id)


async def reopen(session: AsyncSession, owner: uuid.UUID, task_id: uuid.UUID) -> TaskView:
    return await _on_task(commands.reopen_task, session, owner, task_id)


async def remove(session: AsyncSession, owner: uuid.UUID, task_id: uuid.UUID) -> TaskView:
    """Delete the task; its last state is returned (for the answer and for undo)."""
    task = await _existing(session, owner, task_id)
    view = _view(task)
    await commands.delete_task(session, task, traceparent=current_traceparent())
    return view


async def matching(
    session: AsyncSession, owner: uuid.UUID, target: str, *, completed: bool | None
) -> list[TaskView]:
    """The caller's tasks whose title contains `target` (any case); an exact title first."""
    needle = target.lower()
    title = func.lower(Task.title)
    query = select(Task).where(Task.owner_id == owner, title.contains(needle, autoescape=True))
    if completed is not None:
        query = query.where(Task.completed.is_(completed))
    query = query.order_by(
        (title == needle).desc(), Task.due_date.asc().nulls_last(), Task.title, Task.id
    )
    rows = await session.scalars(query.limit(MATCH_LIMIT))
    return [_view(task) for task in rows]


async def search(session: AsyncSession, owner: uuid.UUID, query: Query) -> list[TaskView]:
    """The caller's tasks that answer `query`, at most LIST_LIMIT of them."""
    if query.kind == "completed":
        return await _completed(session, owner, query)
    task_filter = TaskFilter(
        completed=False,
        overdue=True if query.kind == "overdue" else None,
        due_after=query.start,
        due_before=query.end,
        tag=query.tag,
    )
    return await filtered(session, owner, task_filter, LIST_LIMIT)


async def filtered(
    session: AsyncSession, owner: uuid.UUID, task_filter: TaskFilter, limit: int
) -> list[TaskView]:
    """The caller's tasks that pass `task_filter`, soonest due first (the AI agent's search)."""
    rows, _ = await list_tasks(
        session, owner, task_filter, sort="due_date", direction="asc", limit=limit, cursor=None
    )
    return [_view(task) for task in rows]


async def _completed(session: AsyncSession, owner: uuid.UUID, query: Query) -> list[TaskView]:
    """Completed in the query's window, newest first. The list API filters by due date, not
    by completion; the tag is checked here, on a bounded number of the newest rows."""
    select_done = select(Task).where(Task.owner_id == owner, Task.completed.is_(True))
    if query.start is not None:
        select_done = select_done.where(Task.completed_at >= query.start)
    if query.end is not None:
        select_done = select_done.where(Task.completed_at < query.end)
    newest = select_done.order_by(Task.completed_at.desc(), Task.id).limit(COMPLETED_SCAN)
    rows = [task for task in await session.scalars(newest) if query.tag in (None, *task.tags)]
    return [_view(task) for task in rows[:LIST_LIMIT]]


async def last_undo(session: AsyncSession, owner: uuid.UUID) -> dict[str, Any] | None:
    """The way back from the user's last chat change, taken (it can be used once)."""
    row = await session.get(ChatUndo, owner, populate_existing=True)
    if row is None:
        return None
    action = dict(row.action)
    await session.execute(delete(ChatUndo).where(ChatUndo.owner_id == owner))
    return action


async def remember_undo(
    session: AsyncSession, owner: uuid.UUID, action: dict[str, Any] | None, now: datetime
) -> None:
    """Replace the user's way back with `action` (None: nothing to undo any more)."""
    await session.execute(delete(ChatUndo).where(ChatUndo.owner_id == owner))
    if action is not None:
        session.add(ChatUndo(owner_id=owner, action=action, created_at=now))
        await session.flush()
