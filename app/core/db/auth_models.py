"""Account protection's tables, registered on ``Base.metadata`` from ``app/core/db/__init__``.

The login throttle's (migration ``0004``): attempts per key (an account, a client address,
sign-ups from an address), shared by every API replica. Times are seconds since the epoch
(floats), so the throttle's arithmetic is the same SQL on PostgreSQL and SQLite.
"""

from __future__ import annotations

from sqlalchemy import Float, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db.models import Base


class LoginThrottleRow(Base):
    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(400), primary_key=True)
    # Attempts since the key was last quiet for a whole window (a success resets an account).
    attempts: Mapped[int] = mapped_column(Integer)
    # The current wait once past the free attempts; doubles per attempt up to the maximum.
    backoff_seconds: Mapped[float] = mapped_column(Float)
    next_allowed_at: Mapped[float] = mapped_column(Float)
    last_attempt_at: Mapped[float] = mapped_column(Float)

    # Pruning deletes the keys quiet for a window.
    __table_args__ = (Index("ix_login_throttle_last_attempt_at", "last_attempt_at"),)


class RevokedToken(Base):
    """Access tokens ended before their expiry (logged out). A row is kept until the token
    would have expired anyway, then pruned; created by migration ``0007``."""

    __tablename__ = "revoked_tokens"

    token_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[float] = mapped_column(Float)

    __table_args__ = (Index("ix_revoked_tokens_expires_at", "expires_at"),)
