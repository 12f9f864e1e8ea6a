"""The notifier's database side: what is pending, and claiming what is due.

Claiming locks the due reminder rows and their tasks with ``FOR UPDATE ... SKIP LOCKED``, so
two notifier replicas (or a replica and the cron sweep) never take the same reminder: the
second skips rows the first holds. Locking the task too is what suppresses a reminder of a
task completed a moment earlier: the API locks the task while it completes it, so the claim
either skips the reminder (and retries once the completion committed, then sees it cancelled)
or sees the completion. Skip, never wait: waiting on the task after locking the reminder would
deadlock with the API, which locks the task first and the reminders second.

Marking sent, writing ``reminder.due`` to the outbox and updating the task happen in the
claim's transaction, which the caller commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db.models import Reminder, Task
from app.core.events import outbox
from app.core.events.contract import (
    CloudEvent,
    EventType,
    NotificationSentData,
    ReminderDueData,
)
from app.core.processes import NOTIFIER

SOURCE_NOTIFIER: Final = NOTIFIER.source


@dataclass(frozen=True, slots=True)
class Claimed:
    """What one claim did: reminders fired, and those suppressed because the task is done."""

    sent: Sequence[ReminderDueData]
    suppressed: Sequence[uuid.UUID]

    def __len__(self) -> int:
        return len(self.sent) + len(self.suppressed)


async def upcoming(session: AsyncSession, limit: int) -> list[datetime]:
    """When the next ``limit`` pending reminders are due, earliest first, overdue included.
    Those of a completed task are included too: their claim suppresses them."""
    times = await session.scalars(
        select(Reminder.remind_at)
        .where(Reminder.pending())
        .order_by(Reminder.remind_at)
        .limit(limit)
    )
    return list(times)


async def due_count(session: AsyncSession, now: datetime) -> int:
    """Pending reminders due by ``now``, claimed by someone else or not (no locks taken)."""
    count = await session.scalar(
        select(func.count())
        .select_from(Reminder)
        .where(Reminder.pending(), Reminder.remind_at <= now)
    )
    return int(count or 0)


async def claim_due(
    session: AsyncSession, now: datetime, limit: int, *, traceparent: str | None = None
) -> Claimed:
    """Claim up to ``limit`` reminders due by ``now`` (earliest first), in the session's
    transaction: each is either sent (``reminder.due`` recorded) or, if its task was completed,
    suppressed (cancelled)."""
    rows = (
        await session.execute(
            # Named as the event's fields: a row not suppressed is the reminder.due's data.
            select(
                Reminder.id.label("reminder_id"),
                Reminder.task_id,
                Reminder.remind_at,
                Task.owner_id,
                Task.title,
                Task.due_date,
                Task.completed,
            )
            .join(Task, Task.id == Reminder.task_id)
            .where(Reminder.pending(), Reminder.remind_at <= now)
            .order_by(Reminder.remind_at, Reminder.id)
            .limit(limit)
            .with_for_update(skip_locked=True, of=[Reminder.__table__, Task.__table__])
        )
    ).all()
    suppressed = [row.reminder_id for row in rows if row.completed]
    sent = [
        ReminderDueData.model_validate(row, from_attributes=True)
        for row in rows
        if not row.completed
    ]
    if suppressed:
        await session.execute(
            update(Reminder).where(Reminder.id.in_(suppressed)).values(cancelled_at=now)
        )
    if sent:
        await _mark_sent(session, sent, now, traceparent)
    return Claimed(sent=sent, suppressed=suppressed)


async def _mark_sent(
    session: AsyncSession,
    sent: Sequence[ReminderDueData],
    now: datetime,
    traceparent: str | None,
) -> None:
    await session.execute(
        update(Reminder)
        .where(Reminder.id.in_([data.reminder_id for data in sent]))
        .values(sent_at=now)
    )
    task_ids = {data.task_id for data in sent}
    # The task's representation changed (a reminder's sent_at): a new version keeps ETags and
    # optimistic concurrency honest. reminder_sent once no reminder of the task is left pending.
    still_pending = exists().where(Reminder.task_id == Task.id, Reminder.pending())
    await session.execute(
        update(Task)
        .where(Task.id.in_(task_ids))
        .values(version=Task.version + 1, reminder_sent=~still_pending)
        .execution_options(synchronize_session=False)
    )
    await outbox.record_many(
        session, [notifier_event(EventType.REMINDER_DUE, data, traceparent) for data in sent]
    )


def notifier_event(
    event_type: EventType,
    data: ReminderDueData | NotificationSentData,
    traceparent: str | None,
) -> CloudEvent:
    """An event the notifier records about a reminder of ``data``'s task (its subject)."""
    return CloudEvent.of(
        event_type, data, subject=data.task_id, source=SOURCE_NOTIFIER, traceparent=traceparent
    )
