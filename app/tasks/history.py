"""The audit trail of one task, oldest first, a page at a time.

Written by the audit service from ``task-events``, so it trails the task by the time the event
takes to arrive (milliseconds normally). A deleted task's history stays readable by its owner.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db.event_models import AuditLog
from app.core.db.models import Task
from app.tasks.errors import TaskNotFound


@dataclass(frozen=True, slots=True)
class HistoryPage:
    entries: list[AuditLog]
    next_after: uuid.UUID | None  # the event id to continue after, when there is more


async def task_history(
    session: AsyncSession,
    owner_id: uuid.UUID,
    task_id: uuid.UUID,
    *,
    limit: int,
    after: uuid.UUID | None = None,
) -> HistoryPage:
    """Up to ``limit`` entries after the entry ``after`` (an event id); TaskNotFound when the
    user has no such task and no history of one, or ``after`` is not an entry of it."""
    query = (
        select(AuditLog)
        .where(AuditLog.task_id == task_id, AuditLog.owner_id == owner_id)
        .order_by(AuditLog.event_time, AuditLog.id)
        .limit(limit + 1)
    )
    if after is not None:
        anchor = await session.scalar(
            select(AuditLog).where(
                AuditLog.event_id == after,
                AuditLog.task_id == task_id,
                AuditLog.owner_id == owner_id,
            )
        )
        if anchor is None:
            raise TaskNotFound("history entry (after)")
        query = query.where(
            (AuditLog.event_time > anchor.event_time)
            | ((AuditLog.event_time == anchor.event_time) & (AuditLog.id > anchor.id))
        )
    rows = list(await session.scalars(query))
    if not rows and after is None:
        # No history yet: a task of this user the audit has not caught up with, or none at all.
        task = await session.scalar(
            select(Task.id).where(Task.id == task_id, Task.owner_id == owner_id)
        )
        if task is None:
            raise TaskNotFound()
    page, more = rows[:limit], len(rows) > limit
    return HistoryPage(page, page[-1].event_id if more else None)
