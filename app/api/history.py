"""``GET /tasks/{task_id}/history``: the audit trail of one task, oldest first.

Written by the audit service from ``task-events``, so it trails the task by the time the event
takes to arrive (milliseconds normally). A deleted task's history stays readable by its owner.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlalchemy import select

from app.api.deps import CurrentUser, Session, State
from app.api.problems import documented, not_found
from app.core.db.event_models import AuditLog
from app.core.db.models import Task

router = APIRouter(prefix="/tasks", tags=["history"], responses=documented(401, 422))


class HistoryEntry(BaseModel):
    event_id: uuid.UUID
    type: str = Field(description="task.created, task.updated, task.completed, task.deleted, ...")
    time: datetime = Field(description="when the change committed")
    version: int | None = Field(description="the task's version after the change")
    source: str
    data: dict[str, Any] = Field(description="the event's data: the task as of the change")


class History(BaseModel):
    task_id: uuid.UUID
    items: list[HistoryEntry]
    next_after: uuid.UUID | None = Field(description="pass as ?after= for the next page")


@router.get("/{task_id}/history", response_model=History, responses=documented(404))
async def task_history(
    task_id: uuid.UUID,
    user: CurrentUser,
    db: Session,
    app_state: State,
    limit: Annotated[int, Query(ge=1, description="entries per page")] = 100,
    after: Annotated[uuid.UUID | None, Query(description="event id of the last entry seen")] = None,
) -> History:
    limit = min(limit, app_state.settings.max_page_size)
    query = (
        select(AuditLog)
        .where(AuditLog.task_id == task_id, AuditLog.owner_id == user.id)
        .order_by(AuditLog.event_time, AuditLog.id)
        .limit(limit + 1)
    )
    if after is not None:
        anchor = await db.scalar(
            select(AuditLog).where(
                AuditLog.event_id == after,
                AuditLog.task_id == task_id,
                AuditLog.owner_id == user.id,
            )
        )
        if anchor is None:
            raise not_found("history entry (after)")
        query = query.where(
            (AuditLog.event_time > anchor.event_time)
            | ((AuditLog.event_time == anchor.event_time) & (AuditLog.id > anchor.id))
        )
    rows = list(await db.scalars(query))
    if not rows and after is None:
        # No history yet: a task of this user the audit has not caught up with, or none at all.
        task = await db.scalar(select(Task.id).where(Task.id == task_id, Task.owner_id == user.id))
        if task is None:
            raise not_found()
    page, more = rows[:limit], len(rows) > limit
    return History(
        task_id=task_id,
        items=[
            HistoryEntry(
                event_id=row.event_id,
                type=row.event_type,
                time=row.event_time,
                version=row.task_version,
                source=row.source,
                data=row.data,
            )
            for row in page
        ],
        next_after=page[-1].event_id if more else None,
    )
