"""The chat panel: a message box on every task page's side and its own page with the answer.

The post is a form like every other UI change (CSRF-checked first), read in the browser's
time zone, and runs the same assistant as ``POST /chat``, in one transaction.
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.deps import DbSession, State
from app.chat.agent import chat as answer
from app.chat.assistant import Reply
from app.chat.parser import MAX_MESSAGE
from app.chat.tasks_port import TaskView
from app.core.db.models import Task
from app.ui.forms import field_text
from app.ui.posting import PostedForm
from app.ui.render import page
from app.ui.session import SignedIn, owner_of

router = APIRouter(include_in_schema=False)


@router.get("/ui/chat")
async def chat_page(request: Request, person: SignedIn) -> Response:
    return page(request, person, "chat.html", {"message": "", "reply": None})


@router.post("/ui/chat")
async def chat_post(
    request: Request, person: SignedIn, db: DbSession, app_state: State, posted: PostedForm
) -> Response:
    message = field_text(posted, "message")
    if not message.strip() or len(message) > MAX_MESSAGE:
        context = {
            "message": message[:MAX_MESSAGE],
            "reply": None,
            "chat_error": f"Type a message of 1 to {MAX_MESSAGE} characters.",
        }
        return page(request, person, "chat.html", context, status=422)
    reply = await answer(
        db, owner_of(person), message, timezone=person.timezone, agent=app_state.chat_agent
    )
    # A question keeps the message in the box to be corrected; after a change it is cleared.
    kept = message if reply.action == "clarify" else ""
    linked = await _still_there(db, owner_of(person), reply)
    return page(request, person, "chat.html", {"message": kept, "reply": reply, "linked": linked})


async def _still_there(db: AsyncSession, owner: uuid.UUID, reply: Reply) -> list[TaskView]:
    """The answer's tasks that still exist, the ones its "History of" links may name.

    A task the answer deleted (the parser's delete, an undone creation, or any of the agent's
    steps) is left out: its history page exists only once the audit log has caught up, so a
    link to it could lead to "not found"."""
    if reply.action == "listed" or not reply.tasks:
        return []
    ids = [view.id for view in reply.tasks]
    found = set(await db.scalars(select(Task.id).where(Task.owner_id == owner, Task.id.in_(ids))))
    return [view for view in reply.tasks if view.id in found]
