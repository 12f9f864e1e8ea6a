"""Dates, times and durations in a chat message: found, taken out of the text, made exact.

The grammar here finds each expression and removes it from the text (what remains becomes the
title); `dateparser` reads the calendar dates among them ("March 29", "3rd of april", "1 May
2027", ISO dates). dateparser is not asked to search the whole message: on task messages its
free-text search misreads too much (docs/decisions/chat-parser.md). Anything unclear raises
`Unclear` with the question to ask back.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Final, TypeVar
from zoneinfo import ZoneInfo

import dateparser
from dateutil.relativedelta import relativedelta

DEFAULT_TIME: Final = time(9, 0)  # a day named without a time of day
_WEEKDAYS: Final = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# Abbreviations count only after "on", "next", "this" or "every": "sun" and "wed" are words too.
_WEEKDAY_SHORT: Final = {
    "mon": 0,
    "tue": 1,
    "tues": 1,
    "wed": 2,
    "thu": 3,
    "thur": 3,
    "thurs": 3,
    "fri": 4,
    "sat": 5,
    "sun": 6,
}
WEEKDAY_FULL: Final = "|".join(_WEEKDAYS)
WEEKDAY_ANY: Final = "|".join([*_WEEKDAYS, *sorted(_WEEKDAY_SHORT, key=len, reverse=True)])
_MONTHS: Final = (
    r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
)
_NUMBERS: Final = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "twelve": 12,
    "fifteen": 15,
    "twenty": 20,
    "thirty": 30,
    "forty-five": 45,
}
AMOUNT: Final = r"\d{1,4}|half an?|" + "|".join(sorted(_NUMBERS, key=len, reverse=True))
UNIT: Final = r"minutes?|mins?|hours?|hrs?|h|days?|d|weeks?|wks?|w|months?"
# Parts of the day, and the hour each means alone ("tomorrow evening" is 18:00).
_PARTS_OF_DAY: Final = {
    "morning": time(9),
    "noon": time(12),
    "midday": time(12),
    "afternoon": time(15),
    "evening": time(18),
    "tonight": time(20),
    "night": time(20),
    "midnight": time(0),
}
_AFTERNOON_PARTS: Final = frozenset({"afternoon", "evening", "tonight", "night"})


class Unclear(ValueError):
    """The message cannot be read for certain; str() is the question to ask the user."""


@dataclass(frozen=True, slots=True)
class Context:
    """The user's zone and the moment the message was sent, which every relative word uses."""

    zone: ZoneInfo
    now: datetime  # aware, in `zone`

    @property
    def today(self) -> date:
        return self.now.date()


@dataclass(slots=True)
class Text:
    """The message being read; each expression found is cut out, leaving the title."""

    value: str

    def take(self, pattern: re.Pattern[str]) -> re.Match[str] | None:
        found = pattern.search(self.value)
        if found is not None:
            self.value = f"{self.value[: found.start()]} {self.value[found.end() :]}"
        return found


@dataclass(frozen=True, slots=True)
class When:
    """The date and time a message names; `instant` for "in 2 hours" (exact, no wall time)."""

    day: date | None = None
    at: time | None = None
    instant: datetime | None = None
    # A weekday named alone ("friday") on that very weekday means next week's once its time
    # has passed: only the time of day decides.
    weekly: bool = False

    @property
    def empty(self) -> bool:
        return self.day is None and self.at is None and self.instant is None


def compile_ci(pattern: str) -> re.Pattern[str]:
    """A case-insensitive pattern: messages come in any case; titles keep theirs."""
    return re.compile(pattern, re.IGNORECASE)


Meaning = TypeVar("Meaning")
Wording = tuple[re.Pattern[str], Callable[[re.Match[str], Context], Meaning]]
"""One way of saying something: the words' pattern, and what a match of it means."""


def take_first(
    text: Text, wordings: Sequence[Wording[Meaning]], context: Context
) -> Meaning | None:
    """What the first of `wordings` found in `text` means, its words taken out of `text`
    (the order of `wordings` is the order of trying); None when none is found."""
    for pattern, meaning in wordings:
        if (found := text.take(pattern)) is not None:
            return meaning(found, context)
    return None


_DURATION: Final = compile_ci(rf"^\s*(?P<amount>{AMOUNT})\s*(?P<unit>{UNIT})\s*$")
# Said beside a clock time it decides am/pm ("at 7 in the evening"); alone it is the time.
_THIS_PART: Final = compile_ci(r"\b(?:this|in\s+the)\s+(?P<part>morning|afternoon|evening)\b")
_CLOCK: Final = compile_ci(
    r"(?:\b(?:at|@)\s*)?\b(?P<hour>\d{1,2})(?::(?P<minute>\d{2}))?\s*(?P<ampm>[ap]\.?m\b\.?)"
    r"|(?:\b(?:at|@)\s*)?\b(?P<hour24>\d{1,2}):(?P<minute24>\d{2})\b"
    r"|\b(?:at|@)\s*(?P<bare>\d{1,2})\b(?![:\d])"
)
_PART_ALONE: Final = compile_ci(
    r"\b(?:at\s+|in\s+the\s+)?(?P<part>noon|midday|midnight|tonight|morning|afternoon|evening|night)\b"
)
# About ten years in each unit: further out is a typo rather than a plan.
_LIMITS: Final = {"minutes": 5_256_000, "hours": 87_600, "days": 3_650, "weeks": 520, "months": 120}
_MINUTES: Final = {"minutes": 1, "hours": 60, "days": 1440, "weeks": 10_080}
_UNITS: Final = {
    "m": "minutes",
    "min": "minutes",
    "mins": "minutes",
    "minute": "minutes",
    "minutes": "minutes",
    "h": "hours",
    "hr": "hours",
    "hrs": "hours",
    "hour": "hours",
    "hours": "hours",
    "d": "days",
    "day": "days",
    "days": "days",
    "w": "weeks",
    "wk": "weeks",
    "wks": "weeks",
    "week": "weeks",
    "weeks": "weeks",
    "month": "months",
    "months": "months",
}


def amount(text: str) -> float:
    word = text.lower()
    if word.startswith("half"):
        return 0.5
    return float(_NUMBERS[word]) if word in _NUMBERS else float(word)


def duration(amount_text: str, unit_text: str) -> relativedelta:
    """A relative step such as "2 days" or "half an hour"; Unclear past ten years."""
    count = amount(amount_text)
    unit = _UNITS[unit_text.lower()]
    if unit == "months":
        if count != int(count):
            raise Unclear(f"How long is {amount_text} {unit_text}? Say it in weeks or days.")
        step = relativedelta(months=int(count))
    else:
        # In whole minutes ("half a day" is 720); relativedelta carries them over into
        # hours and days, so adding to a date moves it by whole days.
        step = relativedelta(minutes=round(count * _MINUTES[unit]))
    if not 0 < count <= _LIMITS[unit]:
        raise Unclear(f"{amount_text} {unit_text} is out of range; use up to ten years.")
    return step


def parse_duration(text: str) -> timedelta:
    """An exact span such as "an hour" or "30 min" (no months: they have no fixed length)."""
    found = _DURATION.match(text)
    if found is None or _UNITS[found["unit"].lower()] == "months":
        raise Unclear(f"How long is {text.strip()!r}? Say e.g. '30 minutes', 'an hour', '2 days'.")
    step = duration(found["amount"], found["unit"])
    return timedelta(days=step.days, hours=step.hours, minutes=step.minutes)


def calendar_date(text: str, context: Context) -> date:
    """A calendar date in words ("March 29", "1 May 2027", "2026-11-01"): the nearest one from
    today on when the year is left out."""
    # dateparser's "future" excludes the base day itself; based on yesterday, today counts.
    base = datetime.combine(context.today - timedelta(days=1), time(0))
    settings = {
        "RELATIVE_BASE": base,
        "PREFER_DATES_FROM": "future",
        "REQUIRE_PARTS": ["day", "month"],
        "DATE_ORDER": "DMY",
    }
    cleaned = re.sub(r"\s+", " ", text.replace(",", " ")).strip()
    try:
        parsed = dateparser.parse(cleaned, languages=["en"], settings=settings)
    except (ValueError, OverflowError):
        parsed = None
    if parsed is None:
        raise Unclear(f"There is no date {text.strip()!r}. Which day do you mean?")
    return parsed.date()


def _weekday_number(name: str) -> int:
    word = name.lower()
    for number, full in enumerate(_WEEKDAYS):
        if word == full:
            return number
    return _WEEKDAY_SHORT[word]


def weekday_numbers(text: str) -> tuple[int, ...]:
    """Every weekday named in `text` ("mon, wed and fri"), Monday = 0."""
    names = re.findall(rf"\b(?:{WEEKDAY_ANY})\b", text, re.IGNORECASE)
    return tuple(sorted({_weekday_number(name) for name in names}))


def _clock(found: re.Match[str], part: str | None) -> time:
    if found["ampm"]:
        hour, minute = int(found["hour"]), int(found["minute"] or 0)
        if not 1 <= hour <= 12 or minute > 59:
            raise Unclear(f"{found[0].strip()!r} is not a time of day.")
        pm = found["ampm"].lower().startswith("p")
        return time((hour % 12) + (12 if pm else 0), minute)
    if found["hour24"]:
        hour, minute = int(found["hour24"]), int(found["minute24"])
        text = found["hour24"]
    else:
        hour, minute = int(found["bare"]), 0
        text = found["bare"]
    if hour > 23 or minute > 59:
        raise Unclear(f"{found[0].strip()!r} is not a time of day.")
    if part in _AFTERNOON_PARTS and 1 <= hour <= 11:
        return time(hour + 12, minute)
    if part == "morning":
        return time(hour % 12, minute)
    # "at 5" could be 05:00 or 17:00; a leading zero ("05:30") or an hour past 12 is 24-hour.
    if 1 <= hour <= 7 and not text.startswith("0"):
        raise Unclear(f"Do you mean {hour}am or {hour}pm?")
    return time(hour, minute)


def take_when(text: Text, context: Context) -> When:
    """Take the date and the time of day out of `text`; Unclear when there are two of either."""
    weekly = _WEEKDAY.search(text.value) is not None and not _any_other_day(text.value)
    day, part, instant = _take_day(text, context)
    if (found := text.take(_THIS_PART)) is not None:
        part = part or found["part"].lower()
    at: time | None = None
    if (clock := text.take(_CLOCK)) is not None:
        at = _clock(clock, part)
    elif (alone := text.take(_PART_ALONE)) is not None:
        part = alone["part"].lower()
        if part == "tonight":
            day = day or context.today
        at = _PARTS_OF_DAY[part]
    elif part is not None:
        at = _PARTS_OF_DAY[part]
    if _CLOCK.search(text.value) or _any_day(text.value):
        raise Unclear("I found more than one date or time in that. Which one do you mean?")
    if instant is not None and (day is not None or at is not None):
        raise Unclear("Give either a time span ('in 2 hours') or a date and time, not both.")
    return When(day=day, at=at, instant=instant, weekly=weekly and day == context.today)


def _any_day(text: str) -> bool:
    return _WEEKDAY.search(text) is not None or _any_other_day(text)


def _any_other_day(text: str) -> bool:
    """Whether `text` names a day other than by a weekday or an ordinal ("the 3rd")."""
    return any(pattern.search(text) for pattern in _OTHER_DAYS)


def _take_day(text: Text, context: Context) -> _Day:
    """A weekday named alone gives today when it is today's (`resolve` moves it on if past)."""
    found = take_first(text, _DAYS, context)
    return (None, None, None) if found is None else found


_Day = tuple[date | None, str | None, datetime | None]
"""The day, a part of the day said with it, or instead an exact instant ("in 2 hours")."""


def _day_words(pattern: str) -> re.Pattern[str]:
    """Words that name a day, which "due", "by", "on" or "for" may lead ("due friday")."""
    return compile_ci(rf"(?:\b(?:due|by|on|for)\s+)?\b{pattern}")


def _in_duration(found: re.Match[str], context: Context) -> _Day:
    step = duration(found["amount"], found["unit"])
    if _UNITS[found["unit"].lower()] in ("minutes", "hours"):
        return None, None, (context.now.astimezone(UTC) + step).astimezone(context.zone)
    return context.today + step, None, None


def _named_day(found: re.Match[str], context: Context) -> _Day:
    word = found["day"].lower()
    offset = {"today": 0, "tonight": 0, "yesterday": -1}.get(word, 1)
    part = "tonight" if word == "tonight" else found["part"]
    return context.today + timedelta(days=offset), part and part.lower(), None


def _next_period(found: re.Match[str], context: Context) -> _Day:
    today = context.today
    if found["unit"].lower() == "week":
        return today + timedelta(days=7 - today.weekday()), None, None
    return (today + relativedelta(months=1)).replace(day=1), None, None


def _weekday(found: re.Match[str], context: Context) -> _Day:
    today = context.today
    wanted = _weekday_number(found["any"] or found["full"])
    ahead = (wanted - today.weekday()) % 7
    if (found["which"] or "").lower() == "next" and ahead == 0:
        ahead = 7
    part = found["part"]
    return today + timedelta(days=ahead), part and part.lower(), None


def _calendar_day(found: re.Match[str], context: Context) -> _Day:
    return calendar_date(found["date"], context), None, None


def _day_of_month(found: re.Match[str], context: Context) -> _Day:
    return next_month_day(int(found["day"]), context.today, exact=True), None, None


_WEEKDAY: Final = _day_words(
    rf"(?:(?P<which>next|this|on)\s+(?P<any>{WEEKDAY_ANY})|(?P<full>{WEEKDAY_FULL}))\b"
    r"(?:\s+(?P<part>morning|afternoon|evening|night))?"
)
_ORDINAL_DAY: Final = _day_words(
    r"(?:on\s+)?the\s+(?P<day>\d{1,2})(?:st|nd|rd|th)\b(?:\s+of\s+the\s+month)?"
)
# The ways of naming a day, tried in this order.
_DAYS: Final[tuple[Wording[_Day], ...]] = (
    (compile_ci(rf"\bin\s+(?P<amount>{AMOUNT})\s*(?P<unit>{UNIT})\b"), _in_duration),
    (
        _day_words(r"(?:the\s+)?day\s+after\s+tomorrow\b"),
        lambda found, context: (context.today + timedelta(days=2), None, None),
    ),
    (
        _day_words(
            r"(?P<day>today|tonight|tomorrow|tmrw|tmr|yesterday)\b"
            r"(?:\s+(?P<part>morning|afternoon|evening|night))?"
        ),
        _named_day,
    ),
    (_day_words(r"next\s+(?P<unit>week|month)\b"), _next_period),
    (_WEEKDAY, _weekday),
    (_day_words(r"(?P<date>\d{4}-\d{2}-\d{2})\b"), _calendar_day),
    (
        _day_words(
            rf"(?P<date>(?:(?:{_MONTHS})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?"
            rf"|(?:the\s+)?\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?(?:{_MONTHS})\b\.?)(?:,?\s+\d{{4}})?)\b"
        ),
        _calendar_day,
    ),
    (_ORDINAL_DAY, _day_of_month),
)
# What `_any_other_day` looks for: the ways of naming a day but a weekday or an ordinal.
_OTHER_DAYS: Final = tuple(
    pattern for pattern, _ in _DAYS if pattern not in (_WEEKDAY, _ORDINAL_DAY)
)


def next_month_day(wanted: int, today: date, *, exact: bool) -> date:
    """The first day numbered `wanted` from today on; with exact=False a month too short for
    it counts its last day (as the recurrence engine does for "every month on the 31st")."""
    if not 1 <= wanted <= 31:
        raise Unclear(f"There is no day {wanted} in a month. Which day do you mean?")
    for months_ahead in range(0, 13):
        first = (today + relativedelta(months=months_ahead)).replace(day=1)
        last = (first + relativedelta(months=1) - timedelta(days=1)).day
        if wanted > last and exact:
            continue
        candidate = first.replace(day=min(wanted, last))
        if candidate >= today:
            return candidate
    raise AssertionError("every day number 1..31 occurs within 13 months")


def place(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The aware moment of a local wall time, the engine's way: an ambiguous time is its first
    instance (fold=0) and a time in a spring-forward gap moves forward by the gap."""
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC).astimezone(zone)


def resolve(when: When, context: Context, *, default_time: time = DEFAULT_TIME) -> datetime | None:
    """The due moment `when` names: a time alone is today's if still ahead, else tomorrow's."""
    if when.instant is not None:
        return when.instant
    if when.empty:
        return None
    at = when.at or default_time
    if when.day is not None:
        due = place(when.day, at, context.zone)
        if when.weekly and due <= context.now:
            due = place(when.day + timedelta(days=7), at, context.zone)
        return due
    due = place(context.today, at, context.zone)
    if due <= context.now:
        due = place(context.today + timedelta(days=1), at, context.zone)
    return due
