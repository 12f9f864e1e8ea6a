"""The chat panel: a message box on every task page's side and its own page with the answer.

The post is a form like every other UI change (CSRF-checked first), read in the browser's
time zone, and runs the same assistant as ``POST /chat``, in one transaction.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from app.api.deps import DbSession, State
from app.chat.agent import chat as answer
from app.chat.parser import MAX_MESSAGE
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
    return page(request, person, "chat.html", {"message": kept, "reply": reply})
