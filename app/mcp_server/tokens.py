"""Personal access tokens: what the MCP server accepts in place of a password or a session.

A token is `todo_pat_` + 32 random bytes (urlsafe base64), shown once when it is made. Only its
SHA-256 is stored: a 256-bit random secret cannot be guessed from its hash, so the slow
password hashes (argon2) that protect low-entropy passwords would only cost time on every
request. A token carries scopes (`tasks:read`, `tasks:write`), can be revoked, and is refused
from then on.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final, Literal

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db.models import AccessToken, User
from app.core.db.owned import oldest_first

Scope = Literal["tasks:read", "tasks:write"]
SCOPES: Final[tuple[Scope, ...]] = ("tasks:read", "tasks:write")
PREFIX: Final = "todo_pat_"
MAX_TOKENS: Final = 50  # per user: enough for every assistant one person runs


@dataclass(frozen=True, slots=True)
class Holder:
    """Who a valid token speaks for, and what it may do."""

    owner_id: uuid.UUID
    token_id: uuid.UUID
    scopes: tuple[str, ...]


class TooManyTokens(Exception):
    pass


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def issue(
    session: AsyncSession, owner: uuid.UUID, name: str, scopes: list[Scope]
) -> tuple[AccessToken, str]:
    """A new token for `owner` (the caller commits); the token itself is returned only here."""
    live = await session.scalar(
        select(func.count()).where(AccessToken.owner_id == owner, AccessToken.revoked_at.is_(None))
    )
    if (live or 0) >= MAX_TOKENS:
        raise TooManyTokens(f"at most {MAX_TOKENS} tokens; revoke one first")
    token = PREFIX + secrets.token_urlsafe(32)
    row = AccessToken(
        id=uuid.uuid4(),
        owner_id=owner,
        name=name,
        token_hash=digest(token),
        scopes={"scopes": sorted(set(scopes))},
        created_at=datetime.now(UTC),
    )
    session.add(row)
    await session.flush()
    return row, token


async def listed(session: AsyncSession, owner: uuid.UUID) -> list[AccessToken]:
    return await oldest_first(session, AccessToken, owner)


async def revoke(session: AsyncSession, owner: uuid.UUID, token_id: uuid.UUID) -> bool:
    """Revoke the owner's token; False when there is no such token of theirs."""
    row = await session.scalar(
        select(AccessToken).where(AccessToken.id == token_id, AccessToken.owner_id == owner)
    )
    if row is None:
        return False
    if row.revoked_at is None:
        row.revoked_at = datetime.now(UTC)
    return True


async def verify(session: AsyncSession, token: str) -> Holder | None:
    """The holder of `token` if it is live and its account exists; None otherwise."""
    if not token.startswith(PREFIX) or len(token) > 200:
        return None
    row = await session.scalar(
        select(AccessToken)
        .join(User, User.id == AccessToken.owner_id)
        .where(AccessToken.token_hash == digest(token), AccessToken.revoked_at.is_(None))
    )
    if row is None:
        return None
    await session.execute(
        update(AccessToken).where(AccessToken.id == row.id).values(last_used_at=datetime.now(UTC))
    )
    return Holder(owner_id=row.owner_id, token_id=row.id, scopes=tuple(row.scopes["scopes"]))
