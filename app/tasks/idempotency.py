"""Creating a task at most once per idempotency key: a retry gets the first reply back.

The key, a fingerprint of the request and the reply the caller rendered for the new task are
stored in the transaction that creates the task. A retry with the same key and the same request
replays the stored reply without creating anything; with another request it is refused. Of two
concurrent first attempts, the primary key on ``(owner, key)`` lets one commit; the other rolls
back and replays the winner's reply.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db.models import IdempotencyKey, Task
from app.tasks.commands import create_task
from app.tasks.errors import IdempotencyKeyReused
from app.tasks.inputs import NewTask


@dataclass(frozen=True, slots=True)
class StoredReply:
    """What the caller answered for the created task; replayed as it is."""

    status: int
    body: dict[str, Any]
    version: int | None = None  # the task's version when served fresh (replays carry none)


@dataclass(frozen=True, slots=True)
class Outcome:
    reply: StoredReply
    replayed: bool


def fingerprint(body: NewTask) -> str:
    """The same request always hashes the same, whatever the order of its fields."""
    canonical = json.dumps(body.model_dump(mode="json"), sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


async def create_task_once(
    session: AsyncSession,
    owner_id: uuid.UUID,
    key: str,
    body: NewTask,
    render: Callable[[Task], StoredReply],
    *,
    traceparent: str | None = None,
) -> Outcome:
    """Create the task and commit, or replay the reply stored for ``key``."""
    request_hash = fingerprint(body)
    stored = await _stored(session, owner_id, key, request_hash)
    if stored is not None:
        return Outcome(stored, replayed=True)
    task = await create_task(session, owner_id, body, traceparent=traceparent)
    reply = render(task)
    session.add(
        IdempotencyKey(
            owner_id=owner_id,
            key=key,
            request_hash=request_hash,
            status_code=reply.status,
            response=reply.body,
        )
    )
    try:
        await session.commit()
    except IntegrityError:
        # A concurrent retry with the same key won the race: serve what it stored.
        await session.rollback()
        stored = await _stored(session, owner_id, key, request_hash)
        if stored is None:
            raise
        return Outcome(stored, replayed=True)
    return Outcome(reply, replayed=False)


async def _stored(
    session: AsyncSession, owner_id: uuid.UUID, key: str, request_hash: str
) -> StoredReply | None:
    stored = await session.get(IdempotencyKey, (owner_id, key))
    if stored is None:
        return None
    if stored.request_hash != request_hash:
        raise IdempotencyKeyReused()
    return StoredReply(stored.status_code, stored.response)
