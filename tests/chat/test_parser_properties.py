"""Property tests: any message, zone and moment give an intent (never an exception), and every
task the parser proposes is one the task service accepts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from app.api.schemas import TaskCreate
from app.chat.intents import Change, Clarify, Complete, Create, Delete, Intent, Query, Snooze, Undo
from app.chat.parser import MAX_TITLE, parse
from app.domain.recurrence import check_series

ZONES = [
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "America/Santiago",
    "Asia/Kolkata",
    "America/St_Johns",
]
# Words the grammar reacts to, so that generated messages reach deep into it.
VOCABULARY = [
    "add",
    "remind me to",
    "every",
    "each",
    "other",
    "day",
    "days",
    "week",
    "weeks",
    "month",
    "months",
    "year",
    "daily",
    "weekly",
    "monthly",
    "yearly",
    "fortnightly",
    "weekday",
    "weekends",
    "monday",
    "tue",
    "fridays",
    "on",
    "the",
    "1st",
    "29th",
    "31st",
    "last",
    "at",
    "9",
    "9am",
    "12pm",
    "0:30",
    "23:59",
    "25:00",
    "noon",
    "midnight",
    "tonight",
    "evening",
    "morning",
    "tomorrow",
    "today",
    "yesterday",
    "next",
    "this",
    "in",
    "2",
    "an",
    "half an",
    "hour",
    "hours",
    "minutes",
    "until",
    "2026-03-29",
    "feb 29",
    "31 april",
    "march 8",
    "times",
    "after completion",
    "#work",
    "#",
    "!high",
    "!",
    "!x",
    "remind me",
    "a day before",
    "before",
    "and",
    ",",
    "?",
    "what's due",
    "show",
    "overdue",
    "done",
    "finished",
    "delete",
    "snooze",
    "by",
    "move",
    "to",
    "rename",
    "undo",
    "set",
    "priority",
    "high",
    "call mum",
]
messages = st.one_of(
    st.text(max_size=80),
    st.lists(st.sampled_from(VOCABULARY), max_size=14).map(" ".join),
    st.lists(st.one_of(st.sampled_from(VOCABULARY), st.text(max_size=6)), max_size=10).map(
        " ".join
    ),
)
moments = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2090, 12, 31), timezones=st.just(UTC)
)


def _check(intent: Intent, zone: str, now: datetime) -> None:
    match intent:
        case Create(draft):
            assert 0 < len(draft.title) <= MAX_TITLE
            assert draft.title == draft.title.strip()
            body = TaskCreate(
                title=draft.title,
                tags=list(draft.tags),
                priority=draft.priority or "medium",
                due_date=draft.due,
                timezone=zone,
                recurrence=draft.rule,
                reminders=[{"before": before} for before in draft.reminders],
            )
            assert body.tags == list(draft.tags)  # already normalised: nothing changed
            if draft.due is not None:
                assert draft.due.tzinfo == ZoneInfo(zone)
            if draft.rule is not None:
                assert draft.due is not None
                check_series(draft.rule, draft.due, zone)
            if draft.reminders:
                assert draft.due is not None
                assert all(timedelta(0) <= r <= timedelta(days=365) for r in draft.reminders)
        case Query(_, start, end):
            assert (start is None) == (end is None)
            if start is not None and end is not None:
                assert start < end
        case Change(target) | Complete(target) | Delete(target):
            assert 0 < len(target) <= MAX_TITLE
        case Snooze(target, by):
            assert target
            assert by > timedelta(0)
        case Clarify(question):
            assert question.strip()
        case Undo():
            pass
        case _:
            raise AssertionError(f"not an intent: {intent!r}")


@settings(max_examples=400, deadline=None)
@given(message=messages, zone=st.sampled_from(ZONES), moment=moments)
def test_any_message_gives_a_valid_intent(message: str, zone: str, moment: datetime) -> None:
    now = moment.astimezone(ZoneInfo(zone))
    _check(parse(message, timezone=zone, now=now), zone, now)


@settings(max_examples=100, deadline=None)
@given(message=messages, zone=st.sampled_from(ZONES), moment=moments)
def test_parsing_is_deterministic(message: str, zone: str, moment: datetime) -> None:
    now = moment.astimezone(ZoneInfo(zone))
    assert parse(message, timezone=zone, now=now) == parse(message, timezone=zone, now=now)
