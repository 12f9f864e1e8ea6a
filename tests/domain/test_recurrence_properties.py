"""Property-based tests of the recurrence engine (hypothesis, bounded to run in seconds)."""

import calendar
import json
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from itertools import islice, pairwise, takewhile
from typing import Final, Literal
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta
from dateutil.rrule import DAILY, MO, MONTHLY, WEEKLY, YEARLY, rrule
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.recurrence import (
    ANCHORS,
    FREQS,
    MAX_INTERVAL,
    Anchor,
    Freq,
    Occurrence,
    RecurrenceRule,
    next_occurrence,
    occurrences,
    occurrences_from,
)

# Zones with DST in both hemispheres, half-hour and 45-minute offsets, a 30-minute DST shift
# (Lord Howe) and DST transitions at midnight (Santiago); none skips a whole calendar day.
ZONES: Final = (
    "UTC",
    "America/New_York",
    "Europe/Berlin",
    "Europe/London",
    "America/Santiago",
    "America/St_Johns",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "Asia/Kolkata",
    "Asia/Tehran",
)
RRULE_FREQ: Final[dict[Freq, Literal[0, 1, 2, 3]]] = {
    "daily": DAILY,
    "weekly": WEEKLY,
    "monthly": MONTHLY,
    "yearly": YEARLY,
}
STEP: Final = {"daily": "days", "weekly": "weeks", "monthly": "months", "yearly": "years"}
TAKE: Final = 30

bounded = settings(max_examples=60, deadline=None)
Series = tuple[RecurrenceRule, datetime, str]


@st.composite
def series(
    draw: st.DrawFn,
    *,
    zones: tuple[str, ...] = ZONES,
    anchors: tuple[Anchor, ...] = ANCHORS,
    clamping: bool = True,
    limits: bool = True,
) -> Series:
    """A random rule with a start and zone. clamping=False keeps every local day-of-month at
    28 or below, where plain rrule needs no clamping; limits=False draws neither until nor
    count."""
    tz = draw(st.sampled_from(zones))
    start = draw(st.datetimes(datetime(1995, 1, 1), datetime(2045, 12, 31), timezones=st.just(UTC)))
    if not clamping and start.astimezone(ZoneInfo(tz)).day > 28:
        start -= timedelta(days=3)
    anchor = draw(st.sampled_from(anchors))
    freq = draw(st.sampled_from(FREQS))
    weekdays: tuple[int, ...] = ()
    month_day = None
    if anchor == "schedule" and freq == "weekly":
        weekdays = tuple(draw(st.lists(st.integers(0, 6), max_size=7, unique=True)))
    if anchor == "schedule" and freq in ("monthly", "yearly"):
        month_day = draw(st.none() | st.integers(1, 31 if clamping else 28))
    limit = draw(st.sampled_from(("none", "count", "until") if limits else ("none",)))
    return (
        RecurrenceRule(
            freq=freq,
            interval=draw(st.integers(1, 12) | st.sampled_from((52, 100, 1000))),
            weekdays=weekdays,
            month_day=month_day,
            count=draw(st.integers(1, 60)) if limit == "count" else None,
            until=start + draw(st.timedeltas(timedelta(days=-2), timedelta(days=3000)))
            if limit == "until"
            else None,
            anchor=anchor,
        ),
        start,
        tz,
    )


def plain_rrule(rule: RecurrenceRule, dtstart: datetime) -> rrule:
    """dateutil's own reading of the rule, with its defaults for what the rule leaves out."""
    yearly_day = rule.freq == "yearly" and rule.month_day is not None
    return rrule(
        RRULE_FREQ[rule.freq],
        dtstart=dtstart,
        interval=rule.interval,
        wkst=MO,
        byweekday=rule.weekdays or None,
        bymonthday=rule.month_day,
        bymonth=dtstart.month if yearly_day else None,
    )


def series_by_rrule(rule: RecurrenceRule, dtstart: datetime) -> list[datetime]:
    """The start followed by rrule's matches: rrule itself includes the start only when it
    matches the rule, the engine always (RFC 5545: DTSTART is the first occurrence)."""
    matches = list(islice(plain_rrule(rule, dtstart), TAKE))
    if matches and matches[0] == dtstart:
        return matches
    return [dtstart, *matches[: TAKE - 1]]


def wall_offset(wall: datetime, zone: ZoneInfo, *, fold: int) -> timedelta:
    offset = wall.replace(tzinfo=zone, fold=fold).utcoffset()
    assert offset is not None
    return offset


def take(rule: RecurrenceRule, start: datetime, tz: str, n: int = TAKE) -> list[Occurrence]:
    return list(islice(occurrences(rule, start, tz), n))


@bounded
@given(series())
def test_strictly_increasing_never_skips_or_repeats(drawn: Series) -> None:
    rule, start, tz = drawn
    found = take(rule, start, tz)
    assert found[0] == Occurrence(0, start)
    assert [o.index for o in found] == list(range(len(found)))
    assert all(earlier.due < later.due for earlier, later in pairwise(found))
    assert all(o.due.tzinfo is UTC for o in found)
    if rule.count is not None:
        assert len(found) <= rule.count  # exactly `count` is checked against the uncut series
    if rule.until is not None:
        assert all(o.due <= rule.until for o in found[1:])


@bounded
@given(series(zones=("UTC",), anchors=("schedule",), clamping=False, limits=False))
def test_agrees_with_rrule_where_no_clamping_applies(drawn: Series) -> None:
    rule, start, tz = drawn
    start = start.replace(microsecond=0)  # rrule drops microseconds; the engine keeps them
    assert [o.due for o in take(rule, start, tz)] == series_by_rrule(rule, start)


@bounded
@given(series(anchors=("schedule",), clamping=False, limits=False))
def test_local_wall_times_follow_rrule_in_every_zone(drawn: Series) -> None:
    rule, start, tz = drawn
    zone = ZoneInfo(tz)
    start = start.replace(microsecond=0)
    walls = series_by_rrule(rule, start.astimezone(zone).replace(tzinfo=None))
    for occurrence, wall in zip(take(rule, start, tz)[1:], walls[1:], strict=True):
        actual = occurrence.due.astimezone(zone)
        # Inside a spring-forward gap fold=0 and fold=1 give the offsets before and after it.
        gap = wall_offset(wall, zone, fold=1) - wall_offset(wall, zone, fold=0)
        exists = (
            wall.replace(tzinfo=zone).astimezone(UTC).astimezone(zone).replace(tzinfo=None) == wall
        )
        assert actual.replace(tzinfo=None) == (wall if exists else wall + gap)
        assert actual.fold == 0  # first instance of an ambiguous time


@bounded
@given(
    st.sampled_from(("monthly", "yearly")),
    st.integers(1, 12),
    st.integers(1995, 2045),
    st.integers(1, 12),
    st.integers(29, 31),
    st.times(),
    st.sampled_from(ZONES),
    st.booleans(),
)
def test_month_end_clamps_once_per_period_and_never_drifts(
    freq: Literal["monthly", "yearly"],
    interval: int,
    year: int,
    month: int,
    day: int,
    at: time,
    tz: str,
    explicit_day: bool,
) -> None:
    zone = ZoneInfo(tz)
    start_day = min(day, calendar.monthrange(year, month)[1])
    start = datetime.combine(date(year, month, start_day), at, zone)
    rule = RecurrenceRule(freq=freq, interval=interval, month_day=day if explicit_day else None)
    if not explicit_day:
        day = start_day
    step = interval if freq == "monthly" else 12 * interval
    for k, occurrence in enumerate(take(rule, start, tz)):
        months = year * 12 + month - 1 + k * step
        expected_year, expected_month = divmod(months, 12)
        last = calendar.monthrange(expected_year, expected_month + 1)[1]
        expected = date(expected_year, expected_month + 1, min(day, last))
        assert occurrence.due.astimezone(zone).date() == expected


@settings(bounded, max_examples=40)
@given(series(), st.timedeltas(timedelta(days=-10), timedelta(days=2500)))
def test_after_equals_filtering_the_whole_series(drawn: Series, offset: timedelta) -> None:
    rule, start, tz = drawn
    after = start + offset
    later = (o for o in occurrences(rule, start, tz) if o.due > after)
    assert list(islice(occurrences(rule, start, tz, after=after), 10)) == list(islice(later, 10))


@settings(bounded, max_examples=40)
@given(series(anchors=("schedule",)), st.integers(0, 400))
def test_from_an_index_equals_filtering_the_whole_series(drawn: Series, index: int) -> None:
    # The occurrences endpoint lists a series from a task's own position: jumping to the
    # period holding `index` must give exactly the indexes and instants walking from 0 gives.
    rule, start, tz = drawn
    walked = [o for o in islice(occurrences(rule, start, tz), index + TAKE) if o.index >= index]
    assert list(islice(occurrences_from(rule, start, tz, index), len(walked))) == walked
    assert len(list(islice(occurrences_from(rule, start, tz, index), TAKE))) == len(walked[:TAKE])


@bounded
@given(
    series(anchors=("schedule",)),
    st.integers(0, 20),
    st.timedeltas(timedelta(days=-3), timedelta(days=90)),
    st.timedeltas(timedelta(0), timedelta(days=10)),
)
def test_next_occurrence_is_the_first_later_occurrence_in_the_future(
    drawn: Series, k: int, late: timedelta, lag: timedelta
) -> None:
    rule, start, tz = drawn
    found = take(rule, start, tz, k + 1)
    current = found[min(k, len(found) - 1)]
    completed_at = current.due + late
    now = completed_at + lag
    threshold = max(current.due, now)
    expected = next(
        (o for o in occurrences(rule, start, tz) if o.index > current.index and o.due > threshold),
        None,
    )
    found_next = next_occurrence(
        rule, series_start=start, tz=tz, current=current, completed_at=completed_at, now=now
    )
    assert found_next == expected


@bounded
@given(
    series(anchors=("completion",)),
    st.integers(0, 10),
    st.timedeltas(timedelta(days=-2), timedelta(days=60)),
)
def test_completion_anchor_steps_from_the_local_completion_date(
    drawn: Series, k: int, late: timedelta
) -> None:
    rule, start, tz = drawn
    zone = ZoneInfo(tz)
    found = take(rule, start, tz, k + 1)
    current = found[min(k, len(found) - 1)]
    completed_at = current.due + late
    unlimited = replace(rule, count=None, until=None)
    free = next_occurrence(
        unlimited, series_start=start, tz=tz, current=current, completed_at=completed_at, now=start
    )
    if free is None:  # only leaving the calendar (year 9999) ends an unlimited series
        assert completed_at.year > 9999 - MAX_INTERVAL
        return
    assert free.index == current.index + 1
    local_due = free.due.astimezone(zone)
    step = relativedelta(**{STEP[rule.freq]: rule.interval})  # type: ignore[arg-type]
    assert local_due.date() == completed_at.astimezone(zone).date() + step
    start_time = start.astimezone(zone).time()
    # Same local time of day, unless that time fell into a gap and moved forward.
    assert local_due.time() == start_time or free.due == (
        datetime.combine(local_due.date(), start_time, zone).astimezone(UTC)
    )
    within = (rule.count is None or free.index < rule.count) and (
        rule.until is None or free.due <= rule.until
    )
    limited = next_occurrence(
        rule, series_start=start, tz=tz, current=current, completed_at=completed_at, now=start
    )
    assert limited == (free if within else None)


@bounded
@given(series(anchors=("completion",)))
def test_completion_projection_is_completion_on_each_due_date(drawn: Series) -> None:
    rule, start, tz = drawn
    found = take(rule, start, tz, 12)
    for current, following in pairwise(found):
        assert following == next_occurrence(
            rule, series_start=start, tz=tz, current=current, completed_at=current.due, now=start
        )


@bounded
@given(
    series(limits=False),
    st.integers(1, TAKE),
    st.integers(0, 45),
    st.timedeltas(timedelta(hours=-12), timedelta(hours=12)),
)
def test_count_and_until_cut_the_unlimited_series(
    drawn: Series, count: int, j: int, around: timedelta
) -> None:
    rule, start, tz = drawn
    unlimited = take(rule, start, tz, 60)
    assert take(replace(rule, count=count), start, tz, 60) == unlimited[:count]
    until = unlimited[min(j, len(unlimited) - 1)].due + around
    cut = [unlimited[0], *takewhile(lambda o: o.due <= until, unlimited[1:])]
    assert take(replace(rule, until=until), start, tz, 60) == cut


@bounded
@given(series())
def test_to_dict_round_trips_through_json(drawn: Series) -> None:
    rule = drawn[0]
    assert RecurrenceRule.parse(json.loads(json.dumps(rule.to_dict()))) == rule
    assert rule.describe()
