"""The login throttle's table: attempts per key (an account, a client address, sign-ups from
an address), shared by every API replica. Registered on ``Base.metadata`` from
``app/core/db/__init__``; created by migration ``0004``.

Times are seconds since the epoch (floats), so the throttle's arithmetic is the same SQL on
PostgreSQL and SQLite.
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
