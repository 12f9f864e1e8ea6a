"""POST /chat: plain language in, the assistant's answer and the tasks it touched out.

The change, its outbox events and its undo commit in one transaction here. A message the
assistant cannot act on gets a question back and leaves everything as it was.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from app.api.deps import CurrentUser, DbSession, State
from app.api.problems import documented
from app.chat.agent import chat as answer
from app.chat.assistant import Action
from app.chat.parser import MAX_MESSAGE
from app.chat.tasks_port import TaskView
from app.tasks.inputs import Priority, TimeZone

router = APIRouter(tags=["chat"], responses=documented(401, 422))


class ChatIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message: Annotated[str, Field(min_length=1, max_length=MAX_MESSAGE)]
    timezone: TimeZone = Field("UTC", description="the user's IANA zone: dates are read in it")


class ChatTask(BaseModel):
    id: uuid.UUID
    title: str
    due_date: datetime | None
    timezone: str
    recurrence: dict[str, Any] | None
    recurrence_text: str | None = Field(description="the rule in words, e.g. 'every 2 weeks'")
    tags: list[str]
    priority: Priority
    completed: bool
    version: int


class ChatOut(BaseModel):
    reply: str = Field(description="what was done, in words, or a question back")
    action: Action
    tasks: list[ChatTask] = Field(description="the tasks the reply is about, as they are now")
    undo: bool = Field(description="whether the message 'undo' would take this change back")


def _task(view: TaskView) -> ChatTask:
    return ChatTask.model_validate(view.summary())


@router.post("/chat", response_model=ChatOut)
async def chat(body: ChatIn, user: CurrentUser, db: DbSession, app_state: State) -> ChatOut:
    """Act on your tasks in plain language: "standup every weekday at 9:30 #work",
    "what's due this week?", "done standup", "undo". See the README's Chat section."""
    reply = await answer(
        db, user.id, body.message, timezone=body.timezone, agent=app_state.chat_agent
    )
    return ChatOut(
        reply=reply.text,
        action=reply.action,
        tasks=[_task(view) for view in reply.tasks],
        undo=reply.undo,
    )
