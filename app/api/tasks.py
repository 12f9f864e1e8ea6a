"""The task endpoints. Each change commits together with its outbox events."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from datetime import datetime
from itertools import islice
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from app.api.deps import CurrentUser, Session, State
from app.api.problems import Problem, documented, not_found
from app.api.query_input import plain_text, utc_instant
from app.api.schemas import (
    OccurrenceOut,
    OccurrencesOut,
    Priority,
    TaskCreate,
    TaskOut,
    TaskPage,
    TaskUpdate,
)
from app.core.db.models import IdempotencyKey, Task, TaskRecurrence
from app.core.observability.tracing import current_traceparent
from app.domain.recurrence import Occurrence, RecurrenceRule, occurrences
from app.tasks import commands
from app.tasks.queries import Direction, SortField, TaskFilter, list_tasks
from app.tasks.snapshots import task_out

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
    db: Session,
    idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
) -> Response:
    if idempotency_key is None:
        task = await commands.create_task(db, user.id, body, traceparent=_traceparent(request))
        await db.commit()
        return _task_response(task, 201)

    request_hash = hashlib.sha256(
        json.dumps(body.model_dump(mode="json"), sort_keys=True).encode()
    ).hexdigest()
    replay = await _replay(db, user.id, idempotency_key, request_hash)
    if replay is not None:
        return replay
    task = await commands.create_task(db, user.id, body, traceparent=_traceparent(request))
    response = task_out(task).model_dump(mode="json")
    db.add(
        IdempotencyKey(
            owner_id=user.id,
            key=idempotency_key,
            request_hash=request_hash,
            status_code=201,
            response=response,
        )
    )
    try:
        await db.commit()
    except IntegrityError:
        # A concurrent retry with the same key won the race: serve what it stored.
        await db.rollback()
        replay = await _replay(db, user.id, idempotency_key, request_hash)
        if replay is None:
            raise
        return replay
    return JSONResponse(response, status_code=201, headers={"ETag": _etag(task)})


async def _replay(db: Session, owner_id: uuid.UUID, key: str, request_hash: str) -> Response | None:
    stored = await db.get(IdempotencyKey, (owner_id, key))
    if stored is None:
        return None
    if stored.request_hash != request_hash:
        raise Problem(
            422,
            "Invalid request",
            "Idempotency-Key: already used with a different request body",
            errors=[{"field": "Idempotency-Key", "message": "reused with a different body"}],
        )
    return JSONResponse(
        stored.response, status_code=stored.status_code, headers={"Idempotent-Replayed": "true"}
    )


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
    db: Session,
    app_state: State,
    completed: bool | None = None,
    priority: Priority | None = None,
    due_before: datetime | None = None,
    due_after: datetime | None = None,
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
    page = TaskPage(items=[task_out(t) for t in rows], next_cursor=next_cursor)
    return Response(page.model_dump_json(), media_type="application/json")


@router.get("/{task_id}", response_model=TaskOut, responses=NOT_FOUND)
async def get_task(task_id: uuid.UUID, user: CurrentUser, db: Session) -> Response:
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
    db: Session,
    if_match: Annotated[str | None, Header(max_length=200)] = None,
) -> Response:
    task = await commands.get_task(db, user.id, task_id)
    if if_match is not None and not _matches(if_match, task):
        raise _precondition_failed(task.version)
    try:
        await commands.update_task(db, task, body, traceparent=_traceparent(request))
        await db.commit()
    except StaleDataError:
        # Someone else committed a change between our read and our write.
        await db.rollback()
        raise _precondition_failed(None) from None
    return _task_response(task)


def _precondition_failed(current: int | None) -> Problem:
    detail = "If-Match: the task changed since you read it"
    extra: dict[str, Any] = {} if current is None else {"current_version": current}
    return Problem(412, "Precondition failed", detail, **extra)


@router.delete("/{task_id}", status_code=204, responses=NOT_FOUND)
async def delete_task(request: Request, task_id: uuid.UUID, user: CurrentUser, db: Session) -> None:
    task = await commands.get_task(db, user.id, task_id)
    await commands.delete_task(db, task, traceparent=_traceparent(request))
    await db.commit()


@router.post("/{task_id}/complete", response_model=TaskOut, responses=NOT_FOUND)
async def complete_task(
    request: Request, task_id: uuid.UUID, user: CurrentUser, db: Session
) -> Response:
    task = await commands.complete_task(db, user.id, task_id, traceparent=_traceparent(request))
    await db.commit()
    return _task_response(task)


@router.get("/{task_id}/occurrences", response_model=OccurrencesOut, responses=NOT_FOUND)
async def get_occurrences(
    task_id: uuid.UUID,
    user: CurrentUser,
    db: Session,
    limit: Annotated[int, Query(ge=1, le=100, description="how many occurrences")] = 10,
) -> OccurrencesOut:
    """This task's occurrence and the ones after it: existing tasks, then those still to come."""
    task = await commands.get_task(db, user.id, task_id)
    series = await db.get(TaskRecurrence, task.series_id) if task.series_id else None
    if series is None:
        raise not_found("recurring series for this task")
    rule = RecurrenceRule.parse(series.rule)
    first = task.occurrence_index or 0
    of_series = select(Task).where(Task.series_id == series.id)
    if rule.anchor == "schedule":
        upcoming = (
            o for o in occurrences(rule, series.series_start, series.timezone) if o.index >= first
        )
        schedule = list(islice(upcoming, limit))
        indexes = [occurrence.index for occurrence in schedule]
        created = {
            t.occurrence_index: t
            for t in await db.scalars(of_series.where(Task.occurrence_index.in_(indexes)))
        }
    else:
        # Completion-anchored series exist only as the tasks created so far.
        tasks = await db.scalars(
            of_series.where(Task.occurrence_index >= first, Task.due_date.is_not(None))
            .order_by(Task.occurrence_index)
            .limit(limit)
        )
        created = {t.occurrence_index: t for t in tasks}
        schedule = [
            Occurrence(index=i, due=t.due_date)
            for i, t in created.items()
            if i is not None and t.due_date is not None
        ]
    listed: list[OccurrenceOut] = []
    for occurrence in schedule:
        existing = created.get(occurrence.index)
        listed.append(
            OccurrenceOut(
                index=occurrence.index,
                due_date=occurrence.due,
                task_id=existing.id if existing else None,
                completed=existing.completed if existing else None,
            )
        )
    return OccurrencesOut(
        series_id=series.id,
        rule=series.rule,
        description=rule.describe(),
        timezone=series.timezone,
        occurrences=listed,
    )
