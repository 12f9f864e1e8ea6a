"""The task service's inputs: a new task, the changes to one, a reminder.

Pydantic models of the service's own (both adapters build them: the API from the JSON body,
the web UI from its form), which forbid unknown fields and reject, with the field named,
anything the database or the recurrence engine could not hold: control characters,
out-of-range dates, oversize values. Rules needing the stored task (a relative reminder without
a due date, a series on a completed occurrence) are checked by the commands.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    WithJsonSchema,
    model_validator,
)

from app.domain.priority import Priority
from app.domain.recurrence import RecurrenceError, RecurrenceRule, load_timezone
from app.domain.reminders import MAX_REMINDER_OFFSET, MAX_REMINDERS

# A task's id as the chat's agent tools and the MCP tools take it.
TaskId = Annotated[uuid.UUID, Field(description="the task's id, as list_tasks returns it")]

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_TAG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")


def _no_control_chars(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters")
    return value


def _single_line(value: str) -> str:
    value = _no_control_chars(value).strip()
    if "\n" in value or "\r" in value or "\t" in value:
        raise ValueError("must be a single line")
    if not value:
        raise ValueError("must not be blank")
    return value


def _in_range(value: datetime) -> datetime:
    if not EARLIEST <= value < LATEST:
        raise ValueError(f"must be between {EARLIEST.year} and {LATEST.year - 1}")
    return value.astimezone(UTC)


def _timezone(value: str) -> str:
    try:
        load_timezone(value)
    except RecurrenceError as exc:
        raise ValueError(str(exc)) from None
    return value


def _tags(values: list[str]) -> list[str]:
    normalized: list[str] = []
    for value in values:
        tag = value.strip().lower()
        if not _TAG.match(tag):
            raise ValueError(
                f"tag {value[:40]!r} must be 1-32 letters, digits, '-' or '_', starting with a"
                " letter or digit"
            )
        if tag not in normalized:
            normalized.append(tag)
    return normalized


# The patterns only document the rules (the validators enforce them, with their own messages):
# clients, and the schemathesis fuzzing, then make requests the API can accept.
Title = Annotated[
    str,
    Field(
        min_length=1,
        max_length=200,
        json_schema_extra={"pattern": r"^[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*$"},
    ),
    AfterValidator(_single_line),
]
Description = Annotated[
    str,
    Field(
        max_length=10_000, json_schema_extra={"pattern": r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"}
    ),
    AfterValidator(_no_control_chars),
]
Tag = Annotated[
    str, Field(json_schema_extra={"pattern": r"^\s*[A-Za-z0-9][A-Za-z0-9_-]{0,31}\s*$"})
]
Tags = Annotated[list[Tag], Field(max_length=20), AfterValidator(_tags)]
Instant = Annotated[AwareDatetime, AfterValidator(_in_range)]
TimeZone = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_timezone)]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


Weekday = Annotated[int, Field(ge=0, le=6)] | Literal["MO", "TU", "WE", "TH", "FR", "SA", "SU"]


class RecurrenceIn(_Input):
    """A recurrence rule (documentation of the accepted JSON; the engine validates it)."""

    freq: Literal["daily", "weekly", "monthly", "yearly"]
    interval: int = Field(1, ge=1, le=1000)
    weekdays: list[Weekday] | None = Field(
        None, max_length=7, description="weekly rules: 0 = Monday ... 6 = Sunday, or MO..SU"
    )
    month_day: int | None = Field(None, ge=1, le=31, description="monthly/yearly rules")
    until: AwareDatetime | None = Field(None, description="last possible occurrence")
    count: int | None = Field(
        None, ge=1, le=100_000, description="occurrences in all; not with until"
    )
    anchor: Literal["schedule", "completion"] = Field(
        "schedule", description="completion: the next one is due `interval` after completion"
    )


def _parse_recurrence(value: object) -> RecurrenceRule:
    """The engine validates and names the sub-field at fault (one error, not one per shape)."""
    if isinstance(value, RecurrenceRule):
        return value
    try:
        return RecurrenceRule.parse(value)
    except RecurrenceError as exc:
        raise ValueError(f"{exc.field.removeprefix('recurrence.')}: {exc}") from None


Recurrence = Annotated[
    RecurrenceRule,
    PlainValidator(_parse_recurrence),
    PlainSerializer(lambda rule: rule.to_dict(), return_type=dict),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "enum": ["daily", "weekly", "monthly", "yearly"]},
                RecurrenceIn.model_json_schema(),
            ],
            "description": 'A shorthand ("daily", "weekly", "monthly", "yearly") or a rule.',
        }
    ),
]


class ReminderSpec(_Input):
    """Either ``before`` the due date (ISO 8601 duration, e.g. "PT1H") or an absolute ``at``."""

    before: timedelta | None = Field(None, description="ISO 8601 duration before the due date")
    at: Instant | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> ReminderSpec:
        if (self.before is None) == (self.at is None):
            raise ValueError("give exactly one of 'before' and 'at'")
        if self.before is not None and not timedelta(0) <= self.before <= MAX_REMINDER_OFFSET:
            raise ValueError("'before' must be a duration from PT0S to P365D")
        return self


class NewTask(_Input):
    """A task to create."""

    title: Title
    description: Description = ""
    priority: Priority = "medium"
    tags: Tags = Field(default_factory=list)
    due_date: Instant | None = None
    timezone: TimeZone = "UTC"
    recurrence: Recurrence | None = None
    reminders: list[ReminderSpec] = Field(default_factory=list, max_length=MAX_REMINDERS)


class TaskChanges(_Input):
    """Only the fields present change; ``null`` clears an optional field."""

    title: Title | None = None
    description: Description | None = None
    priority: Priority | None = None
    tags: Tags | None = None
    due_date: Instant | None = None
    timezone: TimeZone | None = None
    recurrence: Recurrence | None = None
    reminders: list[ReminderSpec] | None = Field(None, max_length=MAX_REMINDERS)
