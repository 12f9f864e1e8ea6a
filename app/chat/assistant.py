"""The chat assistant: reads a message (app.chat.parser), acts on the caller's tasks through the
task service (app.chat.tasks_port) and says exactly what it did.

`respond` runs inside the caller's transaction; `respond_and_commit` (what POST /chat and the
UI's chat panel call) then commits: a change, its outbox events and the way back from it
("undo") commit together or not at all, and a question back leaves everything as it was.
Every change leaves an undo, except completing a recurring task (its next occurrence follows
from it at once); "undo" uses it once, and only while the task is still as the change left it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from app.chat import intents, tasks_port, wording
from app.chat.parser import parse
from app.chat.tasks_port import Refused, TaskView
from app.chat.when import Context, When, place, resolve

# "answered": the AI agent's reply (app/chat/agent.py), which may have made several changes.
Action = Literal[
    "created",
    "listed",
    "changed",
    "completed",
    "deleted",
    "snoozed",
    "undone",
    "clarify",
    "answered",
]
UNDO_HINT = " Say “undo” to take it back."


@dataclass(frozen=True, slots=True)
class Reply:
    text: str
    action: Action
    tasks: list[TaskView] = field(default_factory=list)
    undo: bool = False  # whether "undo" would now take this change back


class _Ask(Exception):
    """Stop and ask the user (no change made); str() is the question."""


async def respond(
    session: AsyncSession, owner: uuid.UUID, message: str, *, timezone: str, now: datetime
) -> Reply:
    """The answer to `message` from the user `owner` in `timezone` at `now`."""
    intent = parse(message, timezone=timezone, now=now)
    zone = ZoneInfo(timezone)
    turn = Turn(session, owner, Context(zone=zone, now=now.astimezone(zone)))
    try:
        return await turn.act(intent)
    except (_Ask, Refused) as stop:
        return Reply(str(stop), "clarify")


async def respond_and_commit(
    session: AsyncSession, owner: uuid.UUID, message: str, *, timezone: str, now: datetime
) -> Reply:
    return await settle(session, await respond(session, owner, message, timezone=timezone, now=now))


async def settle(session: AsyncSession, reply: Reply) -> Reply:
    """Commit what `reply` did, or roll back when it is a question (nothing was done)."""
    if reply.action == "clarify":
        await session.rollback()
    else:
        await session.commit()
    return reply


@dataclass(frozen=True, slots=True)
class Turn:
    """The caller's changes by chat, each leaving its way back (undo). The parser's intents
    come in through `act`; the AI agent's tools call the public methods with a task it found."""

    session: AsyncSession
    owner: uuid.UUID
    context: Context

    @property
    def zone(self) -> ZoneInfo:
        return self.context.zone

    async def act(self, intent: intents.Intent) -> Reply:
        match intent:
            case intents.Clarify(question):
                return Reply(question, "clarify")
            case intents.Create(draft):
                return await self._create(draft)
            case intents.Query():
                return await self._query(intent)
            case intents.Complete(target):
                return await self._complete(target)
            case intents.Delete(target):
                return await self._delete(target)
            case intents.Change():
                return await self._change(intent)
            case intents.Snooze(target, by):
                return await self._snooze(target, by)
            case intents.Undo():
                return await self.undo()
        raise AssertionError(f"unhandled intent {intent!r}")

    async def _remember(self, action: dict[str, Any] | None) -> None:
        await tasks_port.remember_undo(self.session, self.owner, action, self.context.now)

    async def _one(self, target: str, *, completed: bool | None = False) -> TaskView:
        found = await tasks_port.matching(self.session, self.owner, target, completed=completed)
        if not found:
            raise _Ask(f"I found no open task matching “{target}”.")
        exact = [view for view in found if view.title.lower() == target.lower()]
        if len(exact) == 1:
            return exact[0]
        if len(found) > 1:
            raise _Ask(wording.choices(found, self.zone))
        return found[0]

    async def _create(self, draft: intents.TaskDraft) -> Reply:
        body: dict[str, Any] = {
            "title": draft.title,
            "tags": list(draft.tags),
            "timezone": self.context.zone.key,
            "due_date": None if draft.due is None else draft.due.isoformat(),
            "recurrence": None if draft.rule is None else draft.rule.to_dict(),
            "reminders": [{"before": f"PT{int(r.total_seconds())}S"} for r in draft.reminders],
        }
        if draft.priority is not None:
            body["priority"] = draft.priority
        return await self.create(body)

    async def create(self, body: dict[str, Any]) -> Reply:
        """Create the task `body` describes (POST /tasks's JSON)."""
        view = await tasks_port.create(self.session, self.owner, body)
        await self._remember({"kind": "delete", "task_id": str(view.id), "version": view.version})
        text = f"Added {wording.task(view, self.zone)}.{UNDO_HINT}"
        return Reply(text, "created", [view], undo=True)

    async def _query(self, query: intents.Query) -> Reply:
        views = await tasks_port.search(self.session, self.owner, query)
        what = query.kind
        scope = f" {query.period}" if query.period else ""
        tag = f" tagged #{query.tag}" if query.tag else ""
        if not views:
            return Reply(f"No {what} tasks{tag}{scope}.", "listed")
        more = " (the first 20)" if len(views) == tasks_port.LIST_LIMIT else ""
        head = f"{len(views)} {what} task{'s' if len(views) > 1 else ''}{tag}{scope}{more}:"
        return Reply(f"{head}\n{wording.listing(views, self.zone)}", "listed", views)

    async def _complete(self, target: str) -> Reply:
        return await self.complete(await self._one(target))

    async def complete(self, view: TaskView) -> Reply:
        done = await tasks_port.complete(self.session, self.owner, view.id)
        if done.rule is not None:
            # The recurring service starts the next occurrence from this completion at once,
            # so there is no way back here (and no older change to fall back to either).
            await self._remember(None)
            follow = "Its next occurrence follows by its rule."
            return Reply(
                f"Completed {wording.task(done, self.zone)}. {follow}", "completed", [done]
            )
        await self._remember({"kind": "reopen", "task_id": str(done.id), "version": done.version})
        return Reply(
            f"Completed {wording.task(done, self.zone)}.{UNDO_HINT}", "completed", [done], undo=True
        )

    async def _delete(self, target: str) -> Reply:
        return await self.delete(await self._one(target, completed=None))

    async def delete(self, view: TaskView) -> Reply:
        gone = await tasks_port.remove(self.session, self.owner, view.id)
        await self._remember({"kind": "recreate", "body": gone.body()})
        text = f"Deleted {wording.task(gone, self.zone)}.{UNDO_HINT}"
        return Reply(text, "deleted", [gone], undo=True)

    async def _change(self, change: intents.Change) -> Reply:
        view = await self._one(change.target)
        body: dict[str, Any] = {}
        if change.title is not None:
            body["title"] = change.title
        if change.priority is not None:
            body["priority"] = change.priority
        if change.day is not None or change.at is not None:
            due = self._moved_due(view, change)
            body["due_date"] = due.isoformat()
            if view.rule is not None:
                # The series moves with it: the rule restarts from the new due date.
                body["recurrence"] = view.rule.to_dict()
        return await self.update(view, body, "changed", "Changed")

    def _moved_due(self, view: TaskView, change: intents.Change) -> datetime:
        if view.due is None:
            moved = resolve(When(day=change.day, at=change.at), self.context)
            assert moved is not None  # the parser gives a day or a time
            return moved
        zone = ZoneInfo(view.timezone)
        local = view.due.astimezone(zone)
        day = change.day or local.date()
        at = change.at or local.time().replace(tzinfo=None)
        return place(day, at, zone)

    async def _snooze(self, target: str, by: timedelta) -> Reply:
        view = await self._one(target)
        until = self.context.now.astimezone(UTC) + by
        # Pending reminders due before then give way to the snooze; later ones stay.
        kept = [tasks_port.reminder_json(r) for r in view.reminders if r.at > until]
        body = {"reminders": [*kept, {"at": until.isoformat()}]}
        return await self.update(view, body, "snoozed", f"Snoozed for {wording.span(by)}:")

    async def update(
        self, view: TaskView, body: dict[str, Any], action: Action, verb: str
    ) -> Reply:
        before = view.body(*body)
        changed = await tasks_port.update(self.session, self.owner, view.id, body)
        await self._remember(
            {
                "kind": "restore",
                "task_id": str(view.id),
                "version": changed.version,
                "body": before,
            }
        )
        text = f"{verb} {wording.task(changed, self.zone)}.{UNDO_HINT}"
        return Reply(text, action, [changed], undo=True)

    async def undo(self) -> Reply:
        action = await tasks_port.last_undo(self.session, self.owner)
        if action is None:
            return Reply("There is nothing to undo.", "clarify")
        if action["kind"] == "recreate":
            view = await tasks_port.create(self.session, self.owner, action["body"])
            return Reply(f"Undone: restored {wording.task(view, self.zone)}.", "undone", [view])
        task_id = uuid.UUID(action["task_id"])
        current = await tasks_port.get(self.session, self.owner, task_id)
        if current is None or current.version != action["version"]:
            return Reply("Nothing undone: that task has changed or gone since.", "clarify")
        if action["kind"] == "delete":
            gone = await tasks_port.remove(self.session, self.owner, task_id)
            return Reply(f"Undone: removed {wording.task(gone, self.zone)}.", "undone", [gone])
        if action["kind"] == "reopen":
            view = await tasks_port.reopen(self.session, self.owner, task_id)
            return Reply(
                f"Undone: {wording.task(view, self.zone)} is open again.", "undone", [view]
            )
        view = await tasks_port.update(self.session, self.owner, task_id, action["body"])
        return Reply(f"Undone: {wording.task(view, self.zone)} is as it was.", "undone", [view])
