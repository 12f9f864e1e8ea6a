"""Access tokens (password hashing and the login throttle are in app/auth/)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

JWT_ALGORITHM = "HS256"


def issue_token(user_id: uuid.UUID, secret: str, ttl: timedelta) -> str:
    now = datetime.now(UTC)
    claims = {"sub": str(user_id), "iat": now, "exp": now + ttl, "jti": uuid.uuid4().hex}
    return jwt.encode(claims, secret, algorithm=JWT_ALGORITHM)


class InvalidToken(Exception):
    pass


@dataclass(frozen=True)
class TokenClaims:
    user_id: uuid.UUID
    token_id: str  # the jti: what logging out revokes
    expires_at: float  # epoch seconds


def read_claims(token: str, secret: str) -> TokenClaims:
    """What a valid token says; expired, tampered or malformed tokens raise."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[JWT_ALGORITHM],
            options={"require": ["sub", "exp", "iat", "jti"]},
        )
        return TokenClaims(uuid.UUID(claims["sub"]), str(claims["jti"]), float(claims["exp"]))
    except (jwt.PyJWTError, ValueError, TypeError) as exc:
        raise InvalidToken(str(exc)) from None


def read_token(token: str, secret: str) -> uuid.UUID:
    """The user id a valid token names; expired, tampered or malformed tokens raise."""
    return read_claims(token, secret).user_id
