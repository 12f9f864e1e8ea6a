"""``GET /tasks/{task_id}/history``: the audit trail of one task (``app.tasks.history``)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from app.api.deps import CurrentUser, DbSession, State
from app.api.problems import documented
from app.tasks.history import HistoryPage
from app.tasks.history import task_history as read_history

router = APIRouter(prefix="/tasks", tags=["history"], responses=documented(401, 422))


class HistoryEntry(BaseModel):
    # An audit log row read from its columns; the aliases name the columns the API renames.
    # (A comment, not a docstring: that would become the schema's description.)
    model_config = ConfigDict(from_attributes=True)

    event_id: uuid.UUID
    type: str = Field(
        validation_alias="event_type",
        description="task.created, task.updated, task.completed, task.deleted, ...",
    )
    time: datetime = Field(validation_alias="event_time", description="when the change committed")
    version: int | None = Field(
        validation_alias="task_version", description="the task's version after the change"
    )
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
    db: DbSession,
    app_state: State,
    limit: Annotated[int, Query(ge=1, description="entries per page")] = 100,
    after: Annotated[uuid.UUID | None, Query(description="event id of the last entry seen")] = None,
) -> History:
    page = await read_history(
        db, user.id, task_id, limit=min(limit, app_state.settings.max_page_size), after=after
    )
    return history_out(task_id, page)


def history_out(task_id: uuid.UUID, page: HistoryPage) -> History:
    """A page of history as the API (and the MCP server's task_history tool) renders it."""
    return History(
        task_id=task_id,
        items=[HistoryEntry.model_validate(row) for row in page.entries],
        next_after=page.next_after,
    )
