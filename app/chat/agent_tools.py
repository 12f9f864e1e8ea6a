"""The AI agent's tools: the MCP server's task operations, acting for the caller only.

Each tool's arguments are a pydantic model built from the task service's own inputs (`NewTask`,
`TaskChanges`), the same models the MCP server's tools take, so the JSON Schema the model sees
and the validation its arguments meet are the service's, declared once. Whose tasks are acted
on is never an argument: `Toolbox` is made for the signed-in caller, and every lookup is by
(owner, id), so a task id of another user, wherever the model read it (a task title written
to trick it, say), is "no such task" exactly as in the API.

A tool never raises into the loop: bad JSON, an unknown tool, arguments the service refuses
all come back as `{"error": ...}` naming the field, for the model to correct or to report.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, Final

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.chat import tasks_port
from app.chat.assistant import Reply, Turn
from app.chat.completions import Tool, ToolCall
from app.chat.tasks_port import Refused, TaskView
from app.tasks.inputs import NewTask, Priority, TaskChanges, TaskId
from app.tasks.queries import TaskFilter

LIST_LIMIT: Final = tasks_port.LIST_LIMIT


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AddTask(_Args):
    task: NewTask


class ListTasks(_Args):
    completed: bool | None = None
    priority: Priority | None = None
    tag: Annotated[str | None, Field(max_length=32)] = None
    text: Annotated[str | None, Field(max_length=200, description="in title or description")] = None
    overdue: bool | None = None
    limit: Annotated[int, Field(ge=1, le=LIST_LIMIT)] = LIST_LIMIT


class UpdateTask(_Args):
    task_id: TaskId
    changes: TaskChanges


class OneTask(_Args):
    task_id: TaskId


class NoArguments(_Args):
    pass


@dataclass
class Toolbox:
    """The tools for one message of one caller; `touched` is what the answer shows."""

    turn: Turn
    touched: dict[uuid.UUID, TaskView] = field(default_factory=dict)
    undo: bool = False  # whether "undo" would take the last change back

    async def call(self, call: ToolCall) -> dict[str, Any]:
        """Run one tool call; the result (or the error) as the model will read it."""
        entry = TOOLS.get(call.function.name)
        if entry is None:
            return {"error": f"unknown tool {call.function.name!r}; the tools are {sorted(TOOLS)}"}
        arguments_model, run = entry
        try:
            arguments = arguments_model.model_validate(json.loads(call.function.arguments or "{}"))
        except json.JSONDecodeError as error:
            return {"error": f"the arguments are not valid JSON ({error.msg})"}
        except ValidationError as error:
            return {"error": _first_problem(error)}
        try:
            return await run(self, arguments)
        except Refused as refused:
            return {"error": str(refused)}

    def _changed(self, reply: Reply) -> dict[str, Any]:
        for view in reply.tasks:
            self.touched[view.id] = view
        self.undo = reply.undo
        return {"done": reply.text, "tasks": [view.summary() for view in reply.tasks]}

    async def _task(self, task_id: uuid.UUID) -> TaskView:
        view = await tasks_port.get(self.turn.session, self.turn.owner, task_id)
        if view is None:
            raise Refused(f"task_id: no task {task_id} (list_tasks gives the ids)")
        return view

    async def add_task(self, arguments: AddTask) -> dict[str, Any]:
        body = arguments.task.model_dump(mode="json")
        if "timezone" not in arguments.task.model_fields_set:
            body["timezone"] = self.turn.zone.key  # the user's zone, as the parser does
        return self._changed(await self.turn.create(body))

    async def list_tasks(self, arguments: ListTasks) -> dict[str, Any]:
        # The arguments are the list's filter, field for field, and how many to list.
        task_filter = TaskFilter(**arguments.model_dump(exclude={"limit"}))
        views = await tasks_port.filtered(
            self.turn.session, self.turn.owner, task_filter, arguments.limit
        )
        return {"tasks": [view.summary() for view in views]}

    async def update_task(self, arguments: UpdateTask) -> dict[str, Any]:
        view = await self._task(arguments.task_id)
        body = arguments.changes.model_dump(mode="json", exclude_unset=True)
        if not body:
            raise Refused("changes: give at least one field to change")
        return self._changed(await self.turn.update(view, body, "changed", "Changed"))

    async def complete_task(self, arguments: OneTask) -> dict[str, Any]:
        return self._changed(await self.turn.complete(await self._task(arguments.task_id)))

    async def delete_task(self, arguments: OneTask) -> dict[str, Any]:
        return self._changed(await self.turn.delete(await self._task(arguments.task_id)))

    async def undo_last_change(self, arguments: NoArguments) -> dict[str, Any]:
        reply = await self.turn.undo()
        if reply.action != "undone":
            raise Refused(reply.text)
        return self._changed(reply)


def _first_problem(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "arguments"
    return f"{where}: {first['msg']}"


Run = Callable[[Toolbox, Any], Awaitable[dict[str, Any]]]
TOOLS: Final[dict[str, tuple[type[_Args], Run]]] = {
    "add_task": (AddTask, Toolbox.add_task),
    "list_tasks": (ListTasks, Toolbox.list_tasks),
    "update_task": (UpdateTask, Toolbox.update_task),
    "complete_task": (OneTask, Toolbox.complete_task),
    "delete_task": (OneTask, Toolbox.delete_task),
    "undo_last_change": (NoArguments, Toolbox.undo_last_change),
}
DESCRIPTIONS: Final = {
    "add_task": "Create a task. Same fields and rules as POST /tasks; dates are ISO 8601 with "
    "an offset; the user's time zone is used when none is given.",
    "list_tasks": f"List or search the user's tasks, soonest due first (at most {LIST_LIMIT}).",
    "update_task": "Change a task: only the fields given change; null clears an optional one.",
    "complete_task": "Mark a task completed (a recurring task's next occurrence follows).",
    "delete_task": "Delete a task (deleting a series' open occurrence ends the series).",
    "undo_last_change": "Take back the user's last change made by chat, if it still can be.",
}
DECLARED: Final = [
    Tool(name, DESCRIPTIONS[name], arguments.model_json_schema())
    for name, (arguments, _) in TOOLS.items()
]
