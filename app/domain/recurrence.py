"""Recurrence engine for recurring tasks: pure and deterministic, no I/O.

A series is a rule (`RecurrenceRule`), a start instant (the first task's due date, which is
always occurrence 0) and the IANA time zone the rule is evaluated in. Every occurrence is
computed from the series start in local wall-clock time, with dateutil's rrule working on naive
local datetimes, and only then turned into a UTC instant. That is what keeps 09:00 at 09:00
across daylight-saving changes and keeps month ends from drifting. docs/recurrence.md states
the rules in words.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from functools import lru_cache
from typing import Any, Final, Literal, TypeGuard, TypeVar
from zoneinfo import ZoneInfo, available_timezones

from dateutil.relativedelta import relativedelta
from dateutil.rrule import DAILY, MONTHLY, WEEKLY, YEARLY, rrule

Freq = Literal["daily", "weekly", "monthly", "yearly"]
Anchor = Literal["schedule", "completion"]

FREQS: Final[tuple[Freq, ...]] = ("daily", "weekly", "monthly", "yearly")
ANCHORS: Final[tuple[Anchor, ...]] = ("schedule", "completion")
FIELDS: Final = ("freq", "interval", "weekdays", "month_day", "until", "count", "anchor")
MAX_INTERVAL: Final = 1000
MAX_COUNT: Final = 100_000

_WEEKDAY_NAMES: Final = (
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
)
# Canonical output uses iCalendar codes rather than numbers: 0 means Sunday in cron and
# JavaScript but Monday here, and a stored "MO" cannot be misread.
_WEEKDAY_CODES: Final = tuple(name[:2].upper() for name in _WEEKDAY_NAMES)
_WEEKDAY_BY_NAME: Final = {
    spelling: number
    for number, name in enumerate(_WEEKDAY_NAMES)
    for spelling in (name, name[:3], name[:2])
}
_UNIT_NAMES: Final[dict[Freq, str]] = {
    "daily": "day",
    "weekly": "week",
    "monthly": "month",
    "yearly": "year",
}
# No calendar day has the same local time twice more than a day apart, so a wall time whose
# UTC instant lies further than this from a moment's own wall time is in a different period.
_ZONE_MARGIN: Final = timedelta(days=3)

_Choice = TypeVar("_Choice", bound=str)


class RecurrenceError(ValueError):
    """An invalid rule, time zone or series start.

    `field` names the offending input as the API spells it ("recurrence.interval",
    "timezone", "due_date"); str(err) is a message for a human.
    """

    field: str

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


# available_timezones() also lists keys that are no zone a user could mean: "localtime" links
# to the host's own zone (results would then depend on the machine), "posixrules" and
# "Factory" are tzdata internals.
_NOT_USER_ZONES: Final = frozenset({"localtime", "posixrules", "Factory"})


@lru_cache(maxsize=1)
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones() - _NOT_USER_ZONES)


@lru_cache(maxsize=1)
def _zone_names_folded() -> dict[str, str]:
    return {name.casefold(): name for name in _zone_names()}


def load_timezone(name: str) -> ZoneInfo:
    """The zone named `name`, which must be an exact IANA name such as "Europe/Berlin"."""
    if not isinstance(name, str) or name not in _zone_names():
        hint = ""
        if isinstance(name, str) and (spelled := _zone_names_folded().get(name.casefold())):
            hint = f"; did you mean {spelled!r}?"
        raise RecurrenceError(
            f"unknown time zone {_shown(name)}{hint} (use an IANA name such as 'Europe/Berlin')",
            field="timezone",
        )
    return ZoneInfo(name)


@dataclass(frozen=True, slots=True)
class RecurrenceRule:
    """How a task repeats. Constructing one validates it (RecurrenceError on bad values)."""

    freq: Freq
    interval: int = 1
    weekdays: tuple[int, ...] = ()  # 0 = Monday .. 6 = Sunday; weekly rules only
    month_day: int | None = None  # monthly and yearly rules; default: the start's day
    until: datetime | None = None  # inclusive, timezone-aware (stored in UTC)
    count: int | None = None  # occurrences in the whole series, the first included
    anchor: Anchor = "schedule"

    def __post_init__(self) -> None:
        _check_rule(self)
        # Canonical forms, so that equal rules compare equal and parse(to_dict()) round-trips.
        object.__setattr__(self, "weekdays", tuple(sorted(set(self.weekdays))))
        if self.until is not None:
            object.__setattr__(self, "until", _in_zone(self.until, UTC, "recurrence.until"))

    @classmethod
    def parse(cls, value: object) -> RecurrenceRule:
        """A rule from API input: a shorthand ("daily", "weekly", "monthly", "yearly") or a
        JSON object with the keys of `FIELDS`; a key whose value is null counts as absent."""
        if isinstance(value, str):
            shorthand = value.strip().lower()
            if shorthand not in FREQS:
                raise RecurrenceError(
                    f"unknown recurrence {_shown(value)}: use one of {', '.join(FREQS)} "
                    "or an object with 'freq'",
                    field="recurrence",
                )
            return cls(freq=_choose(shorthand, FREQS, "freq"))
        if not isinstance(value, Mapping):
            raise RecurrenceError(
                "recurrence must be a string such as 'daily' or an object with 'freq'",
                field="recurrence",
            )
        for key in value:
            if key not in FIELDS:
                raise RecurrenceError(
                    f"unknown recurrence field {_shown(key)}; allowed: {', '.join(FIELDS)}",
                    field=f"recurrence.{str(key)[:60]}",
                )
        given: dict[str, Any] = {key: item for key, item in value.items() if item is not None}
        if "freq" not in given:
            raise RecurrenceError("freq is required", field="recurrence.freq")
        return cls(
            freq=_choose(given["freq"], FREQS, "freq"),
            interval=given.get("interval", 1),
            weekdays=_parse_weekdays(given.get("weekdays", ())),
            month_day=given.get("month_day"),
            until=_parse_until(given.get("until")),
            count=given.get("count"),
            anchor=_choose(given.get("anchor", "schedule"), ANCHORS, "anchor"),
        )

    def to_dict(self) -> dict[str, Any]:
        """The canonical JSON form: every key present, absent values as null."""
        return {
            "freq": self.freq,
            "interval": self.interval,
            "weekdays": [_WEEKDAY_CODES[day] for day in self.weekdays],
            "month_day": self.month_day,
            "until": None if self.until is None else self.until.isoformat(),
            "count": self.count,
            "anchor": self.anchor,
        }

    def describe(self) -> str:
        """The rule in words, e.g. "every 2 weeks on Mon, Thu, 10 times"."""
        unit = _UNIT_NAMES[self.freq]
        every = f"every {unit}" if self.interval == 1 else f"every {self.interval} {unit}s"
        if self.anchor == "completion":
            text = f"{every} after completion"
        else:
            text = self.freq if self.interval == 1 else every
            if self.weekdays:
                text += " on " + ", ".join(_WEEKDAY_NAMES[day][:3].title() for day in self.weekdays)
            if self.month_day is not None:
                text += f" on day {self.month_day}"
        if self.until is not None:
            text += f" until {_describe_instant(self.until)}"
        if self.count is not None:
            text += ", once" if self.count == 1 else f", {self.count} times"
        return text


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One occurrence of a series: `index` 0 is the series start; `due` is aware, in UTC."""

    index: int
    due: datetime


def check_series(rule: RecurrenceRule, series_start: datetime, tz: str) -> None:
    """Validate a rule against the series it will drive (for the API, before anything is
    written): the zone exists, the start is timezone-aware and `until` is not before it."""
    series = _Series.build(rule, series_start, tz)
    if rule.until is not None and rule.until < series.start:
        raise RecurrenceError(
            f"until ({rule.until.isoformat()}) is before the due date ({series.start.isoformat()})",
            field="recurrence.until",
        )


def occurrences(
    rule: RecurrenceRule,
    series_start: datetime,
    tz: str,
    *,
    after: datetime | None = None,
) -> Iterator[Occurrence]:
    """Every occurrence of the series in order, from the start (index 0), until `until` or
    `count` ends it; with `after`, only those due strictly later, found without walking the
    periods before it.

    For a completion-anchored rule the future depends on when each occurrence is completed;
    this then yields the projection in which every occurrence is completed exactly when due.
    """
    series = _Series.build(rule, series_start, tz)
    if after is not None:
        _require_aware(after, "after")
    if rule.anchor == "completion":
        stream = _projection(series)
    else:
        period = 0 if after is None else series.period_near(after)
        if period is None:
            return iter(())
        stream = series.scheduled(period)
    if after is None:
        return stream
    return (occurrence for occurrence in stream if occurrence.due > after)


def occurrences_from(
    rule: RecurrenceRule, series_start: datetime, tz: str, index: int
) -> Iterator[Occurrence]:
    """The schedule from occurrence `index` on, with the same indexes as :func:`occurrences`,
    found by jumping to the period holding `index` instead of walking every period before it
    (the 100,000th occurrence of a daily series costs what the first does).

    Only a schedule-anchored series has a schedule; a completion-anchored one exists as the
    occurrences created so far.
    """
    if rule.anchor == "completion":
        raise RecurrenceError("a completion-anchored series has no fixed schedule", field="anchor")
    series = _Series.build(rule, series_start, tz)
    stream = series.scheduled(series.period_of_index(max(index, 0)))
    return (occurrence for occurrence in stream if occurrence.index >= index)


def next_occurrence(
    rule: RecurrenceRule,
    *,
    series_start: datetime,
    tz: str,
    current: Occurrence,
    completed_at: datetime,
    now: datetime,
) -> Occurrence | None:
    """The occurrence to create once `current` is completed, or None when the series is over.

    Schedule anchor: the first occurrence of the series after `current` that is due later than
    both `current.due` and `now`; missed ones are skipped, never created as a backlog.
    Completion anchor: `interval` days/weeks/months/years after the local date of
    `completed_at`, at the series' local time of day; `now` plays no part.

    The result depends on the arguments only, so a redelivered completion event recomputes the
    same occurrence; the caller must therefore pass a `now` that is stable across redeliveries
    (the completion time carried by the event), not the wall clock.
    """
    series = _Series.build(rule, series_start, tz)
    _require_aware(current.due, "current.due")
    _require_aware(completed_at, "completed_at")
    _require_aware(now, "now")
    if rule.anchor == "completion":
        return _after_completion(series, current, completed_at)
    threshold = max(current.due, now)
    period = series.period_near(threshold)
    if period is None:
        return None
    # A current occurrence off the schedule (its due date was edited) must not make the
    # result reuse an index that is already taken.
    period = max(period, series.period_of_index(current.index + 1))
    return next(
        (
            occurrence
            for occurrence in series.scheduled(period)
            if occurrence.index > current.index and occurrence.due > threshold
        ),
        None,
    )


@dataclass(frozen=True, slots=True)
class _Series:
    """A rule bound to its start and zone, with what is needed to jump to any period.

    A period is the stretch one step of the rule covers: a day, a Monday-to-Sunday week, a
    calendar month or year (every `interval`-th one counts). Each period after the first holds
    exactly `per_period` occurrences; the first holds the start plus `after_start` more.
    """

    rule: RecurrenceRule
    zone: ZoneInfo
    start: datetime  # UTC
    local: datetime  # the start's naive local wall time, microseconds included
    first_unit: int  # number of the day/week/month/year holding the start
    after_start: int
    per_period: int

    @classmethod
    def build(cls, rule: RecurrenceRule, series_start: datetime, tz: str) -> _Series:
        zone = load_timezone(tz)
        start = _in_zone(_require_aware(series_start, "due_date"), UTC, "due_date")
        local = _in_zone(start, zone, "due_date").replace(tzinfo=None)
        first_unit = _unit(rule.freq, local.date())
        boundary = _period_begin(rule, local, first_unit + rule.interval) or datetime.max
        in_first_period = itertools.takewhile(
            lambda wall: wall < boundary, _matches_after_start(rule, local, local)
        )
        return cls(
            rule=rule,
            zone=zone,
            start=start,
            local=local,
            first_unit=first_unit,
            after_start=sum(1 for _ in in_first_period),
            per_period=len(rule.weekdays) or 1,
        )

    def period_near(self, moment: datetime) -> int | None:
        """A period no later than the one holding the first occurrence after `moment`; None
        when `moment` is so close to datetime.max that nothing can follow it."""
        if moment - self.start <= _ZONE_MARGIN:
            return 0
        try:
            wall = (moment - _ZONE_MARGIN).astimezone(self.zone).replace(tzinfo=None)
        except OverflowError:
            return None
        return max(0, (_unit(self.rule.freq, wall.date()) - self.first_unit) // self.rule.interval)

    def period_of_index(self, index: int) -> int:
        if index <= self.after_start:
            return 0
        return 1 + (index - 1 - self.after_start) // self.per_period

    def scheduled(self, period: int) -> Iterator[Occurrence]:
        """The occurrences from `period` on (the start included when `period` is 0)."""
        if period == 0:
            yield Occurrence(0, self.start)
            dtstart: datetime | None = self.local
            first_index = 1
        else:
            dtstart = _period_begin(
                self.rule, self.local, self.first_unit + period * self.rule.interval
            )
            first_index = 1 + self.after_start + (period - 1) * self.per_period
        if dtstart is None:
            return
        count, until = self.rule.count, self.rule.until
        walls = _matches_after_start(self.rule, self.local, dtstart)
        for index, wall in enumerate(walls, first_index):
            if count is not None and index >= count:
                return
            placed = _place(wall, self.zone)
            if placed is None:
                return
            due, shift = placed
            # A wall time more than a day inside a gap lies on a calendar day the zone skipped
            # (Samoa dropped 2011-12-30); moving it forward would land on the next day's
            # occurrence, so the day's occurrence (and its index) is left out instead.
            if shift >= timedelta(days=1):
                continue
            if until is not None and due > until:
                return
            yield Occurrence(index, due)


def _matches_after_start(
    rule: RecurrenceRule, local: datetime, dtstart: datetime
) -> Iterator[datetime]:
    """Naive local wall times of the rule's matches from `dtstart` on, excluding the start
    itself (rrule yields it whenever it matches the rule; it is occurrence 0 regardless)."""
    origin = local.replace(microsecond=0)  # rrule drops microseconds; they are put back below
    for wall in _rrule(rule, local, dtstart):
        if wall > origin:
            yield wall.replace(microsecond=local.microsecond)


def _rrule(rule: RecurrenceRule, local: datetime, dtstart: datetime) -> rrule:
    if rule.freq == "daily":
        return rrule(DAILY, dtstart=dtstart, interval=rule.interval)
    if rule.freq == "weekly":
        # wkst is explicit: rrule's default is calendar.firstweekday(), process-global state,
        # and it decides which weeks an interval > 1 counts.
        weekdays = rule.weekdays or (local.weekday(),)
        return rrule(WEEKLY, dtstart=dtstart, interval=rule.interval, wkst=0, byweekday=weekdays)
    # rrule skips months that lack the wanted day. Listing every day from the 28th (which all
    # months have) up to the wanted one and keeping the last that exists (bysetpos=-1) puts the
    # 31st on the last day of shorter months, exactly one occurrence per period.
    wanted = rule.month_day or local.day
    month_days = (wanted,) if wanted <= 28 else tuple(range(28, wanted + 1))
    set_pos = None if wanted <= 28 else -1
    if rule.freq == "monthly":
        return rrule(
            MONTHLY,
            dtstart=dtstart,
            interval=rule.interval,
            bymonthday=month_days,
            bysetpos=set_pos,
        )
    return rrule(
        YEARLY,
        dtstart=dtstart,
        interval=rule.interval,
        bymonth=local.month,
        bymonthday=month_days,
        bysetpos=set_pos,
    )


def _unit(freq: Freq, day: date) -> int:
    """The number of the day, Monday-based week, month or year holding `day`."""
    if freq == "daily":
        return day.toordinal()
    if freq == "weekly":
        return (day.toordinal() - 1) // 7  # ordinal 1, 0001-01-01, is a Monday
    if freq == "monthly":
        return day.year * 12 + day.month - 1
    return day.year


def _period_begin(rule: RecurrenceRule, local: datetime, unit: int) -> datetime | None:
    """The first day of `unit` at the series' time of day; None past datetime's range."""
    try:
        if rule.freq == "daily":
            first_day = date.fromordinal(unit)
        elif rule.freq == "weekly":
            first_day = date.fromordinal(unit * 7 + 1)
        elif rule.freq == "monthly":
            first_day = date(unit // 12, unit % 12 + 1, 1)
        else:
            first_day = date(unit, 1, 1)
    except (ValueError, OverflowError):
        return None
    return datetime.combine(first_day, local.time())


def _place(wall: datetime, zone: ZoneInfo) -> tuple[datetime, timedelta] | None:
    """The UTC instant of a local wall time, and how far its actual wall time lies past the
    requested one (non-zero only inside a spring-forward gap); None past datetime's range.

    fold=0 takes the first of an ambiguous fall-back pair, and inside a gap it applies the
    offset from before the gap, which lands as far past the gap as the time was into it
    (02:30 becomes 03:30).
    """
    try:
        due = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
        shift = due.astimezone(zone).replace(tzinfo=None) - wall
    except OverflowError:
        return None
    return due, shift


def _after_completion(
    series: _Series, current: Occurrence, completed_at: datetime
) -> Occurrence | None:
    rule = series.rule
    index = current.index + 1
    if rule.count is not None and index >= rule.count:
        return None
    try:
        day = completed_at.astimezone(series.zone).date() + _step(rule)
    except (ValueError, OverflowError):
        return None
    placed = _place(datetime.combine(day, series.local.time()), series.zone)
    if placed is None:
        return None
    due = placed[0]
    if rule.until is not None and due > rule.until:
        return None
    return Occurrence(index, due)


def _projection(series: _Series) -> Iterator[Occurrence]:
    occurrence: Occurrence | None = Occurrence(0, series.start)
    while occurrence is not None:
        yield occurrence
        occurrence = _after_completion(series, occurrence, occurrence.due)


def _step(rule: RecurrenceRule) -> relativedelta:
    # relativedelta clamps to the month's last day: completed Jan 31, monthly -> Feb 28/29.
    if rule.freq == "daily":
        return relativedelta(days=rule.interval)
    if rule.freq == "weekly":
        return relativedelta(weeks=rule.interval)
    if rule.freq == "monthly":
        return relativedelta(months=rule.interval)
    return relativedelta(years=rule.interval)


def _require_aware(moment: datetime, field: str) -> datetime:
    if not isinstance(moment, datetime) or moment.utcoffset() is None:
        raise RecurrenceError(f"{field} must be a timezone-aware date-time", field=field)
    return moment


def _in_zone(moment: datetime, zone: ZoneInfo | timezone, field: str) -> datetime:
    """`moment` in `zone`; RecurrenceError for instants whose wall time there would fall
    outside datetime's years 1..9999."""
    try:
        return moment.astimezone(zone)
    except OverflowError:
        raise RecurrenceError(
            f"{field} {moment.isoformat()} is outside the supported range of dates", field=field
        ) from None


def _check_rule(rule: RecurrenceRule) -> None:
    if rule.freq not in FREQS:
        raise RecurrenceError(
            f"freq must be one of {', '.join(FREQS)}, not {_shown(rule.freq)}",
            field="recurrence.freq",
        )
    _check_int(rule.interval, "interval", 1, MAX_INTERVAL)
    _check_weekdays(rule)
    if rule.month_day is not None:
        _check_int(rule.month_day, "month_day", 1, 31)
        if rule.freq not in ("monthly", "yearly"):
            raise RecurrenceError(
                "month_day applies only to monthly and yearly rules", field="recurrence.month_day"
            )
    if rule.until is not None and (
        not isinstance(rule.until, datetime) or rule.until.utcoffset() is None
    ):
        raise RecurrenceError(
            "until must be a date-time with a UTC offset, e.g. '2027-01-31T23:59:59Z'",
            field="recurrence.until",
        )
    if rule.count is not None:
        _check_int(rule.count, "count", 1, MAX_COUNT)
        if rule.until is not None:
            raise RecurrenceError("give either until or count, not both", field="recurrence.count")
    if rule.anchor not in ANCHORS:
        raise RecurrenceError(
            f"anchor must be one of {', '.join(ANCHORS)}, not {_shown(rule.anchor)}",
            field="recurrence.anchor",
        )
    if rule.anchor == "completion":
        # A completion-anchored occurrence follows the completion date, not a calendar grid.
        for name, value in (("weekdays", rule.weekdays), ("month_day", rule.month_day)):
            if value:
                raise RecurrenceError(
                    f"{name} cannot be combined with anchor 'completion'",
                    field=f"recurrence.{name}",
                )


def _check_weekdays(rule: RecurrenceRule) -> None:
    field = "recurrence.weekdays"
    if not isinstance(rule.weekdays, tuple) or not all(
        _is_int(day) and 0 <= day <= 6 for day in rule.weekdays
    ):
        raise RecurrenceError(
            "weekdays must be a list of 0 (Monday) to 6 (Sunday) or names such as 'MO', 'tue'",
            field=field,
        )
    if rule.weekdays and rule.freq != "weekly":
        raise RecurrenceError("weekdays apply only to weekly rules", field=field)


def _check_int(value: object, name: str, low: int, high: int) -> None:
    if not _is_int(value) or not low <= value <= high:
        raise RecurrenceError(
            f"{name} must be an integer from {low} to {high}, not {_shown(value)}",
            field=f"recurrence.{name}",
        )


def _is_int(value: object) -> TypeGuard[int]:
    # bool is an int subclass, but `true` is not a number in JSON.
    return isinstance(value, int) and not isinstance(value, bool)


def _choose(value: object, choices: tuple[_Choice, ...], name: str) -> _Choice:
    if isinstance(value, str):
        for choice in choices:
            if value.strip().lower() == choice:
                return choice
    raise RecurrenceError(
        f"{name} must be one of {', '.join(choices)}, not {_shown(value)}",
        field=f"recurrence.{name}",
    )


def _parse_weekdays(value: object) -> tuple[int, ...]:
    if not isinstance(value, list | tuple):
        raise RecurrenceError(
            "weekdays must be a list such as ['MO', 'TH'] or [0, 3]", field="recurrence.weekdays"
        )
    days: list[int] = []
    for item in value:
        if _is_int(item):
            days.append(item)  # range checked with the rule
        elif isinstance(item, str) and item.strip().casefold() in _WEEKDAY_BY_NAME:
            days.append(_WEEKDAY_BY_NAME[item.strip().casefold()])
        else:
            raise RecurrenceError(
                f"unknown weekday {_shown(item)}: use 0 (Monday) to 6 (Sunday) or MO, TU, WE, "
                "TH, FR, SA, SU",
                field="recurrence.weekdays",
            )
    return tuple(days)


def _parse_until(value: object) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.strip())
        except ValueError:
            pass
    raise RecurrenceError(
        f"until must be an ISO 8601 date-time with a UTC offset, e.g. '2027-01-31T23:59:59Z', "
        f"not {_shown(value)}",
        field="recurrence.until",
    )


def _shown(value: object) -> str:
    """`value` quoted for an error message, cut short: it is client input and is echoed back."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _describe_instant(moment: datetime) -> str:
    if moment.time() == time(0):
        return moment.date().isoformat()
    return f"{moment:%Y-%m-%d %H:%M} UTC"
