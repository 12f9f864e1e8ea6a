"""Exact occurrences and next occurrences for the edge cases of issue 2, point 5."""

from datetime import UTC, datetime
from itertools import islice
from zoneinfo import ZoneInfo

import pytest

from app.domain.recurrence import Occurrence, RecurrenceRule, next_occurrence, occurrences

NEW_YORK = "America/New_York"
BERLIN = "Europe/Berlin"
DAILY = RecurrenceRule(freq="daily")
WEEKLY = RecurrenceRule(freq="weekly")
MONTHLY = RecurrenceRule(freq="monthly")


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, micro: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC)


def local(tz: str, *parts: int) -> datetime:
    return utc(*parts).replace(tzinfo=ZoneInfo(tz))


def dues(rule: RecurrenceRule, start: datetime, tz: str, n: int = 100) -> list[datetime]:
    return [occurrence.due for occurrence in islice(occurrences(rule, start, tz), n)]


def test_occurrence_zero_is_the_start_in_utc() -> None:
    first = next(occurrences(DAILY, local(BERLIN, 2026, 3, 2, 9), BERLIN))
    assert first == Occurrence(0, utc(2026, 3, 2, 8))
    assert first.due.tzinfo is UTC


@pytest.mark.parametrize(
    ("rule", "tz", "start", "expected"),
    [
        # New York, daily: EST (UTC-5), then EDT from 2026-03-08 02:00.
        (DAILY, NEW_YORK, (2026, 3, 7, 9), [(3, 7, 14), (3, 8, 13), (3, 9, 13)]),
        # EST again from 2026-11-01 02:00.
        (DAILY, NEW_YORK, (2026, 10, 31, 9), [(10, 31, 13), (11, 1, 14), (11, 2, 14)]),
        # Berlin, weekly: CET (UTC+1), then CEST from 2026-03-29 02:00.
        (WEEKLY, BERLIN, (2026, 3, 22, 9), [(3, 22, 8), (3, 29, 7), (4, 5, 7)]),
        # CET again from 2026-10-25 03:00.
        (WEEKLY, BERLIN, (2026, 10, 18, 9), [(10, 18, 7), (10, 25, 8), (11, 1, 8)]),
    ],
)
def test_nine_oclock_is_kept_across_dst_changes(
    rule: RecurrenceRule,
    tz: str,
    start: tuple[int, int, int, int],
    expected: list[tuple[int, int, int]],
) -> None:
    """``expected``: (month, day, hour) in UTC of each occurrence in 2026."""
    assert dues(rule, local(tz, *start), tz, 3) == [utc(2026, *due) for due in expected]


def test_weekly_on_chosen_weekdays_every_other_week() -> None:
    rule = RecurrenceRule(freq="weekly", interval=2, weekdays=(0, 3))
    # The start, a Wednesday, is occurrence 0 although the rule names Monday and Thursday.
    assert dues(rule, local(NEW_YORK, 2026, 3, 4, 9), NEW_YORK, 6) == [
        utc(2026, 3, 4, 14),
        utc(2026, 3, 5, 14),
        utc(2026, 3, 16, 13),
        utc(2026, 3, 19, 13),
        utc(2026, 3, 30, 13),
        utc(2026, 4, 2, 13),
    ]


def test_monthly_on_the_31st_takes_the_last_day_of_shorter_months_and_never_drifts() -> None:
    # Repeatedly adding a month would give Jan 31 -> Feb 28 -> Mar 28.
    month_ends = [(1, 31), (2, 28), (3, 31), (4, 30), (5, 31), (6, 30), (7, 31)]
    assert dues(MONTHLY, utc(2026, 1, 31, 9), "UTC", 7) == [
        utc(2026, month, day, 9) for month, day in month_ends
    ]


def test_monthly_on_the_30th_meets_a_leap_february() -> None:
    assert dues(MONTHLY, utc(2028, 1, 30, 9), "UTC", 3) == [
        utc(2028, 1, 30, 9),
        utc(2028, 2, 29, 9),
        utc(2028, 3, 30, 9),
    ]


def test_month_day_later_in_the_month_than_the_start() -> None:
    rule = RecurrenceRule(freq="monthly", interval=2, month_day=31)
    assert dues(rule, local(BERLIN, 2026, 1, 15, 18, 45), BERLIN, 4) == [
        utc(2026, 1, 15, 17, 45),
        utc(2026, 1, 31, 17, 45),
        utc(2026, 3, 31, 16, 45),  # CEST
        utc(2026, 5, 31, 16, 45),
    ]


def test_yearly_on_february_29_falls_on_the_28th_in_common_years() -> None:
    yearly = RecurrenceRule(freq="yearly")
    assert dues(yearly, utc(2024, 2, 29, 9), "UTC", 5) == [
        utc(2024, 2, 29, 9),
        utc(2025, 2, 28, 9),
        utc(2026, 2, 28, 9),
        utc(2027, 2, 28, 9),
        utc(2028, 2, 29, 9),
    ]
    every_four = RecurrenceRule(freq="yearly", interval=4)
    assert dues(every_four, utc(2024, 2, 29, 9), "UTC", 3) == [
        utc(2024, 2, 29, 9),
        utc(2028, 2, 29, 9),
        utc(2032, 2, 29, 9),
    ]


@pytest.mark.parametrize(
    ("tz", "start", "expected"),
    [
        # 02:30 does not exist on 2026-03-08 in New York: it becomes 03:30 EDT, and the next
        # day is back at 02:30.
        (
            NEW_YORK,
            local(NEW_YORK, 2026, 3, 7, 2, 30),
            [utc(2026, 3, 7, 7, 30), utc(2026, 3, 8, 7, 30), utc(2026, 3, 9, 6, 30)],
        ),
        (
            BERLIN,
            local(BERLIN, 2026, 3, 28, 2, 30),
            [utc(2026, 3, 28, 1, 30), utc(2026, 3, 29, 1, 30), utc(2026, 3, 30, 0, 30)],
        ),
    ],
)
def test_spring_forward_gap_moves_forward_by_the_gap(
    tz: str, start: datetime, expected: list[datetime]
) -> None:
    found = dues(DAILY, start, tz, 3)
    assert found == expected
    assert [due.astimezone(ZoneInfo(tz)).strftime("%H:%M") for due in found] == [
        "02:30",
        "03:30",
        "02:30",
    ]


@pytest.mark.parametrize(
    ("tz", "start", "ambiguous_first_instance"),
    [
        # 01:30 happens twice on 2026-11-01 in New York (EDT, then EST): the first is taken.
        (NEW_YORK, local(NEW_YORK, 2026, 10, 31, 1, 30), utc(2026, 11, 1, 5, 30)),
        (BERLIN, local(BERLIN, 2026, 10, 24, 2, 30), utc(2026, 10, 25, 0, 30)),
    ],
)
def test_fall_back_ambiguity_takes_the_first_instance(
    tz: str, start: datetime, ambiguous_first_instance: datetime
) -> None:
    assert dues(DAILY, start, tz, 2)[1] == ambiguous_first_instance


def test_series_starting_on_the_second_instance_keeps_it_as_occurrence_zero() -> None:
    second_instance = datetime(2026, 11, 1, 1, 30, fold=1, tzinfo=ZoneInfo(NEW_YORK))
    assert dues(DAILY, second_instance, NEW_YORK, 2) == [
        utc(2026, 11, 1, 6, 30),
        utc(2026, 11, 2, 6, 30),
    ]


def test_a_calendar_day_the_zone_skipped_has_no_occurrence() -> None:
    # Samoa moved across the date line: 2011-12-30 never happened in Pacific/Apia.
    found = list(
        islice(occurrences(DAILY, local("Pacific/Apia", 2011, 12, 28, 9), "Pacific/Apia"), 4)
    )
    assert [
        (o.index, o.due.astimezone(ZoneInfo("Pacific/Apia")).date().isoformat()) for o in found
    ] == [
        (0, "2011-12-28"),
        (1, "2011-12-29"),
        (3, "2011-12-31"),
        (4, "2012-01-01"),
    ]


def test_microseconds_of_the_start_are_kept() -> None:
    start = utc(2026, 3, 2, 9, 15, 30, 123456)
    assert dues(DAILY, start, "UTC", 2) == [start, utc(2026, 3, 3, 9, 15, 30, 123456)]


def test_count_is_the_total_including_the_start() -> None:
    rule = RecurrenceRule(freq="daily", count=3)
    assert dues(rule, utc(2026, 3, 2, 9), "UTC") == [
        utc(2026, 3, 2, 9),
        utc(2026, 3, 3, 9),
        utc(2026, 3, 4, 9),
    ]


def test_until_is_inclusive() -> None:
    rule = RecurrenceRule(freq="weekly", until=local(NEW_YORK, 2026, 3, 16, 9))
    assert dues(rule, local(NEW_YORK, 2026, 3, 2, 9), NEW_YORK) == [
        utc(2026, 3, 2, 14),
        utc(2026, 3, 9, 13),
        utc(2026, 3, 16, 13),
    ]


def test_series_ends_cleanly_at_the_end_of_the_calendar() -> None:
    yearly = RecurrenceRule(freq="yearly")
    assert dues(yearly, utc(9997, 6, 1, 9), "UTC") == [
        utc(9997, 6, 1, 9),
        utc(9998, 6, 1, 9),
        utc(9999, 6, 1, 9),
    ]
    # 9999-12-31 20:00 in New York would be 10000-01-01 01:00 UTC, past datetime.max.
    assert dues(DAILY, local(NEW_YORK, 9999, 12, 30, 20), NEW_YORK) == [utc(9999, 12, 31, 1)]
    end_of_time = datetime.max.replace(tzinfo=UTC)
    assert list(occurrences(DAILY, utc(2026, 3, 2, 9), NEW_YORK, after=end_of_time)) == []


def test_after_skips_to_the_first_later_occurrence_with_its_index() -> None:
    rule = RecurrenceRule(freq="weekly", interval=2, weekdays=(0, 3))
    later = occurrences(rule, local(NEW_YORK, 2026, 3, 4, 9), NEW_YORK, after=utc(2026, 4, 20))
    assert list(islice(later, 3)) == [
        Occurrence(8, utc(2026, 4, 27, 13)),
        Occurrence(9, utc(2026, 4, 30, 13)),
        Occurrence(10, utc(2026, 5, 11, 13)),
    ]
    # Ten years of a daily series later: index counted, not walked.
    start = local(BERLIN, 2026, 3, 2, 9)
    found = next(occurrences(DAILY, start, BERLIN, after=utc(2036, 3, 2, 12)))
    assert found == Occurrence(3654, utc(2036, 3, 3, 8))


def test_completion_anchor_projects_completion_on_the_due_date() -> None:
    rule = RecurrenceRule(freq="monthly", anchor="completion")
    # Each step is a month after the previous completion, so the day is not restored.
    assert dues(rule, utc(2026, 1, 31, 9), "UTC", 4) == [
        utc(2026, 1, 31, 9),
        utc(2026, 2, 28, 9),
        utc(2026, 3, 28, 9),
        utc(2026, 4, 28, 9),
    ]


def complete(
    rule: RecurrenceRule,
    start: datetime,
    tz: str,
    current: Occurrence,
    completed_at: datetime,
    now: datetime | None = None,
) -> Occurrence | None:
    return next_occurrence(
        rule,
        series_start=start,
        tz=tz,
        current=current,
        completed_at=completed_at,
        now=completed_at if now is None else now,
    )


START = local(NEW_YORK, 2026, 3, 1, 9)
FIRST = Occurrence(0, utc(2026, 3, 1, 14))


def test_completed_on_time_gives_the_next_occurrence() -> None:
    done = local(NEW_YORK, 2026, 3, 1, 10)
    assert complete(DAILY, START, NEW_YORK, FIRST, done) == Occurrence(1, utc(2026, 3, 2, 14))


def test_completed_early_still_gives_the_next_occurrence() -> None:
    done = local(NEW_YORK, 2026, 2, 27, 16)
    assert complete(DAILY, START, NEW_YORK, FIRST, done) == Occurrence(1, utc(2026, 3, 2, 14))


def test_overdue_completion_skips_to_the_first_future_occurrence() -> None:
    done = local(NEW_YORK, 2026, 3, 5, 12)
    # Mar 2-5 are missed and not created; Mar 6 is occurrence 5 of the series.
    assert complete(DAILY, START, NEW_YORK, FIRST, done) == Occurrence(5, utc(2026, 3, 6, 14))
    # `now` later than the completion (a delayed event) moves it further.
    assert complete(
        DAILY, START, NEW_YORK, FIRST, done, now=local(NEW_YORK, 2026, 3, 9, 9)
    ) == Occurrence(9, utc(2026, 3, 10, 13))


def test_overdue_monthly_lands_on_a_clamped_month_end() -> None:
    start = utc(2026, 1, 31, 9)
    found = complete(MONTHLY, start, "UTC", Occurrence(0, start), utc(2026, 4, 2))
    assert found == Occurrence(3, utc(2026, 4, 30, 9))


def test_overdue_weekly_on_weekdays_counts_every_skipped_occurrence() -> None:
    rule = RecurrenceRule(freq="weekly", weekdays=(0, 2, 4))
    start = local(BERLIN, 2026, 3, 2, 9)  # Monday
    found = complete(rule, start, BERLIN, Occurrence(0, utc(2026, 3, 2, 8)), utc(2026, 3, 18, 12))
    # Mon 2, Wed 4, Fri 6, Mon 9, Wed 11, Fri 13, Mon 16, Wed 18 (09:00, already past), Fri 20.
    assert found == Occurrence(8, utc(2026, 3, 20, 8))


def test_current_occurrence_moved_off_the_schedule_never_reuses_an_index() -> None:
    moved_earlier = Occurrence(5, utc(2026, 3, 1, 20))
    found = complete(DAILY, START, NEW_YORK, moved_earlier, utc(2026, 3, 1, 21))
    assert found == Occurrence(6, utc(2026, 3, 7, 14))


def test_completion_anchor_counts_from_the_local_completion_date() -> None:
    rule = RecurrenceRule(freq="daily", interval=3, anchor="completion")
    done = local(NEW_YORK, 2026, 3, 5, 17, 45)
    # Three days after Mar 5, at the series' 09:00, which is EDT by then.
    assert complete(rule, START, NEW_YORK, FIRST, done) == Occurrence(1, utc(2026, 3, 8, 13))
    # 23:30 on Mar 4 in New York is already Mar 5 in UTC; the local date counts.
    late_evening = local(NEW_YORK, 2026, 3, 4, 23, 30)
    assert complete(rule, START, NEW_YORK, FIRST, late_evening) == Occurrence(
        1, utc(2026, 3, 7, 14)
    )


def test_completion_anchor_ignores_now_and_clamps_month_ends() -> None:
    rule = RecurrenceRule(freq="monthly", anchor="completion")
    start = utc(2026, 1, 10, 9)
    done = utc(2026, 1, 31, 22)
    expected = Occurrence(1, utc(2026, 2, 28, 9))
    assert complete(rule, start, "UTC", Occurrence(0, start), done) == expected
    assert complete(rule, start, "UTC", Occurrence(0, start), done, now=utc(2026, 6, 1)) == expected


def test_same_inputs_give_the_same_occurrence() -> None:
    done = local(NEW_YORK, 2026, 3, 5, 12)
    assert complete(DAILY, START, NEW_YORK, FIRST, done) == complete(
        DAILY, START, NEW_YORK, FIRST, done
    )


@pytest.mark.parametrize("anchor", ["schedule", "completion"])
def test_count_exhaustion(anchor: str) -> None:
    rule = RecurrenceRule.parse({"freq": "daily", "count": 3, "anchor": anchor})
    third = Occurrence(2, utc(2026, 3, 3, 14))
    assert complete(rule, START, NEW_YORK, third, utc(2026, 3, 3, 15)) is None
    second = Occurrence(1, utc(2026, 3, 2, 14))
    assert complete(rule, START, NEW_YORK, second, utc(2026, 3, 2, 15)) == Occurrence(
        2, utc(2026, 3, 3, 14)
    )


def test_overdue_past_the_last_counted_occurrence_ends_the_series() -> None:
    rule = RecurrenceRule(freq="daily", count=3)
    assert complete(rule, START, NEW_YORK, FIRST, utc(2026, 3, 10)) is None


@pytest.mark.parametrize("anchor", ["schedule", "completion"])
def test_until_exhaustion(anchor: str) -> None:
    until = local(NEW_YORK, 2026, 3, 3, 9)
    rule = RecurrenceRule.parse({"freq": "daily", "until": until.isoformat(), "anchor": anchor})
    second = Occurrence(1, utc(2026, 3, 2, 14))
    # The occurrence exactly at `until` is still created; nothing after it.
    assert complete(rule, START, NEW_YORK, second, utc(2026, 3, 2, 15)) == Occurrence(
        2, utc(2026, 3, 3, 14)
    )
    third = Occurrence(2, utc(2026, 3, 3, 14))
    assert complete(rule, START, NEW_YORK, third, utc(2026, 3, 3, 15)) is None
