"""The task operations as a Model Context Protocol server (the official `mcp` SDK, 2.x).

Tools: add_task, list_tasks, update_task, complete_task, delete_task, task_occurrences,
task_history; resources `task://{task_id}` and `tasks://open`. Arguments are the task
service's own input models, which the REST API's request bodies are too (their JSON Schemas
are the tools' input schemas); changes go through the same task service; results are the
REST API's JSON; and every call acts for the holder of a personal access token only: a task
of anyone else is "not found", exactly as in the API.

Who the caller is comes from an `Identity`: over streamable HTTP the SDK's bearer middleware
has verified the token for this request; over stdio the token from the environment is checked
again on every call, so revoking it stops a running desktop assistant too.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import asdict
from typing import Annotated, Any, cast

from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.provider import TokenVerifier
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import (
    MCPServerError,
    ResourceError,
    ResourceNotFoundError,
    ToolError,
)
from pydantic import Field
from pydantic_core import to_jsonable_python
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.api.history import history_out
from app.api.task_views import task_out
from app.core.db.models import Task
from app.core.observability.tracing import current_traceparent
from app.mcp_server.tokens import Holder, verify
from app.tasks import commands
from app.tasks.errors import TaskError
from app.tasks.history import task_history as read_history
from app.tasks.inputs import NewTask, Priority, TaskChanges, TaskId
from app.tasks.queries import TaskFilter, list_tasks
from app.tasks.schedule import MAX_OCCURRENCES, upcoming_occurrences

Identity = Callable[[AsyncSession], Awaitable[Holder]]
INSTRUCTIONS = (
    "Manage the user's tasks in todo-platform: add, list and search, update, complete and "
    "delete tasks, see a recurring task's next occurrences and a task's history. Dates are ISO "
    "8601 with an offset; recurrence is 'daily', 'weekly', 'monthly', 'yearly' or a rule object."
)
HISTORY_LIMIT = 100
LIST_LIMIT = 100


async def from_http_request(session: AsyncSession) -> Holder:
    """The holder the SDK's bearer middleware verified for this HTTP request."""
    token = get_access_token()
    if token is None or token.claims is None:
        raise ToolError("not authenticated: send a personal access token as a bearer token")
    return Holder(
        owner_id=uuid.UUID(token.client_id),
        token_id=uuid.UUID(str(token.claims["token_id"])),
        scopes=tuple(token.scopes),
    )


def from_token(token: str) -> Identity:
    """The holder of `token`, checked on every call (stdio: one token for the process)."""

    async def holder(session: AsyncSession) -> Holder:
        found = await verify(session, token)
        if found is None:
            raise ToolError("the access token is unknown or revoked")
        await session.commit()  # its last use
        return found

    return holder


async def _saved(session: AsyncSession, task: Task) -> dict[str, Any]:
    """Commit the caller's change; the task as it now is, as the REST API's JSON."""
    await session.commit()
    return task_out(task).model_dump(mode="json")


def build(
    sessions: Callable[[], async_sessionmaker[AsyncSession]],
    identity: Identity,
    *,
    auth: AuthSettings | None = None,
    token_verifier: TokenVerifier | None = None,
) -> MCPServer:
    """The MCP server over the database `sessions()` gives, acting for `identity`; `auth` and
    `token_verifier` guard its HTTP transport."""
    server: MCPServer = MCPServer(
        name="todo-platform",
        instructions=INSTRUCTIONS,
        auth=auth,
        token_verifier=token_verifier,
    )

    @asynccontextmanager
    async def caller(
        scope: str, refuse: type[MCPServerError] = ToolError
    ) -> AsyncIterator[tuple[AsyncSession, uuid.UUID]]:
        """A session and the caller's id, for a call needing `scope`; any refusal (no or a
        revoked token, a missing scope, an error of the task service) is a `refuse` error."""
        async with sessions()() as session:
            try:
                holder = await identity(session)
            except ToolError as refused:
                raise refuse(str(refused)) from None
            if scope not in holder.scopes:
                raise refuse(f"this access token lacks the {scope} scope")
            try:
                yield session, holder.owner_id
            except TaskError as refused:
                # The task service's refusal, naming the field at fault; nothing is committed.
                await session.rollback()
                raise refuse(str(refused)) from None

    @server.tool(description="Create a task. Same fields and rules as POST /tasks.")
    async def add_task(task: NewTask) -> dict[str, Any]:
        async with caller("tasks:write") as (session, owner):
            created = await commands.create_task(
                session, owner, task, traceparent=current_traceparent()
            )
            return await _saved(session, created)

    @server.tool(name="list_tasks", description="List or search your tasks, soonest due first.")
    async def list_tasks_tool(
        completed: bool | None = None,
        priority: Priority | None = None,
        tag: Annotated[str | None, Field(max_length=32)] = None,
        text: Annotated[
            str | None, Field(max_length=200, description="in title or description")
        ] = None,
        overdue: bool | None = None,
        limit: Annotated[int, Field(ge=1, le=LIST_LIMIT)] = 50,
    ) -> dict[str, list[dict[str, Any]]]:
        async with caller("tasks:read") as (session, owner):
            rows, _ = await list_tasks(
                session,
                owner,
                TaskFilter(
                    completed=completed, priority=priority, tag=tag, text=text, overdue=overdue
                ),
                sort="due_date",
                direction="asc",
                limit=limit,
                cursor=None,
            )
            return {"tasks": [task_out(row).model_dump(mode="json") for row in rows]}

    @server.tool(
        description="Change a task: only the fields given change; null clears an optional one. "
        "Same fields and rules as PATCH /tasks/{id}."
    )
    async def update_task(task_id: TaskId, changes: TaskChanges) -> dict[str, Any]:
        async with caller("tasks:write") as (session, owner):
            task = await commands.get_task(session, owner, task_id)
            changed = await commands.update_task(
                session, task, changes, traceparent=current_traceparent()
            )
            return await _saved(session, changed)

    @server.tool(description="Mark a task completed (a recurring task's next occurrence follows).")
    async def complete_task(task_id: TaskId) -> dict[str, Any]:
        async with caller("tasks:write") as (session, owner):
            done = await commands.complete_task(
                session, owner, task_id, traceparent=current_traceparent()
            )
            return await _saved(session, done)

    @server.tool(description="Delete a task (deleting a series' open occurrence ends the series).")
    async def delete_task(task_id: TaskId) -> dict[str, Any]:
        async with caller("tasks:write") as (session, owner):
            task = await commands.get_task(session, owner, task_id)
            await commands.delete_task(session, task, traceparent=current_traceparent())
            await session.commit()
            return {"deleted": str(task_id)}

    @server.tool(description="A recurring task's occurrence and the ones after it.")
    async def task_occurrences(
        task_id: TaskId, limit: Annotated[int, Field(ge=1, le=MAX_OCCURRENCES)] = 10
    ) -> dict[str, Any]:
        async with caller("tasks:read") as (session, owner):
            schedule = await upcoming_occurrences(session, owner, task_id, limit)
            return cast(dict[str, Any], to_jsonable_python(asdict(schedule)))

    @server.tool(description="A task's history from the audit log, oldest first.")
    async def task_history(task_id: TaskId) -> dict[str, Any]:
        async with caller("tasks:read") as (session, owner):
            page = await read_history(session, owner, task_id, limit=HISTORY_LIMIT)
            return history_out(task_id, page).model_dump(mode="json")

    @server.resource("task://{task_id}", mime_type="application/json", description="One task.")
    async def task_resource(task_id: str) -> str:
        try:
            wanted = uuid.UUID(task_id)
        except ValueError:
            raise ResourceNotFoundError(f"no task {task_id!r}") from None
        async with caller("tasks:read", ResourceError) as (session, owner):
            return task_out(await commands.get_task(session, owner, wanted)).model_dump_json()

    @server.resource("tasks://open", mime_type="application/json", description="Open tasks.")
    async def open_tasks() -> str:
        async with caller("tasks:read", ResourceError) as (session, owner):
            rows, _ = await list_tasks(
                session,
                owner,
                TaskFilter(completed=False),
                sort="due_date",
                direction="asc",
                limit=LIST_LIMIT,
                cursor=None,
            )
            return "[" + ",".join(task_out(row).model_dump_json() for row in rows) + "]"

    return server
