"""Each user's conversation with the AI agent, kept in the database and bounded.

Only what was said is kept (the user's messages and the agent's final answers), not the tool
calls between them: a later message can refer back ("move it to 10am"), and the tools read
the tasks themselves afresh. Rows belong to one user and are read by owner only; after every
exchange the oldest beyond the limit are deleted, in the same transaction.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db.models import ChatMessage

Role = Literal["user", "assistant"]


async def recent(session: AsyncSession, owner: uuid.UUID, limit: int) -> list[dict[str, str]]:
    """The owner's last `limit` messages, oldest first, as Chat Completions messages."""
    if limit == 0:
        return []
    rows = await session.scalars(
        select(ChatMessage)
        .where(ChatMessage.owner_id == owner)
        .order_by(ChatMessage.id.desc())
        .limit(limit)
    )
    return [{"role": row.role, "content": row.content} for row in reversed(rows.all())]


async def append(
    session: AsyncSession,
    owner: uuid.UUID,
    exchange: list[tuple[Role, str]],
    *,
    now: datetime,
    keep: int,
) -> None:
    """Add `exchange` to the owner's conversation and keep only the newest `keep` messages."""
    session.add_all(
        ChatMessage(owner_id=owner, role=role, content=content, created_at=now)
        for role, content in exchange
    )
    await session.flush()
    newest = (
        select(ChatMessage.id)
        .where(ChatMessage.owner_id == owner)
        .order_by(ChatMessage.id.desc())
        .limit(keep)
    )
    await session.execute(
        delete(ChatMessage).where(
            ChatMessage.owner_id == owner, ChatMessage.id.not_in(newest.scalar_subquery())
        )
    )
