"""RecurrenceRule parsing, canonical form, wording, validation, and time zone loading."""

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from app.domain.recurrence import (
    Freq,
    RecurrenceError,
    RecurrenceRule,
    check_series,
    load_timezone,
    next_occurrence,
    occurrences,
)

START = datetime(2026, 3, 2, 9, tzinfo=ZoneInfo("Europe/Berlin"))


@pytest.mark.parametrize(
    ("shorthand", "freq"),
    [
        ("daily", "daily"),
        ("weekly", "weekly"),
        ("monthly", "monthly"),
        ("yearly", "yearly"),
        ("Weekly", "weekly"),
        (" MONTHLY ", "monthly"),
    ],
)
def test_shorthand_is_the_plain_rule(shorthand: str, freq: Freq) -> None:
    assert RecurrenceRule.parse(shorthand) == RecurrenceRule(freq=freq)


def test_parse_reads_every_field() -> None:
    rule = RecurrenceRule.parse(
        {
            "freq": "weekly",
            "interval": 2,
            "weekdays": ["th", "MO", "Friday", 6, "mon"],
            "until": "2027-01-31T23:59:59+01:00",
            "anchor": "schedule",
        }
    )
    assert rule == RecurrenceRule(
        freq="weekly",
        interval=2,
        weekdays=(0, 3, 4, 6),
        until=datetime(2027, 1, 31, 22, 59, 59, tzinfo=UTC),
    )
    assert rule.until is not None
    assert rule.until.tzinfo is UTC


def test_parse_treats_null_as_absent() -> None:
    given = {"freq": "monthly", "interval": None, "weekdays": None, "month_day": None}
    assert RecurrenceRule.parse(given | {"until": None, "count": None, "anchor": None}) == (
        RecurrenceRule(freq="monthly")
    )


def test_parse_accepts_datetime_objects_and_z_suffix() -> None:
    from_object = RecurrenceRule.parse(
        {"freq": "daily", "until": datetime(2027, 1, 31, tzinfo=timezone(timedelta(hours=-5)))}
    )
    from_text = RecurrenceRule.parse({"freq": "daily", "until": "2027-01-31T05:00:00Z"})
    assert from_object == from_text


def test_to_dict_is_the_complete_canonical_json_form() -> None:
    rule = RecurrenceRule(freq="weekly", interval=2, weekdays=(3, 0, 3), count=10)
    assert rule.to_dict() == {
        "freq": "weekly",
        "interval": 2,
        "weekdays": ["MO", "TH"],
        "month_day": None,
        "until": None,
        "count": 10,
        "anchor": "schedule",
    }
    assert rule.weekdays == (0, 3)


@pytest.mark.parametrize(
    "rule",
    [
        RecurrenceRule(freq="daily"),
        RecurrenceRule(freq="weekly", interval=3, weekdays=(1, 5)),
        RecurrenceRule(freq="monthly", month_day=31, until=datetime(2027, 1, 31, 12, tzinfo=UTC)),
        RecurrenceRule(freq="yearly", count=4),
        RecurrenceRule(freq="daily", interval=3, anchor="completion"),
    ],
)
def test_to_dict_round_trips_through_json(rule: RecurrenceRule) -> None:
    assert RecurrenceRule.parse(json.loads(json.dumps(rule.to_dict()))) == rule


@pytest.mark.parametrize(
    ("rule", "words"),
    [
        (RecurrenceRule(freq="daily"), "daily"),
        (RecurrenceRule(freq="weekly"), "weekly"),
        (RecurrenceRule(freq="monthly", interval=3), "every 3 months"),
        (RecurrenceRule(freq="weekly", interval=2, weekdays=(0, 3)), "every 2 weeks on Mon, Thu"),
        (RecurrenceRule(freq="monthly", month_day=31), "monthly on day 31"),
        (RecurrenceRule(freq="yearly", interval=4), "every 4 years"),
        (
            RecurrenceRule(freq="daily", interval=3, anchor="completion"),
            "every 3 days after completion",
        ),
        (RecurrenceRule(freq="weekly", anchor="completion"), "every week after completion"),
        (
            RecurrenceRule(freq="daily", until=datetime(2027, 1, 31, tzinfo=UTC)),
            "daily until 2027-01-31",
        ),
        (
            RecurrenceRule(freq="daily", until=datetime(2027, 1, 31, 17, 30, tzinfo=UTC)),
            "daily until 2027-01-31 17:30 UTC",
        ),
        (RecurrenceRule(freq="weekly", weekdays=(4,), count=10), "weekly on Fri, 10 times"),
        (RecurrenceRule(freq="monthly", count=1), "monthly, once"),
    ],
)
def test_describe(rule: RecurrenceRule, words: str) -> None:
    assert rule.describe() == words


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ("hourly", "recurrence"),
        ("", "recurrence"),
        (5, "recurrence"),
        (["daily"], "recurrence"),
        (None, "recurrence"),
        ({}, "recurrence.freq"),
        ({"freq": None}, "recurrence.freq"),
        ({"freq": "hourly"}, "recurrence.freq"),
        ({"freq": 1}, "recurrence.freq"),
        ({"freq": "daily", "every": 2}, "recurrence.every"),
        ({"freq": "daily", "interval": 0}, "recurrence.interval"),
        ({"freq": "daily", "interval": -1}, "recurrence.interval"),
        ({"freq": "daily", "interval": 1001}, "recurrence.interval"),
        ({"freq": "daily", "interval": "2"}, "recurrence.interval"),
        ({"freq": "daily", "interval": 2.0}, "recurrence.interval"),
        ({"freq": "daily", "interval": True}, "recurrence.interval"),
        ({"freq": "weekly", "weekdays": "MO"}, "recurrence.weekdays"),
        ({"freq": "weekly", "weekdays": [7]}, "recurrence.weekdays"),
        ({"freq": "weekly", "weekdays": [-1]}, "recurrence.weekdays"),
        ({"freq": "weekly", "weekdays": ["XX"]}, "recurrence.weekdays"),
        ({"freq": "weekly", "weekdays": [True]}, "recurrence.weekdays"),
        ({"freq": "weekly", "weekdays": [1.0]}, "recurrence.weekdays"),
        ({"freq": "daily", "weekdays": ["MO"]}, "recurrence.weekdays"),
        ({"freq": "monthly", "weekdays": [0]}, "recurrence.weekdays"),
        ({"freq": "monthly", "month_day": 0}, "recurrence.month_day"),
        ({"freq": "monthly", "month_day": 32}, "recurrence.month_day"),
        ({"freq": "monthly", "month_day": "1"}, "recurrence.month_day"),
        ({"freq": "weekly", "month_day": 1}, "recurrence.month_day"),
        ({"freq": "daily", "month_day": 1}, "recurrence.month_day"),
        ({"freq": "daily", "until": "tomorrow"}, "recurrence.until"),
        ({"freq": "daily", "until": "2027-01-31"}, "recurrence.until"),
        ({"freq": "daily", "until": "2027-01-31T10:00:00"}, "recurrence.until"),
        ({"freq": "daily", "until": 1_800_000_000}, "recurrence.until"),
        ({"freq": "daily", "until": "0001-01-01T00:00:00+05:00"}, "recurrence.until"),
        ({"freq": "daily", "count": 0}, "recurrence.count"),
        ({"freq": "daily", "count": -3}, "recurrence.count"),
        ({"freq": "daily", "count": 100_001}, "recurrence.count"),
        ({"freq": "daily", "count": "3"}, "recurrence.count"),
        ({"freq": "daily", "count": True}, "recurrence.count"),
        ({"freq": "daily", "count": 3, "until": "2027-01-31T00:00:00Z"}, "recurrence.count"),
        ({"freq": "daily", "anchor": "later"}, "recurrence.anchor"),
        ({"freq": "daily", "anchor": 1}, "recurrence.anchor"),
        (
            {"freq": "weekly", "weekdays": ["MO"], "anchor": "completion"},
            "recurrence.weekdays",
        ),
        ({"freq": "monthly", "month_day": 3, "anchor": "completion"}, "recurrence.month_day"),
    ],
)
def test_invalid_input_names_the_field(value: Any, field: str) -> None:
    with pytest.raises(RecurrenceError) as caught:
        RecurrenceRule.parse(value)
    assert caught.value.field == field
    assert str(caught.value)


def test_messages_say_what_is_wrong() -> None:
    with pytest.raises(RecurrenceError, match=r"interval must be an integer from 1 to 1000, not 0"):
        RecurrenceRule.parse({"freq": "daily", "interval": 0})
    with pytest.raises(RecurrenceError, match=r"unknown weekday 'XX'"):
        RecurrenceRule.parse({"freq": "weekly", "weekdays": ["XX"]})
    with pytest.raises(RecurrenceError, match=r"unknown recurrence 'x{56}\.\.\.: use"):
        RecurrenceRule.parse("x" * 10_000)  # client input is echoed, but cut short
    with pytest.raises(RecurrenceError, match=r"either until or count, not both"):
        RecurrenceRule.parse({"freq": "daily", "count": 3, "until": "2027-01-31T00:00:00Z"})


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"freq": "hourly"}, "recurrence.freq"),
        ({"freq": "weekly", "weekdays": [0]}, "recurrence.weekdays"),
        ({"freq": "daily", "until": datetime(2027, 1, 31)}, "recurrence.until"),
        ({"freq": "daily", "anchor": "whenever"}, "recurrence.anchor"),
    ],
)
def test_direct_construction_is_validated_too(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(RecurrenceError) as caught:
        RecurrenceRule(**kwargs)
    assert caught.value.field == field


def test_load_timezone_returns_the_zone() -> None:
    assert load_timezone("America/New_York") == ZoneInfo("America/New_York")
    assert load_timezone("UTC") == ZoneInfo("UTC")


def test_load_timezone_suggests_the_right_spelling() -> None:
    with pytest.raises(RecurrenceError, match=r"did you mean 'America/New_York'") as caught:
        load_timezone("america/new_york")
    assert caught.value.field == "timezone"


@pytest.mark.parametrize(
    "name",
    ["", "Mars/Olympus_Mons", "../etc/passwd", "/etc/localtime", "localtime", "UTC\x00", 5, None],
)
def test_load_timezone_rejects_what_is_not_an_iana_zone(name: Any) -> None:
    with pytest.raises(RecurrenceError) as caught:
        load_timezone(name)
    assert caught.value.field == "timezone"


def test_engine_reports_bad_zone_and_naive_datetimes_by_field() -> None:
    rule = RecurrenceRule(freq="daily")
    with pytest.raises(RecurrenceError) as caught:
        occurrences(rule, START, "Europe/Atlantis")
    assert caught.value.field == "timezone"
    with pytest.raises(RecurrenceError) as caught:
        occurrences(rule, datetime(2026, 3, 2, 9), "Europe/Berlin")
    assert caught.value.field == "due_date"
    for start_out_of_range, tz in (
        (datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=5))), "UTC"),
        (datetime(1, 1, 1, 1, tzinfo=UTC), "America/New_York"),
    ):
        with pytest.raises(RecurrenceError, match="outside the supported range") as caught:
            occurrences(rule, start_out_of_range, tz)
        assert caught.value.field == "due_date"
    with pytest.raises(RecurrenceError) as caught:
        occurrences(rule, START, "Europe/Berlin", after=datetime(2026, 3, 2))
    assert caught.value.field == "after"
    first = next(occurrences(rule, START, "Europe/Berlin"))
    for naive in ("completed_at", "now"):
        moments = {"completed_at": START, "now": START} | {naive: datetime(2026, 3, 2, 10)}
        with pytest.raises(RecurrenceError) as caught:
            next_occurrence(rule, series_start=START, tz="Europe/Berlin", current=first, **moments)
        assert caught.value.field == naive


def test_check_series_rejects_until_before_the_start() -> None:
    rule = RecurrenceRule(freq="daily", until=START - timedelta(seconds=1))
    with pytest.raises(RecurrenceError, match="before the due date") as caught:
        check_series(rule, START, "Europe/Berlin")
    assert caught.value.field == "recurrence.until"
    check_series(RecurrenceRule(freq="daily", until=START), START, "Europe/Berlin")
    with pytest.raises(RecurrenceError) as caught:
        check_series(RecurrenceRule(freq="daily"), START, "Nowhere/Town")
    assert caught.value.field == "timezone"
