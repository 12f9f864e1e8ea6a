"""The assistant's answers in words: a task's due date in the user's zone, its rule as the
recurrence engine describes it (the words the UI shows), its reminders, tags and priority."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from app.chat.tasks_port import TaskView


def when(moment: datetime, zone: ZoneInfo) -> str:
    """E.g. "Wed 1 Apr 2026, 09:00 CEST": the zone's abbreviation shows the DST side."""
    local = moment.astimezone(zone)
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M} {local.tzname()}"


def span(length: timedelta) -> str:
    """E.g. "1 day", "2 hours 30 minutes"; "0 minutes" for none."""
    minutes = int(length.total_seconds()) // 60
    days, rest = divmod(minutes, 1440)
    hours, minutes = divmod(rest, 60)
    parts = [
        f"{count} {unit}{'' if count == 1 else 's'}"
        for count, unit in ((days, "day"), (hours, "hour"), (minutes, "minute"))
        if count
    ]
    return " ".join(parts) or "0 minutes"


def _reminder(before: timedelta | None, at: datetime, zone: ZoneInfo) -> str:
    if before is None:
        return f"at {when(at, zone)}"
    return "at the due time" if not before else f"{span(before)} before"


def task(view: TaskView, zone: ZoneInfo) -> str:
    """One task in a line: title, due date, rule, reminders, tags, priority."""
    parts = [f"“{view.title}”"]
    if view.due is not None:
        parts.append(f"due {when(view.due, zone)}")
    if view.rule is not None:
        parts.append(f"repeats {view.rule.describe()}")
    if view.reminders:
        reminders = ", ".join(_reminder(r.before, r.at, zone) for r in view.reminders)
        parts.append(f"reminder{'s' if len(view.reminders) > 1 else ''} {reminders}")
    if view.tags:
        parts.append(" ".join(f"#{tag}" for tag in view.tags))
    if view.priority != "medium":
        parts.append(f"priority {view.priority}")
    return ", ".join(parts)


def listing(views: Sequence[TaskView], zone: ZoneInfo) -> str:
    return "\n".join(f"• {task(view, zone)}" for view in views)


def choices(views: Sequence[TaskView], zone: ZoneInfo) -> str:
    """A question naming each candidate, for a target that matches more than one task."""
    return "Which one do you mean?\n" + listing(views, zone) + "\nSay more of its title."
