"""Ending a session on the server: a revoked token's id (jti) is refused until it expires.

Tokens are otherwise stateless, so "log out" used to delete only the browser's cookie; a copy
of the token kept working for its whole lifetime. Every authenticated request (API bearer and
UI cookie) now also checks that its token id is not in ``revoked_tokens`` -- folded into the
account lookup each request already makes. Rows are deleted once their token has expired.
"""

from __future__ import annotations

import time
from typing import cast

from sqlalchemy import ColumnElement, Table, delete, exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db.auth_models import RevokedToken
from app.security import TokenClaims

_revoked = cast(Table, RevokedToken.__table__)


def not_revoked(token_id: str) -> ColumnElement[bool]:
    """A condition for the account lookup: this token has not been logged out."""
    return ~exists(select(_revoked.c.token_id).where(_revoked.c.token_id == token_id))


async def revoke(db: AsyncSession, claims: TokenClaims) -> None:
    """Refuse this token from now on (idempotent), and forget tokens that have expired."""
    await db.execute(delete(_revoked).where(_revoked.c.expires_at < time.time()))
    db.add(RevokedToken(token_id=claims.token_id, expires_at=claims.expires_at))
    try:
        await db.commit()
    except IntegrityError:  # logged out twice (two tabs): already refused
        await db.rollback()
