"""Recurrence in words ("every weekday", "every 2 weeks on mon and thu", "monthly on the 31st",
"every 3 days after I finish it") turned into the recurrence engine's `RecurrenceRule`, and the
first occurrence such a rule implies when the message names no date.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Final

from app.chat.when import (
    WEEKDAY_ANY,
    Context,
    Text,
    Unclear,
    calendar_date,
    compile_ci,
    next_month_day,
    place,
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
_WORKDAYS: Final = compile_ci(
    r"\b(?:every|each|on)\s+(?:week\s*days?|work\s*days?|business\s+days?)\b"
)
_WEEKENDS: Final = compile_ci(r"\b(?:every|each|on)\s+weekends?\b")
_EVERY_DAYS: Final = compile_ci(
    rf"\b(?:every|each)\s+(?:(?P<nth>other|second)\s+)?(?P<days>{_DAY_LIST})\b"
)
_ON_PLURAL_DAYS: Final = compile_ci(
    rf"\bon\s+(?P<days>(?:{WEEKDAY_ANY})s(?:\s*(?:,|and|&)\s*(?:{WEEKDAY_ANY})s)*)\b"
)
# "every evening": daily, and the part of the day stays in the text as the time.
_EVERY_PART: Final = compile_ci(r"\b(?:every|each)\s+(?=(?:morning|afternoon|evening|night)\b)")
_EVERY_UNIT: Final = compile_ci(
    r"\b(?:every|each)\s+(?:(?P<n>\d{1,4})\s+|(?P<nth>other|second|third|fourth)\s+)?"
    rf"(?P<unit>day|week|month|year)s?\b{_ON_MONTH_DAY}{_ON_DAYS}"
)
_ADVERB: Final = compile_ci(rf"\b(?P<adverb>{'|'.join(_ADVERBS)})\b{_ON_MONTH_DAY}{_ON_DAYS}")
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
    """A recurrence read from a message, before its series start is known."""

    freq: Freq
    interval: int = 1
    weekdays: tuple[int, ...] = ()
    month_day: int | None = None
    count: int | None = None
    until: date | None = None  # inclusive local day
    anchor: Anchor = "schedule"

    def rule(self, context: Context) -> RecurrenceRule:
        until = None
        if self.until is not None:
            # The whole of the last day counts, in the user's zone.
            until = place(self.until, time(23, 59, 59), context.zone)
        try:
            return RecurrenceRule(
                freq=self.freq,
                interval=self.interval,
                weekdays=self.weekdays,
                month_day=self.month_day,
                until=until,
                count=self.count,
                anchor=self.anchor,
            )
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


def take_repeat(text: Text, context: Context) -> Repeat | None:
    """Take a recurrence out of `text`, with its `until`, count and anchor; None if none."""
    if (ambiguous := _AMBIGUOUS.search(text.value)) is not None:
        raise Unclear(
            f"{ambiguous[0]!r} can mean two things. "
            "Say e.g. 'every 2 weeks' or 'every mon and thu'."
        )
    repeat = _take_frequency(text)
    count = text.take(_COUNT)
    until = text.take(_UNTIL)
    after_done = text.take(_AFTER_DONE)
    if repeat is None:
        if count or until or after_done:
            raise Unclear("How often should it repeat? Say e.g. 'every day' or 'every monday'.")
        return None
    if _take_frequency(text) is not None:
        raise Unclear("I found two repeat rules in that. Which one do you mean?")
    return Repeat(
        freq=repeat.freq,
        interval=repeat.interval,
        weekdays=repeat.weekdays,
        month_day=repeat.month_day,
        count=int(count["count"]) if count else None,
        until=calendar_date(until["date"], context) if until else None,
        anchor="completion" if after_done else "schedule",
    )


def _take_frequency(text: Text) -> Repeat | None:
    if text.take(_WORKDAYS) is not None:
        return Repeat("weekly", weekdays=(0, 1, 2, 3, 4))
    if text.take(_WEEKENDS) is not None:
        return Repeat("weekly", weekdays=(5, 6))
    if (found := text.take(_EVERY_DAYS)) is not None:
        interval = 2 if found["nth"] else 1
        return Repeat("weekly", interval, weekdays_of(found["days"]))
    if (found := text.take(_EVERY_UNIT)) is not None:
        if found["n"]:
            interval = int(found["n"])
        else:
            interval = _NUMBER_WORDS[found["nth"].lower()] if found["nth"] else 1
        return _with_days(_UNIT_FREQ[found["unit"].lower()], interval, found)
    if (found := text.take(_ADVERB)) is not None:
        freq, interval = _ADVERBS[found["adverb"].lower()]
        return _with_days(freq, interval, found)
    if (found := text.take(_ON_PLURAL_DAYS)) is not None:
        return Repeat("weekly", weekdays=weekdays_of(found["days"]))
    if text.take(_EVERY_PART) is not None:
        return Repeat("daily")
    return None


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


def first_due(repeat: Repeat, context: Context, at: time) -> datetime:
    return place(repeat.first_day(context, at), at, context.zone)
