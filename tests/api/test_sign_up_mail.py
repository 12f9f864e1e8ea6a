"""Sign-up e-mails its verification link after the commit: a stalled SMTP relay (a local
server that accepts and never answers) holds no pooled database connection, the sign-up still
succeeds within the relay's timeout, and the user may ask for a new link at once.
On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from sqlalchemy import select

from app.core.db.migrate import upgrade_async
from app.core.db.models import User
from tests.api.conftest import relay_settings, running_api

# Long enough that the pool is read while the relay still stalls; the sign-up waits this long.
SMTP_TIMEOUT_SECONDS = 3


@dataclass
class StalledRelay:
    """Accepts SMTP connections and never sends the greeting."""

    port: int = 0
    accepted: asyncio.Event = field(default_factory=asyncio.Event)
    connections: int = 0

    async def _hold(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.accepted.set()
        await reader.read()  # until the client gives up and closes
        writer.close()


@pytest.fixture
async def stalled_relay() -> AsyncIterator[StalledRelay]:
    relay = StalledRelay()
    server = await asyncio.start_server(relay._hold, "127.0.0.1", 0)
    relay.port = server.sockets[0].getsockname()[1]
    async with server:
        yield relay


async def test_a_stalled_relay_holds_no_connection_and_sign_up_succeeds(
    database_url: str, stalled_relay: StalledRelay
) -> None:
    await upgrade_async(database_url)
    settings = relay_settings(
        database_url, stalled_relay.port, smtp_timeout_seconds=SMTP_TIMEOUT_SECONDS
    )
    async with running_api(settings) as api:
        pool = api.transport.app.state.todo.engine.pool  # type: ignore[attr-defined]
        email = f"stall-{uuid.uuid4().hex[:12]}@example.com"
        body = {"email": email, "password": secrets.token_urlsafe(12)}
        sign_up = asyncio.create_task(api.client.post("/auth/register", json=body))

        async with asyncio.timeout(SMTP_TIMEOUT_SECONDS):
            await stalled_relay.accepted.wait()
        assert not sign_up.done()  # the relay stalls it
        assert pool.checkedout() == 0

        response = await sign_up
        assert response.status_code == 201, response.text
        assert response.json()["email"] == email
        assert response.json()["email_verified"] is False
        assert stalled_relay.connections == 1
        assert pool.checkedout() == 0
        async with api.sessions() as session:
            user = await session.scalar(select(User).where(User.email == email))
        assert user is not None
        # The undelivered link is withdrawn: no re-send interval to wait out.
        assert (user.email_verification_nonce, user.email_verification_sent_at) == (None, None)
        login = await api.client.post(
            "/auth/token", data={"username": email, "password": body["password"]}
        )
        assert login.status_code == 200, login.text
