"""PostgreSQL LISTEN on one channel, kept connected, calling back on every notification.

It also calls back after every (re)connect: notifications sent while it was disconnected are
lost, so its owner must assume it missed something and re-read its state. Shared by the relay
(channel ``outbox``) and the notifier (channel ``reminders``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

log = logging.getLogger("services.listen")


def asyncpg_dsn(database_url: str) -> str:
    """The plain ``postgresql://`` DSN asyncpg takes, from the SQLAlchemy URL."""
    url = make_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


class Listener:
    """``run()`` LISTENs until cancelled; ``on_notify`` is called from the event loop."""

    def __init__(
        self,
        database_url: str,
        channel: str,
        on_notify: Callable[[], None],
        *,
        check_seconds: float = 10.0,
        reconnect_seconds: float = 1.0,
    ) -> None:
        self._dsn = asyncpg_dsn(database_url)
        self._channel = channel
        self._on_notify = on_notify
        self._check_seconds = check_seconds
        self._reconnect_seconds = reconnect_seconds
        self.connected = asyncio.Event()

    async def run(self) -> None:
        while True:
            try:
                await self._listen_once()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
                log.warning(
                    "LISTEN connection lost, reconnecting",
                    extra={"channel": self._channel, "error": f"{type(exc).__name__}: {exc}"},
                )
            self.connected.clear()
            await asyncio.sleep(self._reconnect_seconds)

    async def _listen_once(self) -> None:
        connection = await asyncpg.connect(self._dsn, timeout=self._check_seconds)
        try:
            await connection.add_listener(self._channel, self._notified)
            self.connected.set()
            self._on_notify()
            # An idle connection does not notice a dead server or a cut network; a periodic
            # query does, within one check interval.
            while True:
                await asyncio.sleep(self._check_seconds)
                await connection.fetchval("SELECT 1", timeout=self._check_seconds)
        finally:
            await connection.close(timeout=2)

    def _notified(self, *_args: Any) -> None:
        self._on_notify()
