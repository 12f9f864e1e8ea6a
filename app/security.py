"""Password hashing, access tokens and the failed-login throttle."""

from __future__ import annotations

import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# argon2id with the library's RFC 9106 "low memory" profile keeps a login near 50 ms here.
_hasher = PasswordHasher()
# Verified against when the account does not exist, so a login's timing does not reveal it.
_DUMMY_HASH = _hasher.hash("not-a-real-password")
JWT_ALGORITHM = "HS256"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


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


@dataclass
class LoginThrottle:
    """Counts failed logins per key in a sliding window, in this process.

    Keys are an account (lower-cased e-mail) and a client address; each has its own limit.
    Per-process state is the right trade-off for one API replica and bounds brute force per
    replica when there are several; the limit a client sees scales with the replica count.
    """

    window_seconds: float
    max_keys: int = 100_000
    _failures: dict[str, deque[float]] = field(default_factory=dict)

    def _recent(self, key: str, now: float) -> deque[float]:
        stamps = self._failures.get(key)
        if stamps is None:
            return deque()
        while stamps and stamps[0] <= now - self.window_seconds:
            stamps.popleft()
        if not stamps:
            del self._failures[key]
        return stamps

    def retry_after(self, key: str, limit: int) -> int | None:
        """Seconds until ``key`` may try again, or None when it is under its limit."""
        now = time.monotonic()
        stamps = self._recent(key, now)
        if len(stamps) < limit:
            return None
        return max(1, int(stamps[-limit] + self.window_seconds - now) + 1)

    def record_failure(self, key: str) -> None:
        if len(self._failures) >= self.max_keys:
            # Bounded memory under a spray of distinct keys: forget the oldest key.
            self._failures.pop(next(iter(self._failures)))
        self._failures.setdefault(key, deque()).append(time.monotonic())

    def reset(self, key: str) -> None:
        self._failures.pop(key, None)
