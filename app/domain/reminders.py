"""The reminder rules, written once: which reminders are pending, when a task's reminders count
as sent, how many a task may hold, and which sent ones survive a replacement.

Pure: the functions take anything shaped like a reminder (the ORM row, a test's dataclass), so
the task service, the web UI's views and the event snapshots all ask the same questions here.
The SQL form of "pending" (for the notifier's claims) is :meth:`Reminder.pending` on the model,
with the partial index ``ix_reminders_pending`` built on the same two columns.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Final, Protocol, TypeVar

# A task holds at most this many reminders, pending and sent together: the request limit and
# the stored limit are one number, so repeated edits cannot grow a task's reminder rows.
MAX_REMINDERS: Final = 10
# A relative reminder fires at most this long before the due date.
MAX_REMINDER_OFFSET: Final = timedelta(days=365)


class ReminderState(Protocol):
    @property
    def id(self) -> uuid.UUID: ...
    @property
    def remind_at(self) -> datetime: ...
    @property
    def sent_at(self) -> datetime | None: ...
    @property
    def cancelled_at(self) -> datetime | None: ...


R = TypeVar("R", bound=ReminderState)


def is_pending(reminder: ReminderState) -> bool:
    """Still to fire: neither sent nor cancelled (by completing, deleting or replacing)."""
    return reminder.sent_at is None and reminder.cancelled_at is None


def by_time(reminders: Iterable[R]) -> list[R]:
    """In firing order; the id breaks ties so the order is the same on every read."""
    return sorted(reminders, key=lambda r: (r.remind_at, str(r.id)))


def pending(reminders: Iterable[R]) -> list[R]:
    """The pending reminders, in firing order."""
    return [r for r in by_time(reminders) if is_pending(r)]


def all_sent(reminders: Iterable[ReminderState]) -> bool:
    """A task's ``reminder_sent``: it has live (not cancelled) reminders and all have fired."""
    live = [r for r in reminders if r.cancelled_at is None]
    return bool(live) and all(r.sent_at is not None for r in live)


def kept_when_replacing(reminders: Sequence[R], incoming: int) -> list[R]:
    """The reminders a replacement by ``incoming`` new ones keeps: the sent ones stay as the
    task's history, newest first, as many as fit beside the new set under MAX_REMINDERS."""
    room = max(MAX_REMINDERS - incoming, 0)
    sent = [(r.sent_at, str(r.id), r) for r in reminders if r.sent_at is not None]
    newest_first = sorted(sent, key=lambda entry: entry[:2], reverse=True)
    return [reminder for *_, reminder in newest_first[:room]]
