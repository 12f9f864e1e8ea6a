"""The task form <-> API request conversion, without a server: values, errors, edits."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from starlette.datastructures import FormData, UploadFile

from app.core.db.models import Reminder, Task
from app.domain.recurrence import RecurrenceRule
from app.tasks.errors import InvalidTaskInput
from app.ui.forms import (
    FormInvalid,
    ReminderRow,
    TaskForm,
    error_links,
    input_errors,
    zone_names,
)

WEEKLY: dict[str, str | list[str]] = {
    "title": "Water the plants",
    "description": "the big ones\r\nand the small",
    "priority": "high",
    "tags": "Home, garden, home",
    "due": "2031-03-03T09:00",
    "timezone": "Europe/Berlin",
    "freq": "weekly",
    "interval": "2",
    "weekdays": ["TH", "MO"],
    "month_day": "15",  # left over from "monthly": ignored for a weekly rule
    "ends": "count",
    "count": "10",
    "until": "2031-01-01",  # left over from "ends on a date": ignored
    "reminder_amount": ["30", "", "1"],
    "reminder_unit": ["minutes", "hours", "days"],
    "version": "",
}


def posted(values: dict[str, str | list[str]]) -> TaskForm:
    items: list[tuple[str, str | UploadFile]] = []
    for name, value in values.items():
        for one in value if isinstance(value, list) else [value]:
            items.append((name, one))
    return TaskForm.parse(FormData(items))


def test_a_weekly_form_becomes_the_api_request() -> None:
    body = posted(WEEKLY).create_body()
    assert body.title == "Water the plants"
    assert body.description == "the big ones\nand the small"
    assert body.priority == "high"
    assert body.tags == ["home", "garden"]
    # 09:00 in Berlin in March (CET, UTC+1) is 08:00 UTC.
    assert body.due_date == datetime(2031, 3, 3, 8, 0, tzinfo=UTC)
    assert body.timezone == "Europe/Berlin"
    # Weekdays sorted, the left-over month day and end date dropped, every other field default.
    assert body.recurrence == RecurrenceRule(freq="weekly", interval=2, weekdays=(0, 3), count=10)
    assert [r.before for r in body.reminders] == [timedelta(minutes=30), timedelta(days=1)]


def test_until_is_the_end_of_that_day_in_the_tasks_zone() -> None:
    body = posted({**WEEKLY, "ends": "until", "until": "2031-06-30"}).create_body()
    assert body.recurrence is not None
    # 23:59:59 in Berlin in summer (CEST, UTC+2).
    assert body.recurrence.until == datetime(2031, 6, 30, 21, 59, 59, tzinfo=UTC)
    assert body.recurrence.count is None


def test_a_monthly_rule_keeps_its_day_and_drops_weekdays() -> None:
    body = posted({**WEEKLY, "freq": "monthly", "interval": "1", "ends": "never"}).create_body()
    assert body.recurrence is not None
    assert body.recurrence.to_dict()["month_day"] == 15
    assert body.recurrence.weekdays == ()


def test_no_recurrence_and_no_due_date() -> None:
    body = posted({"title": "t", "timezone": "UTC", "freq": "none", "due": ""}).create_body()
    assert body.recurrence is None
    assert body.due_date is None
    assert body.reminders == []


def errors_of(values: dict[str, str | list[str]]) -> dict[str, str]:
    with pytest.raises(FormInvalid) as caught:
        posted(values).create_body()
    return caught.value.errors


def test_every_input_at_fault_is_named_with_the_apis_words() -> None:
    errors = errors_of(
        {
            **WEEKLY,
            "title": "",
            "priority": "urgent",
            "tags": "ok, not ok!",
            "interval": "0",
            "reminder_amount": ["ten", "400"],
            "reminder_unit": ["minutes", "days"],
        }
    )
    assert errors == {
        "title": "must not be empty",
        "priority": "Input should be 'high', 'medium' or 'low'",
        "tags": (
            "tag 'not ok!' must be 1-32 letters, digits, '-' or '_', starting with a letter or"
            " digit"
        ),
        "interval": "interval must be an integer from 1 to 1000, not 0",
        "reminder-0": "enter a whole number of minutes",
        "reminder-1": "at most 365 days before the due date",
    }


ARABIC_ONE = "\u0661"


def test_digits_other_than_ascii_are_not_a_number() -> None:
    # "²" passes str.isdigit() but not int(); ARABIC-INDIC ONE passes both. Neither is
    # a number a person types into these fields here: both are named, none raises.
    errors = errors_of(
        {
            **WEEKLY,
            "interval": ARABIC_ONE,
            "reminder_amount": ["²", ARABIC_ONE * 2],
            "reminder_unit": ["minutes", "hours"],
        }
    )
    assert errors == {
        "interval": f"interval must be an integer from 1 to 1000, not '{ARABIC_ONE}'",
        "reminder-0": "enter a whole number of minutes",
        "reminder-1": "enter a whole number of hours",
    }


def test_a_bad_time_zone_and_due_date() -> None:
    errors = errors_of({**WEEKLY, "timezone": "europe/berlin", "due": "next tuesday"})
    assert errors["timezone"] == (
        "unknown time zone 'europe/berlin'; did you mean 'Europe/Berlin'? "
        "(use an IANA name such as 'Europe/Berlin')"
    )
    assert errors["due"] == "enter a date and time, e.g. 2030-01-31 09:00"


def test_weekdays_unknown_and_ends_without_its_value() -> None:
    errors = errors_of({**WEEKLY, "weekdays": ["XX"], "ends": "count", "count": ""})
    assert errors["count"] == "enter how many times the task repeats in all"
    assert errors["weekdays"].startswith("unknown weekday 'XX'")


def test_errors_from_the_task_commands_land_on_their_inputs() -> None:
    form = posted({**WEEKLY, "reminder_amount": ["", "5"], "reminder_unit": ["hours", "hours"]})
    # reminders[0] of the request is the form's second row (the first is empty).
    refused = InvalidTaskInput("reminders[0].before", "a relative reminder needs a due_date")
    assert input_errors(refused, form.reminder_rows()) == {
        "reminder-1": "a relative reminder needs a due_date"
    }
    needs_due = "a recurring task needs a due_date to start its series"
    assert input_errors(InvalidTaskInput("recurrence", needs_due)) == {"due": needs_due}
    refused = InvalidTaskInput(
        "recurrence", "count: count must be an integer from 1 to 100000, not 0"
    )
    assert input_errors(refused) == {"count": "count must be an integer from 1 to 100000, not 0"}


def test_the_error_summary_links_to_each_input() -> None:
    links = error_links({"reminder-2": "bad", "weekdays": "bad too", "title": "empty"})
    assert links == [
        ("reminder-amount-2", "Reminder 3", "bad"),
        ("weekday-MO", "Days of the week", "bad too"),
        ("title", "Title", "empty"),
    ]


def a_task(**overrides: object) -> Task:
    due = datetime(2031, 3, 3, 8, 0, tzinfo=UTC)
    task = Task(
        id=uuid.uuid4(),
        owner_id=uuid.uuid4(),
        title="Water the plants",
        description="",
        priority="medium",
        tags=["home"],
        due_date=due,
        timezone="Europe/Berlin",
        recurrence={
            "freq": "weekly",
            "interval": 1,
            "weekdays": ["MO", "TH"],
            "month_day": None,
            "until": "2031-12-31T22:59:59+00:00",
            "count": None,
            "anchor": "schedule",
        },
        version=4,
        reminders=[
            Reminder(offset_seconds=1800, remind_at=due - timedelta(minutes=30)),
            Reminder(offset_seconds=2 * 86400, remind_at=due - timedelta(days=2)),
            Reminder(offset_seconds=None, remind_at=datetime(2031, 3, 1, 12, tzinfo=UTC)),
            Reminder(
                offset_seconds=60,
                remind_at=due - timedelta(minutes=1),
                sent_at=datetime(2031, 3, 3, 7, 59, tzinfo=UTC),
            ),
        ],
    )
    for name, value in overrides.items():
        setattr(task, name, value)
    return task


def test_the_edit_form_shows_the_task_in_its_zone() -> None:
    form = TaskForm.of_task(a_task())
    assert form.due == "2031-03-03T09:00"
    assert (form.freq, form.interval, form.weekdays) == ("weekly", "1", ("MO", "TH"))
    assert (form.ends, form.until) == ("until", "2031-12-31")
    # Pending reminders only, in the largest unit that fits; the sent one is history.
    assert form.reminders == (ReminderRow("30", "minutes"), ReminderRow("2", "days"))
    assert form.reminders_at == ("2031-03-01T12:00:00+00:00",)
    assert form.version == "4"


def test_an_edit_sends_only_what_changed() -> None:
    current = TaskForm.of_task(a_task())
    unchanged = current.with_blank_reminders()
    assert unchanged.update_body(current).model_fields_set == set()

    retitled = TaskForm(**{**current.__dict__, "title": "Water all plants"})
    assert retitled.update_body(current).model_dump(exclude_unset=True) == {
        "title": "Water all plants"
    }

    moved = TaskForm(**{**current.__dict__, "due": "2031-03-04T10:30"})
    body = moved.update_body(current)
    assert body.model_fields_set == {"due_date", "timezone"}
    assert body.due_date == datetime(2031, 3, 4, 9, 30, tzinfo=UTC)

    # The same reminders in another order and unit are no change.
    same_reminders = TaskForm(
        **{
            **current.__dict__,
            "reminders": (ReminderRow("48", "hours"), ReminderRow("30", "minutes")),
        }
    )
    assert same_reminders.update_body(current).model_fields_set == set()

    no_repeat = TaskForm(**{**current.__dict__, "freq": "none"})
    body = no_repeat.update_body(current)
    assert body.model_fields_set == {"recurrence"}
    assert body.recurrence is None


def test_zone_suggestions_are_the_zones_the_api_accepts() -> None:
    names = zone_names()
    assert "Europe/Berlin" in names
    assert "UTC" in names
    assert "localtime" not in names
    assert list(names) == sorted(names)
