"""Recurrence in words ("every weekday", "every 2 weeks on mon and thu", "monthly on the 31st",
"every 3 days after I finish it") turned into the recurrence engine's `RecurrenceRule`, and the
first occurrence such a rule implies when the message names no date.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Final

from app.chat.when import (
    WEEKDAY_ANY,
    Context,
    Text,
    Unclear,
    Wording,
    calendar_date,
    compile_ci,
    next_month_day,
    place,
    take_first,
    weekday_numbers,
)
from app.domain.recurrence import Anchor, Freq, RecurrenceError, RecurrenceRule

_DAY_LIST: Final = rf"(?:{WEEKDAY_ANY})s?(?:\s*(?:,|and|&|\+)\s*(?:{WEEKDAY_ANY})s?)*"
_ON_MONTH_DAY: Final = (
    r"(?:\s+on\s+(?:the\s+)?(?:(?P<month_day>\d{1,2})(?:st|nd|rd|th)?|(?P<last>last)\s+day)\b)?"
)
_ON_DAYS: Final = rf"(?:\s+on\s+(?P<on_days>{_DAY_LIST})\b)?"
_NUMBER_WORDS: Final = {"other": 2, "second": 2, "third": 3, "fourth": 4}
_ADVERBS: Final[dict[str, tuple[Freq, int]]] = {
    "daily": ("daily", 1),
    "weekly": ("weekly", 1),
    "fortnightly": ("weekly", 2),
    "monthly": ("monthly", 1),
    "yearly": ("yearly", 1),
    "annually": ("yearly", 1),
}
_UNIT_FREQ: Final[dict[str, Freq]] = {
    "day": "daily",
    "week": "weekly",
    "month": "monthly",
    "year": "yearly",
}

_AMBIGUOUS: Final = compile_ci(r"\b(?:bi-?weekly|bi-?monthly|semi-?monthly|twice\s+a)\b")
_COUNT: Final = compile_ci(r"\b(?:for\s+)?(?P<count>\d{1,6})\s+times\b")
_UNTIL: Final = compile_ci(
    r"\buntil\s+(?P<date>\d{4}-\d{2}-\d{2}|[a-z]+\.?\s+\d{1,2}(?:st|nd|rd|th)?(?:,?\s+\d{4})?|\d{1,2}(?:st|nd|rd|th)?\s+(?:of\s+)?[a-z]+\.?(?:,?\s+\d{4})?)"
)
_AFTER_DONE: Final = compile_ci(
    r"\bafter\s+(?:completion|(?:i\s+)?(?:finish|complete|completing|finishing)(?:\s+it)?"
    r"|it'?s\s+done|done)\b"
)


@dataclass(frozen=True, slots=True)
class Repeat:
    """A recurrence read from a message: the engine's `RecurrenceRule` fields, checked only by
    `rule()`, once the parser has asked whatever else the message leaves open."""

    freq: Freq
    interval: int = 1
    weekdays: tuple[int, ...] = ()
    month_day: int | None = None
    count: int | None = None
    until: datetime | None = None  # the last second of the last day, in the user's zone
    anchor: Anchor = "schedule"

    def rule(self) -> RecurrenceRule:
        try:
            return RecurrenceRule(**asdict(self))
        except RecurrenceError as exc:
            raise Unclear(f"That repeat rule does not work: {exc}.") from None

    def first_day(self, context: Context, at: time) -> date:
        """The day of the first occurrence when the message names none: the first day from
        today on that the rule matches and whose time is still ahead."""
        today = context.today
        for ahead in range(0, 400):
            day = today + timedelta(days=ahead)
            if self._matches(day) and place(day, at, context.zone) > context.now:
                return day
        raise AssertionError("every rule matches a day within 400 days")

    def _matches(self, day: date) -> bool:
        if self.anchor == "completion":
            return True
        if self.weekdays:
            return day.weekday() in self.weekdays
        if self.month_day is not None:
            return day == next_month_day(self.month_day, day, exact=False)
        return True


def weekdays_of(text: str) -> tuple[int, ...]:
    return weekday_numbers(re.sub(r"(?<=[a-z])s\b", "", text, flags=re.IGNORECASE))


def _with_days(freq: Freq, interval: int, found: re.Match[str]) -> Repeat:
    month_day = 31 if found["last"] else int(found["month_day"]) if found["month_day"] else None
    weekdays = weekdays_of(found["on_days"]) if found["on_days"] else ()
    if month_day is not None and freq not in ("monthly", "yearly"):
        raise Unclear(f"'on the {month_day}' fits a monthly or yearly rule, not a {freq} one.")
    if weekdays and freq != "weekly":
        raise Unclear(f"Weekdays fit a weekly rule, not a {freq} one.")
    return Repeat(freq, interval, weekdays=weekdays, month_day=month_day)


def _every_days(found: re.Match[str], context: Context) -> Repeat:
    interval = 2 if found["nth"] else 1
    return Repeat("weekly", interval, weekdays_of(found["days"]))


def _every_unit(found: re.Match[str], context: Context) -> Repeat:
    if found["n"]:
        interval = int(found["n"])
    else:
        interval = _NUMBER_WORDS[found["nth"].lower()] if found["nth"] else 1
    return _with_days(_UNIT_FREQ[found["unit"].lower()], interval, found)


def _adverb(found: re.Match[str], context: Context) -> Repeat:
    freq, interval = _ADVERBS[found["adverb"].lower()]
    return _with_days(freq, interval, found)


# The ways of saying how often, tried in this order: "every weekday" before "every <day>".
_FREQUENCIES: Final[tuple[Wording[Repeat], ...]] = (
    (
        compile_ci(r"\b(?:every|each|on)\s+(?:week\s*days?|work\s*days?|business\s+days?)\b"),
        lambda found, context: Repeat("weekly", weekdays=(0, 1, 2, 3, 4)),
    ),
    (
        compile_ci(r"\b(?:every|each|on)\s+weekends?\b"),
        lambda found, context: Repeat("weekly", weekdays=(5, 6)),
    ),
    (
        compile_ci(rf"\b(?:every|each)\s+(?:(?P<nth>other|second)\s+)?(?P<days>{_DAY_LIST})\b"),
        _every_days,
    ),
    (
        compile_ci(
            r"\b(?:every|each)\s+(?:(?P<n>\d{1,4})\s+|(?P<nth>other|second|third|fourth)\s+)?"
            rf"(?P<unit>day|week|month|year)s?\b{_ON_MONTH_DAY}{_ON_DAYS}"
        ),
        _every_unit,
    ),
    (compile_ci(rf"\b(?P<adverb>{'|'.join(_ADVERBS)})\b{_ON_MONTH_DAY}{_ON_DAYS}"), _adverb),
    (
        compile_ci(
            rf"\bon\s+(?P<days>(?:{WEEKDAY_ANY})s(?:\s*(?:,|and|&)\s*(?:{WEEKDAY_ANY})s)*)\b"
        ),
        lambda found, context: Repeat("weekly", weekdays=weekdays_of(found["days"])),
    ),
    # "every evening": daily, and the part of the day stays in the text as the time.
    (
        compile_ci(r"\b(?:every|each)\s+(?=(?:morning|afternoon|evening|night)\b)"),
        lambda found, context: Repeat("daily"),
    ),
)


def take_repeat(text: Text, context: Context) -> Repeat | None:
    """Take a recurrence out of `text`, with its `until`, count and anchor; None if none."""
    if (ambiguous := _AMBIGUOUS.search(text.value)) is not None:
        raise Unclear(
            f"{ambiguous[0]!r} can mean two things. "
            "Say e.g. 'every 2 weeks' or 'every mon and thu'."
        )
    repeat = take_first(text, _FREQUENCIES, context)
    count = text.take(_COUNT)
    until = text.take(_UNTIL)
    after_done = text.take(_AFTER_DONE)
    if repeat is None:
        if count or until or after_done:
            raise Unclear("How often should it repeat? Say e.g. 'every day' or 'every monday'.")
        return None
    if take_first(text, _FREQUENCIES, context) is not None:
        raise Unclear("I found two repeat rules in that. Which one do you mean?")
    last_day = calendar_date(until["date"], context) if until else None
    return replace(
        repeat,
        count=int(count["count"]) if count else None,
        # The whole of the last day counts, in the user's zone.
        until=None if last_day is None else place(last_day, time(23, 59, 59), context.zone),
        anchor="completion" if after_done else "schedule",
    )


def first_due(repeat: Repeat, context: Context, at: time) -> datetime:
    return place(repeat.first_day(context, at), at, context.zone)
