"""Login and sign-up throttling shared by every API replica, in the database.

Each key (an account's lower-cased e-mail, a client address, sign-ups from an address) has one
row. An attempt is counted *before* the password is checked, in one atomic statement
(``INSERT ... ON CONFLICT DO UPDATE ... WHERE next_allowed_at <= now``: PostgreSQL locks the
row, SQLite serializes writers), so thirty parallel guesses cannot all slip under the limit:
exactly ``free`` of them are evaluated, the rest are told to wait.

Past ``free`` attempts a key backs off instead of locking out: each further attempt is allowed
only after a wait that doubles from ``base`` seconds up to ``cap``. Someone else's wrong guesses
therefore delay the real owner by at most ``cap`` seconds, never for a quarter of an hour, and
the owner's correct password resets the account's count. Attempts refused while waiting do not
count, so hammering does not extend the wait. A key quiet for ``window`` seconds starts over,
and such rows are pruned.

Times are the API process's clock in epoch seconds: replicas' clocks agree to well under the
one-second granularity this works at.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import cast

from sqlalchemy import Table, case, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db.auth_models import LoginThrottleRow

_table = cast(Table, LoginThrottleRow.__table__)
# How often one process deletes the rows of keys quiet for a whole window.
PRUNE_EVERY_SECONDS = 60.0


class LoginThrottle:
    def __init__(
        self,
        dialect: str,
        *,
        window_seconds: float,
        backoff_base_seconds: float,
        backoff_max_seconds: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._window = window_seconds
        self._base = backoff_base_seconds
        self._cap = max(backoff_max_seconds, backoff_base_seconds)
        self._clock = clock
        self._pruned_at = 0.0
        self._insert = postgresql.insert if dialect == "postgresql" else sqlite.insert

    async def claim(self, db: AsyncSession, key: str, free: int) -> int | None:
        """Count an attempt on ``key``: None when it may go ahead, else seconds to wait.

        Commits ``db`` (the request's session: one connection per request, none held after).
        """
        now = self._clock()
        c = _table.c
        fresh = c.last_attempt_at <= now - self._window
        attempts = case((fresh, 1), else_=c.attempts + 1)
        backoff = case(
            (attempts < free, 0.0),
            (fresh | (c.backoff_seconds == 0), self._base),
            (c.backoff_seconds * 2 >= self._cap, self._cap),
            else_=c.backoff_seconds * 2,
        )
        first_backoff = 0.0 if free > 1 else self._base
        # Under the free attempts nothing waits: next_allowed_at stays in the past (0 for a new
        # key), never "now" -- a parallel request read the clock a moment earlier and would
        # find itself refused.
        allowed_at = case((backoff == 0, c.next_allowed_at), else_=now + backoff)
        statement = (
            self._insert(_table)
            .values(
                key=key,
                attempts=1,
                backoff_seconds=first_backoff,
                next_allowed_at=now + first_backoff if first_backoff else 0.0,
                last_attempt_at=now,
            )
            .on_conflict_do_update(
                index_elements=[c.key],
                set_={
                    "attempts": attempts,
                    "backoff_seconds": backoff,
                    "next_allowed_at": allowed_at,
                    "last_attempt_at": now,
                },
                where=c.next_allowed_at <= now,
            )
            .returning(c.attempts)
        )
        if (await db.execute(statement)).first() is not None:
            refused_until = None
        else:
            refused_until = await db.scalar(select(c.next_allowed_at).where(c.key == key))
        if now - self._pruned_at >= PRUNE_EVERY_SECONDS:
            self._pruned_at = now
            quiet = c.last_attempt_at < now - self._window
            await db.execute(delete(_table).where(quiet, c.next_allowed_at < now))
        await db.commit()
        if refused_until is None:
            return None
        return max(1, math.ceil(refused_until - now))

    async def reset(self, db: AsyncSession, key: str) -> None:
        """Forget ``key``'s attempts (its owner proved who they are); the caller commits."""
        await db.execute(delete(_table).where(_table.c.key == key))

    async def refund(self, db: AsyncSession, key: str) -> None:
        """Take back one counted attempt that was not a failure; the caller commits."""
        c = _table.c
        await db.execute(
            update(_table).where(c.key == key, c.attempts > 0).values(attempts=c.attempts - 1)
        )
