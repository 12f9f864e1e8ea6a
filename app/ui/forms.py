"""The task form: what the browser posts, turned into the task service's inputs.

A form is validated by the task service's ``NewTask``/``TaskChanges`` and by its commands (the
same inputs the REST API's bodies are), so the UI accepts exactly what the API accepts and says
so in the same words; this module only converts between HTML inputs and the service's fields,
and maps each error back to the input at fault.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time
from functools import lru_cache
from typing import Any, Final, TypeVar
from zoneinfo import ZoneInfo, available_timezones

from pydantic import ValidationError
from starlette.datastructures import FormData

from app.core.db.models import Task
from app.domain import reminders as reminder_rules
from app.domain.recurrence import FIELDS as RULE_FIELDS
from app.domain.recurrence import RecurrenceError, RecurrenceRule, load_timezone
from app.domain.reminders import MAX_REMINDER_OFFSET
from app.tasks.errors import InvalidTaskInput
from app.tasks.inputs import NewTask, TaskChanges

WEEKDAYS: Final = (
    ("MO", "Monday"),
    ("TU", "Tuesday"),
    ("WE", "Wednesday"),
    ("TH", "Thursday"),
    ("FR", "Friday"),
    ("SA", "Saturday"),
    ("SU", "Sunday"),
)
# Largest first: an offset is shown in the largest unit that divides it evenly.
UNITS: Final = (("weeks", 604_800), ("days", 86_400), ("hours", 3_600), ("minutes", 60))
UNIT_SECONDS: Final = dict(UNITS)
ENDS: Final = ("never", "until", "count")
LOCAL_MINUTE: Final = "%Y-%m-%dT%H:%M"
# Empty reminder rows a form offers; the page script adds more on request.
BLANK_REMINDER_ROWS: Final = 2


def _named_alike(*fields: str) -> dict[str, str]:
    """Form inputs by the service field they edit: the form names its inputs after the fields,
    but for the due date's ("due")."""
    return {"due_date": "due"} | {field: field for field in fields}


# Where an API error lands: API field (first path segment) -> form input.
_FIELD_INPUT: Final = _named_alike(
    "title", "description", "priority", "tags", "timezone", "reminders"
)
# Recurrence errors name the rule's own field first ("interval: must be ...").
_RULE_INPUT: Final = _named_alike(*RULE_FIELDS, "timezone")
# How the error summary names each input, and the element its link jumps to.
INPUT_LABELS: Final = {
    "title": "Title",
    "description": "Description",
    "priority": "Priority",
    "tags": "Tags",
    "due": "Due date",
    "timezone": "Time zone",
    "freq": "Repeats",
    "interval": "Repeat every",
    "weekdays": "Days of the week",
    "month_day": "Day of the month",
    "ends": "Ends",
    "until": "Last day",
    "count": "Times in all",
    "anchor": "Count from completion",
    "reminders": "Reminders",
    "reminders_at": "Reminders at a fixed time",
}
_ANCHORS: Final = {"weekdays": "weekday-MO", "ends": "ends-never", "reminders": "reminder-rows"}
_PATH: Final = re.compile(r"^(?P<name>[a-z_]+)(?:\[(?P<index>[0-9]+)\])?")

FieldErrors = dict[str, str]


def field_text(form: FormData, name: str, default: str = "") -> str:
    """A posted text field; a file upload or a missing field counts as ``default``."""
    value = form.get(name, default)
    return value if isinstance(value, str) else default


class FormInvalid(Exception):
    """The form cannot be saved; ``errors`` maps each input at fault to its message."""

    def __init__(self, errors: FieldErrors) -> None:
        super().__init__("; ".join(f"{name}: {message}" for name, message in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class ReminderRow:
    amount: str = ""
    unit: str = "minutes"


@dataclass(frozen=True)
class TaskForm:
    """The raw values of the task form, exactly as typed (so an error page can show them)."""

    title: str = ""
    description: str = ""
    priority: str = "medium"
    tags: str = ""
    due: str = ""  # <input type="datetime-local">, wall time in ``timezone``
    timezone: str = "UTC"
    freq: str = "none"
    interval: str = "1"
    weekdays: tuple[str, ...] = ()
    month_day: str = ""
    ends: str = "never"
    until: str = ""  # <input type="date">, the last day in ``timezone``
    count: str = ""
    anchor: str = "schedule"
    reminders: tuple[ReminderRow, ...] = ()
    reminders_at: tuple[str, ...] = ()  # absolute reminders (ISO instants) kept as they are
    version: str = ""

    @classmethod
    def blank(cls, timezone: str) -> TaskForm:
        return cls(timezone=timezone).with_blank_reminders()

    @classmethod
    def parse(cls, form: FormData) -> TaskForm:
        def text(name: str, default: str = "") -> str:
            return field_text(form, name, default)

        amounts = [v for v in form.getlist("reminder_amount") if isinstance(v, str)]
        units = [v for v in form.getlist("reminder_unit") if isinstance(v, str)]
        units += ["minutes"] * (len(amounts) - len(units))
        return cls(
            title=text("title"),
            description=text("description").replace("\r\n", "\n"),
            priority=text("priority", "medium"),
            tags=text("tags"),
            due=text("due").strip(),
            timezone=text("timezone", "UTC").strip(),
            freq=text("freq", "none"),
            interval=text("interval", "1").strip(),
            weekdays=tuple(v for v in form.getlist("weekdays") if isinstance(v, str)),
            month_day=text("month_day").strip(),
            ends=text("ends", "never"),
            until=text("until").strip(),
            count=text("count").strip(),
            anchor="completion" if text("anchor") == "completion" else "schedule",
            reminders=tuple(
                ReminderRow(a.strip(), u) for a, u in zip(amounts, units, strict=False)
            ),
            reminders_at=tuple(v for v in form.getlist("reminder_at") if isinstance(v, str)),
            version=text("version"),
        )

    @classmethod
    def of_task(cls, task: Task) -> TaskForm:
        """The form showing ``task`` as it is, for editing."""
        zone = ZoneInfo(task.timezone)
        rule = RecurrenceRule.parse(task.recurrence) if task.recurrence else None
        pending = reminder_rules.pending(task.reminders)
        relative = sorted(r.offset_seconds for r in pending if r.offset_seconds is not None)
        absolute = sorted(r.remind_at for r in pending if r.offset_seconds is None)
        form = cls(
            title=task.title,
            description=task.description,
            priority=task.priority,
            tags=", ".join(task.tags),
            due=task.due_date.astimezone(zone).strftime(LOCAL_MINUTE) if task.due_date else "",
            timezone=task.timezone,
            reminders=tuple(_row(seconds) for seconds in relative),
            reminders_at=tuple(at.astimezone(UTC).isoformat() for at in absolute),
            version=str(task.version),
        )
        return form if rule is None else replace(form, **_rule_inputs(rule, zone))

    def with_version(self, version: int) -> TaskForm:
        return replace(self, version=str(version))

    def with_blank_reminders(self) -> TaskForm:
        """The same form with empty reminder rows to fill in."""
        return replace(self, reminders=(*self.reminders, *(ReminderRow(),) * BLANK_REMINDER_ROWS))

    def create_body(self) -> NewTask:
        """The create request this form describes; FormInvalid names each input at fault."""
        body, errors, rows = self._body(set(_GROUPS))
        return _with_input_errors(NewTask.model_validate, body, errors, rows)

    def update_body(self, current: TaskForm) -> TaskChanges:
        """The update request for what changed from ``current``: unchanged groups of inputs
        are left out, so saving an edited title does not restart a series or its reminders."""
        changed = {name for name in _GROUPS if self._group(name) != current._group(name)}
        body, errors, rows = self._body(changed)
        return _with_input_errors(TaskChanges.model_validate, body, errors, rows)

    def _group(self, name: str) -> tuple[Any, ...]:
        if name == "recurrence":
            if self.freq == "none":
                return ("none",)
            return tuple(self._rule_inputs().values())
        if name == "reminders":
            return (
                tuple(sorted(_row_key(row) for row in self.reminders if row.amount)),
                tuple(sorted(self.reminders_at)),
            )
        return tuple(getattr(self, attribute) for attribute in _GROUPS[name])

    def _rule_inputs(self) -> dict[str, Any]:
        # Only the inputs the chosen frequency uses: the others may hold hidden leftovers.
        inputs: dict[str, Any] = {
            "freq": self.freq,
            "interval": self.interval,
            "ends": self.ends,
            "anchor": self.anchor,
        }
        if self.freq == "weekly":
            inputs["weekdays"] = tuple(sorted(self.weekdays))
        if self.freq in ("monthly", "yearly"):
            inputs["month_day"] = self.month_day
        if self.ends == "until":
            inputs["until"] = self.until
        if self.ends == "count":
            inputs["count"] = self.count
        return inputs

    def _body(self, groups: set[str]) -> tuple[dict[str, Any], FieldErrors, list[int]]:
        """The request fields of ``groups``, errors found while converting inputs, and the
        form row of each reminder in the body (the API names reminders by position)."""
        body: dict[str, Any] = {}
        errors: FieldErrors = {}
        for name in ("title", "description", "priority"):
            if name in groups:
                body[name] = getattr(self, name)
        if "tags" in groups:
            body["tags"] = [tag.strip() for tag in self.tags.split(",") if tag.strip()]
        zone = _zone(self.timezone, errors)
        if "schedule" in groups:
            body["timezone"] = self.timezone
            body["due_date"] = _due(self.due, zone, errors)
        if "recurrence" in groups:
            body["recurrence"] = self._recurrence(zone, errors)
        rows: list[int] = []
        if "reminders" in groups:
            body["reminders"], rows = self._reminders(errors)
        return body, errors, rows

    def _recurrence(self, zone: ZoneInfo | None, errors: FieldErrors) -> dict[str, Any] | None:
        if self.freq == "none":
            return None
        inputs = self._rule_inputs()
        rule: dict[str, Any] = {
            "freq": self.freq,
            "interval": _number(self.interval),
            "anchor": self.anchor,
        }
        if "weekdays" in inputs:
            rule["weekdays"] = list(inputs["weekdays"])
        if inputs.get("month_day"):
            rule["month_day"] = _number(self.month_day)
        if self.ends not in ENDS:
            errors["ends"] = f"choose one of: {', '.join(ENDS)}"
        elif self.ends == "until":
            rule["until"] = _until(self.until, zone, errors)
        elif self.ends == "count":
            if not self.count:
                errors["count"] = "enter how many times the task repeats in all"
            rule["count"] = _number(self.count)
        return rule

    def reminder_rows(self) -> list[int]:
        """The form rows that become the body's reminders, in order (the API names
        reminders by position: reminders[1] is the second of these)."""
        return [
            position
            for position, row in enumerate(self.reminders)
            if _whole_number(row.amount) and row.unit in UNIT_SECONDS
        ]

    def _reminders(self, errors: FieldErrors) -> tuple[list[dict[str, Any]], list[int]]:
        for position, row in enumerate(self.reminders):
            if not row.amount:
                continue
            if row.unit not in UNIT_SECONDS:
                errors[f"reminder-{position}"] = "choose minutes, hours, days or weeks"
            elif not _whole_number(row.amount):
                errors[f"reminder-{position}"] = f"enter a whole number of {row.unit}"
            elif int(row.amount) * UNIT_SECONDS[row.unit] > MAX_REMINDER_OFFSET.total_seconds():
                errors[f"reminder-{position}"] = (
                    f"at most {MAX_REMINDER_OFFSET.days} days before the due date"
                )
        rows = self.reminder_rows()
        # The API's own duration format, so the API's range check words the error.
        reminders: list[dict[str, Any]] = [
            {"before": f"PT{int(self.reminders[p].amount) * UNIT_SECONDS[self.reminders[p].unit]}S"}
            for p in rows
        ]
        reminders.extend({"at": at} for at in self.reminders_at)
        return reminders, rows


_GROUPS: Final[dict[str, tuple[str, ...]]] = {
    "title": ("title",),
    "description": ("description",),
    "priority": ("priority",),
    "tags": ("tags",),
    "schedule": ("due", "timezone"),
    "recurrence": (),
    "reminders": (),
}


def error_links(errors: FieldErrors) -> list[tuple[str, str, str]]:
    """(element id, label, message) of each error, for the summary above the form."""
    links = []
    for name, message in errors.items():
        if name.startswith("reminder-") and _whole_number(name.removeprefix("reminder-")):
            position = int(name.removeprefix("reminder-"))
            links.append((f"reminder-amount-{position}", f"Reminder {position + 1}", message))
        else:
            links.append((_ANCHORS.get(name, name), INPUT_LABELS.get(name, name), message))
    return links


@lru_cache(maxsize=1)
def zone_names() -> tuple[str, ...]:
    """Every time zone the API accepts, for the form's suggestions."""
    names = []
    for name in sorted(available_timezones()):
        try:
            load_timezone(name)
        except RecurrenceError:
            continue
        names.append(name)
    return tuple(names)


def _row(seconds: int) -> ReminderRow:
    for unit, size in UNITS:
        if seconds and seconds % size == 0:
            return ReminderRow(str(seconds // size), unit)
    return ReminderRow(str(seconds // 60), "minutes")


def _row_key(row: ReminderRow) -> tuple[str, str]:
    seconds = UNIT_SECONDS.get(row.unit)
    if seconds is not None and _whole_number(row.amount):
        return (str(int(row.amount) * seconds), "")
    return (row.amount, row.unit)


def _rule_inputs(rule: RecurrenceRule, zone: ZoneInfo) -> dict[str, Any]:
    inputs: dict[str, Any] = {
        "freq": rule.freq,
        "interval": str(rule.interval),
        "weekdays": tuple(rule.to_dict()["weekdays"]),
        "month_day": "" if rule.month_day is None else str(rule.month_day),
        "anchor": rule.anchor,
        "ends": "never",
    }
    if rule.until is not None:
        inputs.update(ends="until", until=rule.until.astimezone(zone).date().isoformat())
    if rule.count is not None:
        inputs.update(ends="count", count=str(rule.count))
    return inputs


def _whole_number(text: str) -> bool:
    # ASCII only: str.isdigit() is also true of "²", which int() refuses (a 500 once).
    return text.isascii() and text.isdigit()


def _number(value: str) -> int | str:
    """An integer input as a number, or as typed so the API's check quotes it back."""
    return int(value) if re.fullmatch(r"-?[0-9]{1,9}", value) else value


def _zone(name: str, errors: FieldErrors) -> ZoneInfo | None:
    try:
        return load_timezone(name)
    except RecurrenceError as exc:
        errors["timezone"] = str(exc)
        return None


def _due(value: str, zone: ZoneInfo | None, errors: FieldErrors) -> str | None:
    if not value:
        return None
    try:
        wall = datetime.fromisoformat(value)
    except ValueError:
        errors["due"] = "enter a date and time, e.g. 2030-01-31 09:00"
        return None
    if wall.tzinfo is not None:
        errors["due"] = "enter a local date and time without a UTC offset"
        return None
    if zone is None:
        return None  # the time zone's own error says what to fix
    return wall.replace(tzinfo=zone).isoformat()


def _until(value: str, zone: ZoneInfo | None, errors: FieldErrors) -> str | None:
    if not value:
        errors["until"] = "enter the last day the task repeats"
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        errors["until"] = "enter a date, e.g. 2030-12-31"
        return None
    # The whole last day counts: the end of that day in the task's zone.
    return datetime.combine(day, time(23, 59, 59), zone or UTC).isoformat()


def input_of(field_path: str, message: str, rows: Sequence[int]) -> tuple[str, str]:
    """The form input an API error names, and the message to show there.

    ``field_path`` is the API's spelling ("due_date", "reminders[1].before", "recurrence");
    recurrence messages start with the rule's field ("interval: must be ...").
    """
    match = _PATH.match(field_path)
    name = match.group("name") if match else ""
    if name == "recurrence":
        head, _, rest = message.partition(": ")
        if head in _RULE_INPUT and rest:
            return _RULE_INPUT[head], rest
        # "a recurring task needs a due_date": the due date is what to fix.
        return ("due" if "due_date" in message else "freq"), message
    if name == "reminders" and match and match.group("index") is not None:
        index = int(match.group("index"))
        if index < len(rows):
            return f"reminder-{rows[index]}", message
        return "reminders_at", message
    return _FIELD_INPUT.get(name, "form"), message


def errors_of(problems: Iterable[Mapping[str, Any]], rows: Sequence[int]) -> FieldErrors:
    """Form errors from API-shaped ``{"field", "message"}`` entries; first one per input wins."""
    errors: FieldErrors = {}
    for problem in problems:
        name, message = input_of(str(problem["field"]), str(problem["message"]), rows)
        errors.setdefault(name, message)
    return errors


def input_errors(refused: InvalidTaskInput, rows: Sequence[int] = ()) -> FieldErrors:
    """Form errors from an input the task service refused."""
    return errors_of([{"field": refused.field, "message": refused.message}], rows)


def _validation_entries(exc: ValidationError) -> list[dict[str, str]]:
    entries = []
    for error in exc.errors():
        path = ""
        for part in error["loc"]:
            path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "string_too_short" and error.get("ctx", {}).get("min_length") == 1:
            message = "must not be empty"
        entries.append({"field": path, "message": message})
    return entries


_Model = TypeVar("_Model")


def _with_input_errors(
    validate: Callable[[dict[str, Any]], _Model],
    body: dict[str, Any],
    errors: FieldErrors,
    rows: list[int],
) -> _Model:
    """Validate ``body``; raise FormInvalid with the conversion errors and the API's errors."""
    try:
        model = validate(body)
    except ValidationError as exc:
        api_errors = errors_of(_validation_entries(exc), rows)
        # An input the conversion already faulted keeps that, more specific, message.
        raise FormInvalid({**api_errors, **errors}) from None
    if errors:
        raise FormInvalid(errors)
    return model
