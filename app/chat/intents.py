"""What a chat message asks for, as plain data: the parser's output and the executor's input.

Every intent is exact: due dates are aware datetimes in the user's zone, rules are the
recurrence engine's own `RecurrenceRule`, reminders are offsets before the due date. Anything
the parser cannot pin down becomes a `Clarify` with a question, never a guess.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal

from app.domain.priority import Priority
from app.domain.recurrence import RecurrenceRule

QueryKind = Literal["due", "overdue", "completed", "open"]


@dataclass(frozen=True, slots=True)
class TaskDraft:
    """A task to create; `reminders` are offsets before `due`."""

    title: str
    due: datetime | None = None
    rule: RecurrenceRule | None = None
    tags: tuple[str, ...] = ()
    priority: Priority | None = None
    reminders: tuple[timedelta, ...] = ()


@dataclass(frozen=True, slots=True)
class Create:
    task: TaskDraft


@dataclass(frozen=True, slots=True)
class Query:
    """Tasks of `kind`; `start`/`end` bound the due date (completion date for "completed"),
    end exclusive, both in the user's zone."""

    kind: QueryKind
    start: datetime | None = None
    end: datetime | None = None
    tag: str | None = None
    period: str | None = None  # the period as the user said it, for the answer


@dataclass(frozen=True, slots=True)
class Change:
    """New values for the task whose title best matches `target`; None keeps a value.

    A new time without a date keeps the task's own date (in its zone), which only the
    executor knows; `day` without `at` keeps the task's time of day.
    """

    target: str
    day: date | None = None
    at: time | None = None
    priority: Priority | None = None
    title: str | None = None


@dataclass(frozen=True, slots=True)
class Complete:
    target: str


@dataclass(frozen=True, slots=True)
class Delete:
    target: str


@dataclass(frozen=True, slots=True)
class Snooze:
    """Remind again `by` from now (the task's pending reminders due before then give way)."""

    target: str
    by: timedelta


@dataclass(frozen=True, slots=True)
class Undo:
    pass


@dataclass(frozen=True, slots=True)
class Clarify:
    question: str


Intent = Create | Query | Change | Complete | Delete | Snooze | Undo | Clarify
