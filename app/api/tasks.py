"""The task endpoints. Each change commits together with its outbox events."""

from __future__ import annotations

import re
import uuid
from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Body, Header, Query, Request, Response
from fastapi.responses import JSONResponse

from app.api.deps import CurrentUser, DbSession, State
from app.api.problems import documented
from app.api.query_input import QueryInstant, plain_text, utc_instant
from app.api.schemas import (
    OccurrenceOut,
    OccurrencesOut,
    Priority,
    TaskCreate,
    TaskOut,
    TaskPage,
    TaskUpdate,
)
from app.api.task_views import task_out, task_page_json
from app.core.db.models import Task
from app.core.observability.tracing import current_traceparent
from app.tasks import commands
from app.tasks.errors import VersionConflict
from app.tasks.idempotency import StoredReply, create_task_once
from app.tasks.queries import Direction, SortField, TaskFilter, list_tasks
from app.tasks.schedule import MAX_OCCURRENCES, upcoming_occurrences

router = APIRouter(prefix="/tasks", tags=["tasks"], responses=documented(401, 422))

NOT_FOUND = documented(404)


def _etag(task: Task) -> str:
    return f'"{task.version}"'


_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")


def _traceparent(request: Request) -> str | None:
    """The trace context to stamp on this request's events: our server span when tracing is on,
    else a well-formed incoming ``traceparent`` header (anything else is ignored)."""
    if (current := current_traceparent()) is not None:
        return current
    header = request.headers.get("traceparent", "")
    return header if _TRACEPARENT.match(header) else None


@router.post("", status_code=201, response_model=TaskOut)
async def create_task(
    request: Request,
    body: TaskCreate,
    user: CurrentUser,
    db: DbSession,
    idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
) -> Response:
    if idempotency_key is None:
        task = await commands.create_task(db, user.id, body, traceparent=_traceparent(request))
        await db.commit()
        return _task_response(task, 201)

    outcome = await create_task_once(
        db, user.id, idempotency_key, body, _created, traceparent=_traceparent(request)
    )
    reply = outcome.reply
    if outcome.replayed:
        headers = {"Idempotent-Replayed": "true"}
    else:
        headers = {"ETag": f'"{reply.version}"'}
    return JSONResponse(reply.body, status_code=reply.status, headers=headers)


def _created(task: Task) -> StoredReply:
    return StoredReply(201, task_out(task).model_dump(mode="json"), task.version)


def _task_response(task: Task, status: int = 200) -> Response:
    # Serialized once, by pydantic-core, instead of dump -> dict -> json.dumps.
    return Response(
        task_out(task).model_dump_json(),
        status_code=status,
        media_type="application/json",
        headers={"ETag": _etag(task)},
    )


@router.get("", response_model=TaskPage)
async def get_tasks(
    user: CurrentUser,
    db: DbSession,
    app_state: State,
    completed: bool | None = None,
    priority: Priority | None = None,
    due_before: QueryInstant = None,
    due_after: QueryInstant = None,
    overdue: bool | None = None,
    tag: Annotated[str | None, Query(max_length=32)] = None,
    q: Annotated[str | None, Query(max_length=200, description="text search")] = None,
    sort: SortField = "created_at",
    order: Direction = "asc",
    limit: Annotated[int, Query(ge=1, description="page size, capped by the server")] = 50,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
) -> Response:
    task_filter = TaskFilter(
        completed,
        priority,
        utc_instant("due_before", due_before),
        utc_instant("due_after", due_after),
        overdue,
        plain_text("tag", tag),
        plain_text("q", q),
    )
    rows, next_cursor = await list_tasks(
        db,
        user.id,
        task_filter,
        sort=sort,
        direction=order,
        limit=min(limit, app_state.settings.max_page_size),
        cursor=cursor,
    )
    return Response(task_page_json(rows, next_cursor), media_type="application/json")


@router.get("/{task_id}", response_model=TaskOut, responses=NOT_FOUND)
async def get_task(task_id: uuid.UUID, user: CurrentUser, db: DbSession) -> Response:
    return _task_response(await commands.get_task(db, user.id, task_id))


def _matches(if_match: str, task: Task) -> bool:
    if if_match.strip() == "*":
        return True
    tags = [t.strip().removeprefix("W/").strip('"') for t in if_match.split(",")]
    return str(task.version) in tags


@router.patch(
    "/{task_id}",
    response_model=TaskOut,
    responses=documented(404, 412),
)
async def patch_task(
    request: Request,
    task_id: uuid.UUID,
    body: Annotated[TaskUpdate, Body()],
    user: CurrentUser,
    db: DbSession,
    if_match: Annotated[str | None, Header(max_length=200)] = None,
) -> Response:
    task = await commands.get_task(db, user.id, task_id)
    if if_match is not None and not _matches(if_match, task):
        raise VersionConflict(task.version)
    await commands.update_task(db, task, body, traceparent=_traceparent(request))
    await db.commit()
    return _task_response(task)


@router.delete("/{task_id}", status_code=204, responses=NOT_FOUND)
async def delete_task(
    request: Request, task_id: uuid.UUID, user: CurrentUser, db: DbSession
) -> None:
    task = await commands.get_task(db, user.id, task_id)
    await commands.delete_task(db, task, traceparent=_traceparent(request))
    await db.commit()


@router.post("/{task_id}/complete", response_model=TaskOut, responses=NOT_FOUND)
async def complete_task(
    request: Request, task_id: uuid.UUID, user: CurrentUser, db: DbSession
) -> Response:
    task = await commands.complete_task(db, user.id, task_id, traceparent=_traceparent(request))
    await db.commit()
    return _task_response(task)


@router.get("/{task_id}/occurrences", response_model=OccurrencesOut, responses=NOT_FOUND)
async def get_occurrences(
    task_id: uuid.UUID,
    user: CurrentUser,
    db: DbSession,
    limit: Annotated[int, Query(ge=1, le=MAX_OCCURRENCES, description="how many occurrences")] = 10,
) -> OccurrencesOut:
    """This task's occurrence and the ones after it: existing tasks, then those still to come."""
    schedule = await upcoming_occurrences(db, user.id, task_id, limit)
    return OccurrencesOut(
        series_id=schedule.series_id,
        rule=schedule.rule,
        description=schedule.description,
        timezone=schedule.timezone,
        occurrences=[OccurrenceOut(**asdict(o)) for o in schedule.occurrences],
    )
