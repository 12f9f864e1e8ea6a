"""Access tokens (password hashing and the login throttle are in app/auth/)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import jwt

JWT_ALGORITHM = "HS256"


def issue_token(user_id: uuid.UUID, secret: str, ttl: timedelta) -> str:
    now = datetime.now(UTC)
    claims = {"sub": str(user_id), "iat": now, "exp": now + ttl, "jti": uuid.uuid4().hex}
    return jwt.encode(claims, secret, algorithm=JWT_ALGORITHM)


class InvalidToken(Exception):
    pass


def read_token(token: str, secret: str) -> uuid.UUID:
    """The user id a valid token names; expired, tampered or malformed tokens raise."""
    try:
        claims = jwt.decode(
            token, secret, algorithms=[JWT_ALGORITHM], options={"require": ["sub", "exp", "iat"]}
        )
        return uuid.UUID(claims["sub"])
    except (jwt.PyJWTError, ValueError, TypeError) as exc:
        raise InvalidToken(str(exc)) from None
