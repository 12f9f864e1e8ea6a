"""A task's history page: the audit log (``app.tasks.history``) as a readable table.

Each entry lists what changed against the entry before it, in words; the audit service writes
the log from ``task-events``, so the newest change can take a moment to appear.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request, Response

from app.api.deps import DbSession
from app.core.db.models import Task
from app.core.events.contract import EventType
from app.domain.recurrence import RecurrenceError, RecurrenceRule
from app.tasks.errors import TaskNotFound
from app.tasks.history import task_history as read_history
from app.ui.listing import show_time
from app.ui.render import page
from app.ui.session import SignedIn, owner_of

router = APIRouter(prefix="/ui", include_in_schema=False)

PAGE_SIZE: Final = 50
# By the event contract's types (string enums: an audit row's type string finds its entry).
EVENT_NAMES: Final[dict[str, str]] = {
    EventType.TASK_CREATED: "Created",
    EventType.TASK_UPDATED: "Updated",
    EventType.TASK_COMPLETED: "Completed",
    EventType.TASK_DELETED: "Deleted",
    EventType.REMINDER_SCHEDULED: "Reminders scheduled",
}


@dataclass(frozen=True)
class Entry:
    what: str
    when: str
    when_iso: str
    version: int | None
    changes: list[str]


def _due(value: Any, zone: ZoneInfo) -> str:
    if not value:
        return "no due date"
    return show_time(datetime.fromisoformat(str(value)), zone)


def _rule(value: Any) -> str:
    if not value:
        return "does not repeat"
    try:
        return RecurrenceRule.parse(value).describe()
    except RecurrenceError:
        return "an unreadable rule"


def changes(before: dict[str, Any] | None, after: dict[str, Any], zone: ZoneInfo) -> list[str]:
    """What differs between two snapshots of a task, in words."""
    if before is None:
        before = {}
    said: list[str] = []
    shown: dict[str, Callable[[Any], str]] = {
        "title": lambda v: f"“{v}”",
        "priority": str,
        "tags": lambda v: ", ".join(v) if v else "no tags",
        "due_date": lambda v: _due(v, zone),
        "timezone": str,
        "recurrence": _rule,
        "description": lambda v: "changed" if v else "removed",
    }
    for key, describe in shown.items():
        if key in after and before.get(key) != after.get(key):
            if key == "description" and not before and not after.get(key):
                continue
            said.append(f"{key.replace('_', ' ')}: {describe(after[key])}")
    reminders = after.get("reminders")
    if isinstance(reminders, list) and reminders != before.get("reminders"):
        count = len(reminders)
        said.append(f"{count} pending reminder{'s' if count != 1 else ''}")
    return said


@router.get("/tasks/{task_id}/history")
async def task_history(
    request: Request,
    task_id: uuid.UUID,
    person: SignedIn,
    db: DbSession,
    after: uuid.UUID | None = None,
) -> Response:
    try:
        found = await read_history(db, owner_of(person), task_id, limit=PAGE_SIZE, after=after)
    except TaskNotFound:
        return page(request, person, "missing.html", status=404)
    zone = ZoneInfo(person.timezone)
    entries: list[Entry] = []
    previous: dict[str, Any] | None = None
    for item in found.entries:
        snapshot = item.data if item.event_type.startswith("task.") else None
        entries.append(
            Entry(
                what=EVENT_NAMES.get(item.event_type, item.event_type),
                when=show_time(item.event_time, zone),
                when_iso=item.event_time.isoformat(),
                version=item.task_version,
                changes=changes(previous, snapshot, zone) if snapshot is not None else [],
            )
        )
        if snapshot is not None and item.event_type != EventType.TASK_DELETED:
            previous = snapshot
    title = next(
        (item.data["title"] for item in reversed(found.entries) if "title" in item.data), None
    )
    task = await db.get(Task, task_id)
    context = {
        "task_id": task_id,
        "title": title or (task.title if task else "task"),
        "entries": entries,
        "next_after": found.next_after,
        "exists": task is not None,
    }
    return page(request, person, "history.html", context)
