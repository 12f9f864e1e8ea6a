"""The task pages: the grouped list, the create/edit form, complete and delete.

Every change goes through the task service (:mod:`app.tasks.commands`), exactly as the REST
API's, so a change made here commits with its outbox events and reaches the workers and the
other open tabs; its refusals become form errors or the "missing" page.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Final
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request, Response

from app.api.deps import DbSession, State
from app.core.db.models import Task
from app.tasks import commands
from app.tasks.errors import InvalidTaskInput, TaskNotFound, VersionConflict
from app.tasks.queries import list_tasks
from app.ui.forms import (
    UNITS,
    WEEKDAYS,
    FieldErrors,
    FormInvalid,
    TaskForm,
    error_links,
    field_text,
    input_errors,
    zone_names,
)
from app.ui.listing import ListQuery, grouped
from app.ui.posting import PostedForm
from app.ui.render import MissingPage, page, see_other
from app.ui.session import SignedIn, Visitor, owner_of, safe_next

router = APIRouter(include_in_schema=False)

LIST_LIMIT: Final = 500
# Status messages after a change, by key: the redirect names one, never free text.
NOTICES: Final = {
    "created": "Task created.",
    "saved": "Task saved.",
    "unchanged": "Nothing to save: the task is as it was.",
    "completed": "Task completed.",
    "deleted": "Task deleted.",
    # Asking for a verification link (app/ui/auth_pages.py).
    "link-sent": "A verification link is on its way to your address.",
    "link-verified": "Your address is already verified.",
    "link-too_soon": "A link was sent a moment ago: ask again in a minute.",
    "link-unavailable": "The e-mail could not be sent: try again later.",
}


def _with_notice(path: str, notice: str) -> str:
    separator = "&" if "?" in path else "?"
    return f"{path}{separator}{urlencode({'notice': notice})}"


async def _list_context(request: Request, person: Visitor, db: DbSession) -> dict[str, Any]:
    query = ListQuery.parse(request.query_params)
    zone = ZoneInfo(person.timezone)
    tasks, more = await list_tasks(
        db,
        owner_of(person),
        query.task_filter(zone),
        sort=query.sort,
        direction=query.order,
        limit=LIST_LIMIT,
        cursor=None,
    )
    groups = grouped(tasks, zone, datetime.now(UTC))
    if query.status == "open":
        groups = [group for group in groups if group.key != "completed"]
    query_string = query.query_string()
    return {
        "query": query,
        "errors": query.errors or {},
        "groups": groups,
        "total": len(tasks),
        "truncated": more is not None,
        "limit": LIST_LIMIT,
        "here": "/" + (f"?{query_string}" if query_string else ""),
        "query_string": query_string,
        "notice": NOTICES.get(request.query_params.get("notice", "")),
    }


@router.get("/")
async def task_list(
    request: Request, person: SignedIn, db: DbSession, app_state: State
) -> Response:
    context = await _list_context(request, person, db)
    # Offered only where links can be sent: without a relay nobody could verify.
    context["unverified"] = (
        person.user is not None
        and person.user.email_verified_at is None
        and app_state.settings.smtp_relay() is not None
    )
    return page(request, person, "tasks.html", context)


@router.get("/ui/list")
async def task_groups(request: Request, person: SignedIn, db: DbSession) -> Response:
    """The groups alone, which the page's script swaps in when a change notice arrives."""
    return page(request, person, "_groups.html", await _list_context(request, person, db))


def _form_page(
    request: Request,
    person: Visitor,
    form: TaskForm,
    *,
    task: Task | None = None,
    errors: FieldErrors | None = None,
    next_path: str = "/",
) -> Response:
    context = {
        "form": form,
        "task": task,
        "errors": errors or {},
        "error_links": error_links(errors or {}),
        "zones": zone_names(),
        "next": next_path,
        "weekdays": WEEKDAYS,
        "units": [unit for unit, _ in UNITS],
    }
    return page(request, person, "task_form.html", context, status=422 if errors else 200)


@router.get("/ui/tasks/new")
async def new_task(request: Request, person: SignedIn, next: str = "/") -> Response:
    return _form_page(request, person, TaskForm.blank(person.timezone), next_path=safe_next(next))


@router.post("/ui/tasks/new")
async def create_task(
    request: Request, person: SignedIn, db: DbSession, posted: PostedForm
) -> Response:
    form, next_path = TaskForm.parse(posted), safe_next(field_text(posted, "next"))
    try:
        body = form.create_body()
        await commands.create_task(db, owner_of(person), body)
        await db.commit()
    except FormInvalid as invalid:
        return _form_page(request, person, form, errors=invalid.errors, next_path=next_path)
    except InvalidTaskInput as refused:
        await db.rollback()
        errors = input_errors(refused, form.reminder_rows())
        return _form_page(request, person, form, errors=errors, next_path=next_path)
    return see_other(_with_notice(next_path, "created"))


async def own_task(task_id: uuid.UUID, person: SignedIn, db: DbSession) -> Task:
    """The task of the path, if it is the signed-in person's; otherwise the 404 page."""
    try:
        return await commands.get_task(db, owner_of(person), task_id)
    except TaskNotFound:
        raise MissingPage(person) from None


OwnTask = Annotated[Task, Depends(own_task)]


@router.get("/ui/tasks/{task_id}/edit")
async def edit_task(request: Request, person: SignedIn, task: OwnTask, next: str = "/") -> Response:
    form = TaskForm.of_task(task).with_blank_reminders()
    return _form_page(request, person, form, task=task, next_path=safe_next(next))


@router.post("/ui/tasks/{task_id}/edit")
async def save_task(
    request: Request,
    task_id: uuid.UUID,
    person: SignedIn,
    db: DbSession,
    posted: PostedForm,  # before the task: a forged post learns nothing about it
    task: OwnTask,
) -> Response:
    form, next_path = TaskForm.parse(posted), safe_next(field_text(posted, "next"))
    if form.version != str(task.version):
        return _changed_elsewhere(request, person, form, task, next_path)
    try:
        body = form.update_body(TaskForm.of_task(task))
        if not body.model_fields_set:
            return see_other(_with_notice(next_path, "unchanged"))
        await commands.update_task(db, task, body)
        await db.commit()
    except FormInvalid as invalid:
        return _form_page(
            request, person, form, task=task, errors=invalid.errors, next_path=next_path
        )
    except InvalidTaskInput as refused:
        await db.rollback()
        task = await commands.get_task(db, owner_of(person), task_id)
        errors = input_errors(refused, form.reminder_rows())
        return _form_page(request, person, form, task=task, errors=errors, next_path=next_path)
    except VersionConflict:
        # Someone else committed a change between our read and our write.
        await db.rollback()
        task = await commands.get_task(db, owner_of(person), task_id)
        return _changed_elsewhere(request, person, form, task, next_path)
    return see_other(_with_notice(next_path, "saved"))


def _changed_elsewhere(
    request: Request, person: Visitor, form: TaskForm, task: Task, next_path: str
) -> Response:
    """Keep what was typed, explain, and let a second save overwrite the newer version."""
    message = (
        "This task was changed elsewhere (another tab or device) after you opened it. "
        "Your values are kept below; save again to replace the other change with them."
    )
    form = form.with_version(task.version)
    return _form_page(
        request, person, form, task=task, errors={"form": message}, next_path=next_path
    )


@router.post("/ui/tasks/{task_id}/complete")
async def complete_task(
    request: Request, task_id: uuid.UUID, person: SignedIn, db: DbSession, posted: PostedForm
) -> Response:
    try:
        await commands.complete_task(db, owner_of(person), task_id)
    except TaskNotFound:
        raise MissingPage(person) from None
    await db.commit()
    return see_other(_with_notice(safe_next(field_text(posted, "next")), "completed"))


@router.get("/ui/tasks/{task_id}/delete")
async def confirm_delete(
    request: Request, person: SignedIn, task: OwnTask, next: str = "/"
) -> Response:
    return page(request, person, "delete.html", {"task": task, "next": safe_next(next)})


@router.post("/ui/tasks/{task_id}/delete")
async def delete_task(
    person: SignedIn, db: DbSession, posted: PostedForm, task: OwnTask
) -> Response:
    await commands.delete_task(db, task)
    await db.commit()
    return see_other(_with_notice(safe_next(field_text(posted, "next")), "deleted"))
