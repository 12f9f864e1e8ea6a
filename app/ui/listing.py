"""The task list page: its search/filter/sort inputs and the grouping of tasks by due date.

Groups are decided in the viewer's time zone: "Today" ends at their midnight, not UTC's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Final, cast
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from app.domain import reminders as reminder_rules
from app.domain.priority import PRIORITIES
from app.domain.recurrence import RecurrenceRule
from app.tasks.inputs import Priority
from app.tasks.queries import Direction, SortField, TaskFilter
from app.tasks.records import TaskOrRecord

STATUSES: Final = ("all", "open", "completed")
SORTS: Final[tuple[SortField, ...]] = ("due_date", "priority", "title")
ORDERS: Final[tuple[Direction, ...]] = ("asc", "desc")
GROUPS: Final = (
    ("overdue", "Overdue"),
    ("today", "Today"),
    ("upcoming", "Upcoming"),
    ("no-date", "No date"),
    ("completed", "Completed"),
)
MAX_QUERY: Final = 200
MAX_TAG: Final = 32


@dataclass(frozen=True)
class ListQuery:
    """The list page's inputs as typed, plus an error per input that was not understood."""

    q: str = ""
    status: str = "all"
    priority: str = ""
    tag: str = ""
    due_from: str = ""
    due_to: str = ""
    sort: SortField = "due_date"
    order: Direction = "asc"
    errors: Mapping[str, str] | None = None

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> ListQuery:
        errors: dict[str, str] = {}

        def text(name: str, limit: int) -> str:
            value = params.get(name, "").strip()
            if len(value) > limit:
                errors[name] = f"at most {limit} characters"
                return ""
            if any(ord(char) < 0x20 for char in value):
                errors[name] = "must not contain control characters"
                return ""
            return value

        def choice(name: str, allowed: tuple[str, ...], default: str) -> str:
            value = params.get(name, "") or default
            if value not in allowed:
                errors[name] = f"choose one of: {', '.join(a or 'any' for a in allowed)}"
                return default
            return value

        def day(name: str) -> str:
            value = params.get(name, "").strip()
            if value:
                try:
                    date.fromisoformat(value)
                except ValueError:
                    errors[name] = "enter a date, e.g. 2030-12-31"
                    return ""
            return value

        sort = choice("sort", SORTS, "due_date")
        order = choice("order", ORDERS, "asc")
        query = cls(
            q=text("q", MAX_QUERY),
            status=choice("status", STATUSES, "all"),
            priority=choice("priority", ("", *PRIORITIES), ""),
            tag=text("tag", MAX_TAG).lower(),
            due_from=day("due_from"),
            due_to=day("due_to"),
            # choice() returned a member of SORTS / ORDERS.
            sort=cast(SortField, sort),
            order=cast(Direction, order),
        )
        if query.due_from and query.due_to and query.due_to < query.due_from:
            errors["due_to"] = "must not be before the 'from' date"
        return cls(**{**query.__dict__, "errors": errors})

    def task_filter(self, zone: ZoneInfo) -> TaskFilter:
        """The query's filter; due dates are whole days in the viewer's zone."""
        errors = self.errors or {}
        due_after = due_before = None
        if self.due_from and "due_from" not in errors:
            due_after = _midnight(date.fromisoformat(self.due_from), zone)
        if self.due_to and "due_to" not in errors:
            due_before = _midnight(date.fromisoformat(self.due_to) + timedelta(days=1), zone)
        # parse() accepted only the PRIORITIES, which spell the Priority literal.
        priority = cast(Priority, self.priority) if self.priority else None
        return TaskFilter(
            completed={"all": None, "open": False, "completed": True}[self.status],
            priority=priority,
            due_before=due_before,
            due_after=due_after,
            tag=self.tag or None,
            text=self.q or None,
        )

    def query_string(self) -> str:
        """The query in URL form, defaults left out, for links that keep the current view."""
        values = {
            "q": self.q,
            "status": "" if self.status == "all" else self.status,
            "priority": self.priority,
            "tag": self.tag,
            "due_from": self.due_from,
            "due_to": self.due_to,
            "sort": "" if self.sort == "due_date" else self.sort,
            "order": "" if self.order == "asc" else self.order,
        }
        return urlencode({k: v for k, v in values.items() if v})


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), zone).astimezone(UTC)


@dataclass(frozen=True)
class TaskRow:
    """One task as the list shows it."""

    task: TaskOrRecord
    due_text: str | None
    due_iso: str | None
    due_in_task_zone: str | None  # shown too when the task's zone is not the viewer's
    recurrence_text: str | None
    pending_reminders: int
    next_reminder_text: str | None


@dataclass(frozen=True)
class Group:
    key: str
    label: str
    rows: list[TaskRow]


def show_time(moment: datetime, zone: ZoneInfo) -> str:
    """A due date as people read it: "Mon 3 Mar 2031, 09:00" in ``zone``."""
    local = moment.astimezone(zone)
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M}"


def task_row(task: TaskOrRecord, zone: ZoneInfo) -> TaskRow:
    pending = reminder_rules.pending(task.reminders)
    in_task_zone = None
    if task.due_date is not None and task.timezone != zone.key:
        in_task_zone = f"{show_time(task.due_date, ZoneInfo(task.timezone))} {task.timezone}"
    return TaskRow(
        task=task,
        due_text=show_time(task.due_date, zone) if task.due_date else None,
        due_iso=task.due_date.isoformat() if task.due_date else None,
        due_in_task_zone=in_task_zone,
        recurrence_text=(
            RecurrenceRule.parse(task.recurrence).describe() if task.recurrence else None
        ),
        pending_reminders=len(pending),
        next_reminder_text=show_time(pending[0].remind_at, zone) if pending else None,
    )


def group_of(task: TaskOrRecord, now: datetime, tomorrow: datetime) -> str:
    if task.completed:
        return "completed"
    if task.due_date is None:
        return "no-date"
    if task.due_date < now:
        return "overdue"
    if task.due_date < tomorrow:
        return "today"
    return "upcoming"


def grouped(tasks: Iterable[TaskOrRecord], zone: ZoneInfo, now: datetime) -> list[Group]:
    """Tasks in the list's groups, each group in the order the tasks came (the sort)."""
    local_today = now.astimezone(zone).date()
    tomorrow = _midnight(local_today + timedelta(days=1), zone)
    rows: dict[str, list[TaskRow]] = {key: [] for key, _ in GROUPS}
    for task in tasks:
        rows[group_of(task, now, tomorrow)].append(task_row(task, zone))
    return [Group(key, label, rows[key]) for key, label in GROUPS]
