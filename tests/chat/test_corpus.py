"""The phrasing corpus: each message, with a fixed zone and "now", must give exactly this intent.

Due dates are compared as ISO strings with their offset, so the wall time *and* the zone's
offset that day are both pinned (DST days: Europe/Berlin 2026-03-29, America/New_York
2026-11-01, America/Los_Angeles 2028-03-12; month ends and Feb 29). Rules are compared in the
recurrence engine's canonical form; a question's period too, as the answer names it.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from app.chat.intents import (
    Change,
    Clarify,
    Complete,
    Create,
    Delete,
    Intent,
    Query,
    Snooze,
    Undo,
)
from app.chat.parser import parse
from app.domain.recurrence import RecurrenceRule

# Fixed "now" per context: (zone, local wall time).
BERLIN = ("Europe/Berlin", datetime(2026, 3, 27, 15, 0))  # Friday; DST starts Sun 29 Mar
NEW_YORK = ("America/New_York", datetime(2026, 10, 31, 10, 0))  # Saturday; DST ends Sun 1 Nov
LONDON = ("Europe/London", datetime(2026, 1, 31, 20, 0))  # Saturday, a month's last day
LOS_ANGELES = ("America/Los_Angeles", datetime(2028, 2, 28, 12, 0))  # Monday, leap year


def task(
    title: str,
    due: str | None = None,
    rule: dict[str, Any] | None = None,
    tags: tuple[str, ...] = (),
    priority: str | None = None,
    reminders: tuple[str, ...] = (),
) -> dict[str, Any]:
    return {
        "title": title,
        "due": due,
        "rule": None if rule is None else RecurrenceRule.parse(rule).to_dict(),
        "tags": tags,
        "priority": priority,
        "reminders": reminders,
    }


def query(
    kind: str,
    start: str | None = None,
    end: str | None = None,
    tag: str | None = None,
    period: str | None = None,
) -> dict[str, Any]:
    return {"query": kind, "start": start, "end": end, "tag": tag, "period": period}


def due(period: str, start: str, end: str, tag: str | None = None) -> dict[str, Any]:
    """A question for the open tasks due in `period`: from `start` until (not including) `end`."""
    return query("due", start, end, tag, period)


def completed(period: str, start: str, end: str) -> dict[str, Any]:
    """A question for the tasks completed in `period`: from `start` until (not including) `end`."""
    return query("completed", start, end, period=period)


def clarify(fragment: str) -> dict[str, str]:
    return {"clarify": fragment}


def _iso_duration(span: timedelta) -> str:
    seconds = int(span.total_seconds())
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    text = "P" + (f"{days}D" if days else "")
    clock = (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
    return text + ("T" + clock if clock else "") if (days or clock) else "PT0S"


def summary(intent: Intent) -> Any:
    """The intent as plain values; aware datetimes as ISO text, so the offset counts too."""
    match intent:
        case Create(draft):
            return {
                "title": draft.title,
                "due": None if draft.due is None else draft.due.isoformat(),
                "rule": None if draft.rule is None else draft.rule.to_dict(),
                "tags": draft.tags,
                "priority": draft.priority,
                "reminders": tuple(_iso_duration(r) for r in draft.reminders),
            }
        case Query(kind, start, end, tag, period):
            return query(
                kind,
                None if start is None else start.isoformat(),
                None if end is None else end.isoformat(),
                tag,
                period,
            )
        case Clarify(question):
            return {"clarify": question}
        case _:
            return intent


WEEKDAYS = ["MO", "TU", "WE", "TH", "FR"]

# Each zone's messages, and the intent each must give there at that zone's "now".
IN_BERLIN: list[tuple[str, Any]] = [
    # --- the examples (Berlin, Friday 2026-03-27 15:00 CET) ---
    (
        "pay rent every month on the 1st at 9am #money !high, remind me a day before",
        task(
            "pay rent",
            "2026-04-01T09:00:00+02:00",
            {"freq": "monthly", "month_day": 1},
            ("money",),
            "high",
            ("P1D",),
        ),
    ),
    (
        "standup every weekday at 9:30",
        task("standup", "2026-03-30T09:30:00+02:00", {"freq": "weekly", "weekdays": WEEKDAYS}),
    ),
    ("call mum tomorrow evening", task("call mum", "2026-03-28T18:00:00+01:00")),
    (
        "what's due this week?",
        due("this week", "2026-03-23T00:00:00+01:00", "2026-03-30T00:00:00+02:00"),
    ),
    ("show overdue work tasks", query("overdue", tag="work")),
    (
        "what did I finish yesterday?",
        completed("yesterday", "2026-03-26T00:00:00+01:00", "2026-03-27T00:00:00+01:00"),
    ),
    ("move standup to 10am", Change("standup", at=time(10))),
    ("done pay rent", Complete("pay rent")),
    ("I finished the report", Complete("report")),
    ("delete the dentist task", Delete("dentist")),
    ("snooze the plumber reminder by an hour", Snooze("plumber", timedelta(hours=1))),
    ("undo", Undo()),
    # --- creating, Berlin: DST starts Sunday 29 March (02:00 -> 03:00) ---
    ("call mum tomorrow at 7pm", task("call mum", "2026-03-28T19:00:00+01:00")),
    ("dentist on sunday at 02:30", task("dentist", "2026-03-29T03:30:00+02:00")),
    ("dentist march 29 at 02:30", task("dentist", "2026-03-29T03:30:00+02:00")),
    ("bake bread sunday at 10am", task("bake bread", "2026-03-29T10:00:00+02:00")),
    ("brunch on sunday at 1:30am", task("brunch", "2026-03-29T01:30:00+01:00")),
    (
        "water plants every day at 8am",
        task("water plants", "2026-03-28T08:00:00+01:00", {"freq": "daily"}),
    ),
    ("daily review at 18:00", task("review", "2026-03-27T18:00:00+01:00", {"freq": "daily"})),
    (
        "team sync every 2 weeks on mon and thu at 14:00",
        task(
            "team sync",
            "2026-03-30T14:00:00+02:00",
            {"freq": "weekly", "interval": 2, "weekdays": ["MO", "TH"]},
        ),
    ),
    (
        "gym every mon, wed and fri at 7am until 2026-06-30",
        task(
            "gym",
            "2026-03-30T07:00:00+02:00",
            {"freq": "weekly", "weekdays": ["MO", "WE", "FR"], "until": "2026-06-30T21:59:59Z"},
        ),
    ),
    (
        "rent monthly on the 31st",
        task("rent", "2026-03-31T09:00:00+02:00", {"freq": "monthly", "month_day": 31}),
    ),
    ("call bob in 2 hours", task("call bob", "2026-03-27T17:00:00+01:00")),
    ("call bob in 90 minutes", task("call bob", "2026-03-27T16:30:00+01:00")),
    ("feed the cat in 30 min", task("feed the cat", "2026-03-27T15:30:00+01:00")),
    ("feed the cat in half an hour", task("feed the cat", "2026-03-27T15:30:00+01:00")),
    (
        "report due friday !h #work",
        task("report", "2026-04-03T09:00:00+02:00", tags=("work",), priority="high"),
    ),
    ("report due friday at 5pm", task("report", "2026-03-27T17:00:00+01:00")),
    ("meeting next friday", task("meeting", "2026-04-03T09:00:00+02:00")),
    ("meeting next tue at 11:15", task("meeting", "2026-03-31T11:15:00+02:00")),
    (
        "remind me to call bob at 5pm",
        task("call bob", "2026-03-27T17:00:00+01:00", reminders=("PT0S",)),
    ),
    ("submit taxes on the 31st", task("submit taxes", "2026-03-31T09:00:00+02:00")),
    ("book flights the day after tomorrow", task("book flights", "2026-03-29T09:00:00+02:00")),
    ("buy milk tonight", task("buy milk", "2026-03-27T20:00:00+01:00")),
    ("buy milk this evening", task("buy milk", "2026-03-27T18:00:00+01:00")),
    ("run 5k at 7 in the morning", task("run 5k", "2026-03-28T07:00:00+01:00")),
    ("dinner at 8 in the evening", task("dinner", "2026-03-27T20:00:00+01:00")),
    ("#home clean the kitchen", task("clean the kitchen", tags=("home",))),
    ("add buy stamps", task("buy stamps")),
    ("new task: renew passport !low", task("renew passport", priority="low")),
    ("todo pick up parcel #errands #Home", task("pick up parcel", tags=("errands", "home"))),
    (
        "plan sprint every other week on monday at 10",
        task(
            "plan sprint",
            "2026-03-30T10:00:00+02:00",
            {"freq": "weekly", "interval": 2, "weekdays": ["MO"]},
        ),
    ),
    (
        "newsletter every 2 weeks",
        task("newsletter", "2026-03-28T09:00:00+01:00", {"freq": "weekly", "interval": 2}),
    ),
    (
        "quarterly report every 3 months on the 15th",
        task(
            "quarterly report",
            "2026-04-15T09:00:00+02:00",
            {"freq": "monthly", "interval": 3, "month_day": 15},
        ),
    ),
    (
        "anniversary every year on june 12",
        task("anniversary", "2026-06-12T09:00:00+02:00", {"freq": "yearly"}),
    ),
    (
        "backup every sunday at 23:00 for 10 times",
        task(
            "backup",
            "2026-03-29T23:00:00+02:00",
            {"freq": "weekly", "weekdays": ["SU"], "count": 10},
        ),
    ),
    (
        "pay card every month on the last day",
        task("pay card", "2026-03-31T09:00:00+02:00", {"freq": "monthly", "month_day": 31}),
    ),
    (
        "stretch every weekend at 8am",
        task("stretch", "2026-03-28T08:00:00+01:00", {"freq": "weekly", "weekdays": ["SA", "SU"]}),
    ),
    (
        "check mail on weekdays at 8:00",
        task("check mail", "2026-03-30T08:00:00+02:00", {"freq": "weekly", "weekdays": WEEKDAYS}),
    ),
    (
        "call grandma on sundays at 4pm",
        task("call grandma", "2026-03-29T16:00:00+02:00", {"freq": "weekly", "weekdays": ["SU"]}),
    ),
    (
        "ship release 2026-04-15 at 12:00 !high",
        task("ship release", "2026-04-15T12:00:00+02:00", priority="high"),
    ),
    ("meeting at noon", task("meeting", "2026-03-28T12:00:00+01:00")),
    ("meeting at noon tomorrow", task("meeting", "2026-03-28T12:00:00+01:00")),
    ("exam in 3 days at 10", task("exam", "2026-03-30T10:00:00+02:00")),
    ("exam in 2 weeks", task("exam", "2026-04-10T09:00:00+02:00")),
    (
        "pay invoice by monday !high #work, remind me 2 hours before",
        task("pay invoice", "2026-03-30T09:00:00+02:00", None, ("work",), "high", ("PT2H",)),
    ),
    (
        "dinner friday at 7pm, remind me 1 day and 2 hours before",
        task("dinner", "2026-03-27T19:00:00+01:00", reminders=("P1D", "PT2H")),
    ),
    (
        "standup every weekday at 9:30 #work, remind me 10 minutes before",
        task(
            "standup",
            "2026-03-30T09:30:00+02:00",
            {"freq": "weekly", "weekdays": WEEKDAYS},
            ("work",),
            reminders=("PT10M",),
        ),
    ),
    (
        "call the bank on monday at 9, remind me when it's due",
        task("call the bank", "2026-03-30T09:00:00+02:00", reminders=("PT0S",)),
    ),
    (
        "water plants every 3 days after I finish it",
        task(
            "water plants",
            "2026-03-28T09:00:00+01:00",
            {"freq": "daily", "interval": 3, "anchor": "completion"},
        ),
    ),
    (
        "haircut every 6 weeks after completion !low",
        task(
            "haircut",
            "2026-03-28T09:00:00+01:00",
            {"freq": "weekly", "interval": 6, "anchor": "completion"},
            priority="low",
        ),
    ),
    (
        "sync fortnightly on fridays at 16:00",
        task(
            "sync",
            "2026-03-27T16:00:00+01:00",
            {"freq": "weekly", "interval": 2, "weekdays": ["FR"]},
        ),
    ),
    ("read every evening", task("read", "2026-03-27T18:00:00+01:00", {"freq": "daily"})),
    (
        "Trash out every tuesday evening",
        task("Trash out", "2026-03-31T18:00:00+02:00", {"freq": "weekly", "weekdays": ["TU"]}),
    ),
    ("please add Buy Milk!", task("Buy Milk!")),
    (
        "Call Anna at the station tomorrow at 6pm",
        task("Call Anna at the station", "2026-03-28T18:00:00+01:00"),
    ),
    ("Call Anna at 14:45 on 3 april", task("Call Anna", "2026-04-03T14:45:00+02:00")),
    ("visit mum on the 3rd of april", task("visit mum", "2026-04-03T09:00:00+02:00")),
    ("party on 1 May 2027 at 8pm", task("party", "2027-05-01T20:00:00+02:00")),
    ("lunch today at 12:30", task("lunch", "2026-03-27T12:30:00+01:00")),
    ("Plan next sprint #work", task("Plan next sprint", tags=("work",))),
    # --- Berlin: questions, changes, completions, deletions, snoozes, undo ---
    ("what is due today", due("today", "2026-03-27T00:00:00+01:00", "2026-03-28T00:00:00+01:00")),
    (
        "what's due tomorrow?",
        due("tomorrow", "2026-03-28T00:00:00+01:00", "2026-03-29T00:00:00+01:00"),
    ),
    (
        "anything due next week?",
        due("next week", "2026-03-30T00:00:00+02:00", "2026-04-06T00:00:00+02:00"),
    ),
    (
        "what did I complete this week?",
        completed("this week", "2026-03-23T00:00:00+01:00", "2026-03-30T00:00:00+02:00"),
    ),
    ("show my tasks", query("open")),
    ("list #work tasks", query("open", tag="work")),
    ("which tasks are overdue?", query("overdue")),
    (
        "what's due this month?",
        due("this month", "2026-03-01T00:00:00+01:00", "2026-04-01T00:00:00+02:00"),
    ),
    ("how many tasks are done?", query("completed")),
    (
        "show home tasks due tomorrow",
        due("tomorrow", "2026-03-28T00:00:00+01:00", "2026-03-29T00:00:00+01:00", "home"),
    ),
    ("move dentist to monday", Change("dentist", day=datetime(2026, 3, 30).date())),
    (
        "reschedule dentist to tomorrow at 4pm",
        Change("dentist", day=datetime(2026, 3, 28).date(), at=time(16)),
    ),
    ("push the report to next monday", Change("report", day=datetime(2026, 3, 30).date())),
    ("rename standup to daily standup", Change("standup", title="daily standup")),
    ("set report priority to high", Change("report", priority="high")),
    ("make taxes high priority", Change("taxes", priority="high")),
    ("mark taxes as done", Complete("taxes")),
    ("the laundry is done", Complete("laundry")),
    ("complete 'buy milk'", Complete("buy milk")),
    ("finished standup", Complete("standup")),
    ("I've done the dishes", Complete("dishes")),
    ("check off groceries", Complete("groceries")),
    ("remove buy milk", Delete("buy milk")),
    ("cancel the gym reminder", Delete("gym")),
    (
        "drop off the dry cleaning tomorrow",
        task("drop off the dry cleaning", "2026-03-28T09:00:00+01:00"),
    ),
    ("snooze plumber for 30 minutes", Snooze("plumber", timedelta(minutes=30))),
    ("snooze the plumber by 2 days", Snooze("plumber", timedelta(days=2))),
    ("Undo that", Undo()),
    ("take it back", Undo()),
    # --- Berlin: what must become a question, never a task ---
    ("hello", clarify("Do you want a task 'hello'? Say 'add hello'.")),
    ("", clarify("What should I do?")),
    ("call bob at 5", clarify("Do you mean 5am or 5pm?")),
    ("dentist march 29 at 2:30", clarify("Do you mean 2am or 2pm?")),
    ("biweekly meeting", clarify("'biweekly' can mean two things.")),
    ("call bob twice a day", clarify("'twice a' can mean two things.")),
    ("x on feb 30", clarify("There is no date 'feb 30'.")),
    ("party on 31 april", clarify("There is no date '31 april'.")),
    ("remind me a day before", clarify("What should the task be called?")),
    ("every day", clarify("What should the task be called?")),
    ("call bob !urgentish", clarify("!urgentish is not a priority")),
    ("call bob !high !low", clarify("That has two priorities.")),
    ("call bob #über", clarify("#über is not a tag I can use")),
    ("lunch tomorrow at 25:00", clarify("'at 25:00' is not a time of day.")),
    ("lunch at 13pm", clarify("'at 13pm' is not a time of day.")),
    ("meet anna until friday", clarify("I could not read 'until'")),
    ("take pills every day at 8am and 8pm", clarify("more than one date or time")),
    ("call bob tomorrow and on friday", clarify("more than one date or time")),
    ("team lunch every monday after completion", clarify("cannot be combined")),
    ("every 0 days stretch", clarify("interval must be an integer from 1 to 1000")),
    ("call bob every day every week", clarify("two repeat rules")),
    ("call bob in 2 hours tomorrow", clarify("more than one date or time")),
    ("call bob 10 times", clarify("How often should it repeat?")),
    ("note, remind me 1 hour before", clarify("A reminder needs a due date")),
    ("snooze plumber", clarify("Snooze it for how long?")),
    ("snooze plumber by a month", clarify("How long is 'a month'?")),
    ("move standup to banana", clarify("When should it move to?")),
    ("delete the", clarify("Which task do you mean?")),
    ("x" * 501, clarify("That message is too long")),
    ("call bob\x1b[31m tomorrow", clarify("control characters")),
    ("add " + "y" * 201, clarify("That title is too long")),
]

# --- New York, Saturday 2026-10-31 10:00 EDT; DST ends Sunday 1 Nov (02:00 -> 01:00) ---
IN_NEW_YORK: list[tuple[str, Any]] = [
    (
        "standup every weekday at 9:30",
        task("standup", "2026-11-02T09:30:00-05:00", {"freq": "weekly", "weekdays": WEEKDAYS}),
    ),
    ("call mum tomorrow evening", task("call mum", "2026-11-01T18:00:00-05:00")),
    ("night shift tomorrow at 1:30am", task("night shift", "2026-11-01T01:30:00-04:00")),
    (
        "take meds every day at 8am",
        task("take meds", "2026-11-01T08:00:00-05:00", {"freq": "daily"}),
    ),
    ("dentist nov 2 at 3pm", task("dentist", "2026-11-02T15:00:00-05:00")),
    ("halloween party tonight", task("halloween party", "2026-10-31T20:00:00-04:00")),
    (
        "what's due this week?",
        due("this week", "2026-10-26T00:00:00-04:00", "2026-11-02T00:00:00-05:00"),
    ),
    (
        "what's due tomorrow?",
        due("tomorrow", "2026-11-01T00:00:00-04:00", "2026-11-02T00:00:00-05:00"),
    ),
    (
        "what did I finish today?",
        completed("today", "2026-10-31T00:00:00-04:00", "2026-11-01T00:00:00-04:00"),
    ),
    ("call bob in 24 hours", task("call bob", "2026-11-01T09:00:00-05:00")),
    ("call bob in 2 days at 10am", task("call bob", "2026-11-02T10:00:00-05:00")),
    (
        "pay rent every month on the 1st at 9am",
        task("pay rent", "2026-11-01T09:00:00-05:00", {"freq": "monthly", "month_day": 1}),
    ),
    ("clocks change on sunday at 1:30am", task("clocks change", "2026-11-01T01:30:00-04:00")),
    (
        "book review every month on the 31st",
        task("book review", "2026-11-30T09:00:00-05:00", {"freq": "monthly", "month_day": 31}),
    ),
    (
        "gym every mon, wed and fri at 6:30am",
        task(
            "gym", "2026-11-02T06:30:00-05:00", {"freq": "weekly", "weekdays": ["MO", "WE", "FR"]}
        ),
    ),
    (
        "weekly review friday at 4pm",
        task("review", "2026-11-06T16:00:00-05:00", {"freq": "weekly"}),
    ),
    (
        "file taxes by 2027-04-15 !high #money",
        task("file taxes", "2027-04-15T09:00:00-04:00", tags=("money",), priority="high"),
    ),
    ("move standup to 10am", Change("standup", at=time(10))),
]

# --- London, Saturday 2026-01-31 20:00 GMT: month ends ---
IN_LONDON: list[tuple[str, Any]] = [
    (
        "pay rent every month on the 31st at 9am",
        task("pay rent", "2026-02-28T09:00:00+00:00", {"freq": "monthly", "month_day": 31}),
    ),
    (
        "budget every month on the last day at 18:00",
        task("budget", "2026-02-28T18:00:00+00:00", {"freq": "monthly", "month_day": 31}),
    ),
    (
        "salary every month on the 30th",
        task("salary", "2026-02-28T09:00:00+00:00", {"freq": "monthly", "month_day": 30}),
    ),
    ("report on the 30th", task("report", "2026-03-30T09:00:00+01:00")),
    ("call mum tomorrow at 10", task("call mum", "2026-02-01T10:00:00+00:00")),
    (
        "what's due this month?",
        due("this month", "2026-01-01T00:00:00+00:00", "2026-02-01T00:00:00+00:00"),
    ),
    (
        "what's due next month?",
        due("next month", "2026-02-01T00:00:00+00:00", "2026-03-01T00:00:00+00:00"),
    ),
    ("meeting next month", task("meeting", "2026-02-01T09:00:00+00:00")),
    ("review in 1 month", task("review", "2026-02-28T09:00:00+00:00")),
    ("party next week", task("party", "2026-02-02T09:00:00+00:00")),
    (
        "clean gutters every 3 months",
        task("clean gutters", "2026-02-01T09:00:00+00:00", {"freq": "monthly", "interval": 3}),
    ),
    (
        "birthday every year on feb 29",
        task("birthday", "2028-02-29T09:00:00+00:00", {"freq": "yearly"}),
    ),
    (
        "pay rent monthly on the 1st",
        task("pay rent", "2026-02-01T09:00:00+00:00", {"freq": "monthly", "month_day": 1}),
    ),
    (
        "yearly checkup on march 1 at 8:30",
        task("checkup", "2026-03-01T08:30:00+00:00", {"freq": "yearly"}),
    ),
]

# --- Los Angeles, Monday 2028-02-28 12:00 PST: leap day; DST starts Sun 12 Mar 2028 ---
IN_LOS_ANGELES: list[tuple[str, Any]] = [
    ("submit report on the 29th", task("submit report", "2028-02-29T09:00:00-08:00")),
    (
        "pay rent every month on the 31st at 9am",
        task("pay rent", "2028-02-29T09:00:00-08:00", {"freq": "monthly", "month_day": 31}),
    ),
    ("leap party feb 29 at 8pm", task("leap party", "2028-02-29T20:00:00-08:00")),
    (
        "what's due tomorrow?",
        due("tomorrow", "2028-02-29T00:00:00-08:00", "2028-03-01T00:00:00-08:00"),
    ),
    (
        "standup every weekday at 9:30 !high #work",
        task(
            "standup",
            "2028-02-29T09:30:00-08:00",
            {"freq": "weekly", "weekdays": WEEKDAYS},
            ("work",),
            "high",
        ),
    ),
    ("call dad on march 12 at 2:30am", task("call dad", "2028-03-12T03:30:00-07:00")),
    ("call dad on 2028-03-12 at 02:30", task("call dad", "2028-03-12T03:30:00-07:00")),
    (
        "water plants every 2 days",
        task("water plants", "2028-02-29T09:00:00-08:00", {"freq": "daily", "interval": 2}),
    ),
    (
        "what did I finish last week?",
        completed("last week", "2028-02-21T00:00:00-08:00", "2028-02-28T00:00:00-08:00"),
    ),
    (
        "tax return by april 15 !high",
        task("tax return", "2028-04-15T09:00:00-07:00", priority="high"),
    ),
]

CORPUS: list[tuple[tuple[str, datetime], str, Any]] = [
    (context, message, expected)
    for context, cases in (
        (BERLIN, IN_BERLIN),
        (NEW_YORK, IN_NEW_YORK),
        (LONDON, IN_LONDON),
        (LOS_ANGELES, IN_LOS_ANGELES),
    )
    for message, expected in cases
]


def _id(case: tuple[tuple[str, datetime], str, Any]) -> str:
    return f"{case[0][0].split('/')[-1]}:{case[1][:60]}"


@pytest.mark.parametrize(("context", "message", "expected"), CORPUS, ids=[_id(c) for c in CORPUS])
def test_phrasing(context: tuple[str, datetime], message: str, expected: Any) -> None:
    zone, wall = context
    got = summary(parse(message, timezone=zone, now=wall.replace(tzinfo=ZoneInfo(zone))))
    if isinstance(expected, dict) and "clarify" in expected:
        assert isinstance(got, dict), got
        assert "clarify" in got, got
        assert expected["clarify"] in got["clarify"]
    else:
        assert got == expected


def test_corpus_size() -> None:
    assert len(CORPUS) >= 100
    assert len({(c[0][0], c[1]) for c in CORPUS}) == len(CORPUS), "a phrasing is listed twice"
