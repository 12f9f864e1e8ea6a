"""Address verification: a signed link through the real SMTP relay (aiosmtpd on 127.0.0.1),
with expiry, single use, throttled re-sends, and nothing written when anything is refused.
On SQLite and PostgreSQL."""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import Message
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth.email_verification import issue_link_token
from app.core.db.migrate import upgrade_async
from app.core.db.models import User
from app.core.db.session import create_engine, session_factory
from app.core.settings import ApiSettings
from app.main import create_app
from devtools.testkit.workers_support import SmtpSink
from tests.api.conftest import api_settings, relay_settings
from tests.ui.conftest import Browserless

PUBLIC_URL = "https://todo.example.org/"
LINK = re.compile(r"https://todo\.example\.org/ui/verify-email\?token=[\w.-]+")


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpSink]:
    with SmtpSink() as sink:
        yield sink


@dataclass
class Site:
    client: httpx.AsyncClient
    transport: httpx.AsyncBaseTransport
    settings: ApiSettings
    smtp: SmtpSink
    user_rows: async_sessionmaker[AsyncSession]

    async def sign_up(self) -> tuple[str, dict[str, str]]:
        email = f"v-{uuid.uuid4().hex[:12]}@example.com"
        password = secrets.token_urlsafe(12)
        body = {"email": email, "password": password}
        registered = await self.client.post("/auth/register", json=body)
        assert registered.status_code == 201, registered.text
        assert registered.json()["email_verified"] is False
        token = await self.client.post(
            "/auth/token", data={"username": email, "password": password}
        )
        assert token.status_code == 200, token.text
        return email, {"Authorization": f"Bearer {token.json()['access_token']}"}

    def mails_to(self, email: str) -> list[Message]:
        return [message for message in self.smtp.messages if message["To"] == email]

    def link_in(self, message: Message) -> str:
        text = message.get_payload(decode=True)
        assert isinstance(text, bytes)
        match = LINK.search(text.decode())
        assert match is not None, text
        return match.group(0)

    async def row(self, email: str) -> User:
        async with self.user_rows() as session:
            user = await session.scalar(select(User).where(User.email == email))
            assert user is not None
            return user

    async def verify(self, link: str) -> httpx.Response:
        """The link's token through the API (the link itself opens the UI's page)."""
        token = parse_qs(urlsplit(link).query)["token"][0]
        return await self.client.get("/auth/verify-email", params={"token": token})


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
async def site(
    request: pytest.FixtureRequest, smtp: SmtpSink, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Site]:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('verify') / 'api.db'}"
    else:
        server = request.getfixturevalue("postgres")
        url = server.url(server.create_database())
    await upgrade_async(url)
    settings = relay_settings(url, smtp.port, public_url=PUBLIC_URL)
    app = create_app(settings)
    engine = create_engine(url)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("203.0.113.8", 50000))
        # The Host a client chooses never makes the link: PUBLIC_URL does.
        async with httpx.AsyncClient(transport=transport, base_url="http://evil.test") as client:
            yield Site(client, transport, settings, smtp, session_factory(engine))
    await engine.dispose()


async def test_the_sign_up_link_verifies_the_address_once(site: Site) -> None:
    email, headers = await site.sign_up()
    mails = site.mails_to(email)
    assert len(mails) == 1
    assert mails[0]["Subject"] == "Confirm your e-mail address"
    link = site.link_in(mails[0])

    verified = await site.verify(link)
    assert verified.status_code == 200, verified.text
    assert verified.json()["email_verified"] is True
    me = await site.client.get("/me", headers=headers)
    assert me.json()["email_verified"] is True
    row = await site.row(email)
    assert row.email_verified_at is not None
    assert row.email_verification_nonce is None

    again = await site.verify(link)
    assert again.status_code == 422
    assert again.json()["errors"] == [
        {"field": "token", "message": "the link was already used or a newer one was sent"}
    ]
    assert (await site.row(email)).email_verified_at == row.email_verified_at
    resend = await site.client.post("/me/email-verification", headers=headers)
    assert resend.status_code == 409
    assert len(site.mails_to(email)) == 1


async def test_the_link_opens_a_page_that_verifies_once(site: Site) -> None:
    email, headers = await site.sign_up()
    link = urlsplit(site.link_in(site.mails_to(email)[0]))
    opened = await site.client.get(link.path, params=parse_qs(link.query))
    assert opened.status_code == 200
    assert "<h1>Address verified</h1>" in opened.text
    assert f"Reminders can now be e-mailed to {email}." in opened.text
    assert (await site.client.get("/me", headers=headers)).json()["email_verified"] is True
    again = await site.client.get(link.path, params=parse_qs(link.query))
    assert again.status_code == 422
    assert "the link was already used or a newer one was sent" in again.text


async def test_expired_tampered_and_foreign_tokens_verify_nothing(site: Site) -> None:
    email, headers = await site.sign_up()
    row = await site.row(email)
    assert row.email_verification_nonce is not None
    secret = site.settings.jwt_secret.get_secret_value()
    expired = issue_link_token(
        row.id, email, row.email_verification_nonce, secret, timedelta(seconds=-1)
    )
    link = site.link_in(site.mails_to(email)[0])
    tampered = link[:-4] + ("AAAA" if not link.endswith("AAAA") else "BBBB")
    access_token = headers["Authorization"].removeprefix("Bearer ")
    other_key = issue_link_token(
        row.id, email, row.email_verification_nonce, "x" * 48, timedelta(hours=1)
    )
    cases = {
        "the link has expired; ask for a new one": expired,
        "the link is not valid": access_token,
    }
    for message, token in cases.items():
        response = await site.client.get("/auth/verify-email", params={"token": token})
        assert response.status_code == 422
        assert response.json()["errors"] == [{"field": "token", "message": message}]
    for token in (other_key, "", "a.b.c"):
        response = await site.client.get("/auth/verify-email", params={"token": token})
        assert response.status_code == 422
    assert (await site.verify(tampered)).status_code == 422
    # A link is not an access token either.
    token_of_link = parse_qs(urlsplit(link).query)["token"][0]
    as_bearer = await site.client.get("/me", headers={"Authorization": f"Bearer {token_of_link}"})
    assert as_bearer.status_code == 401
    assert (await site.row(email)).email_verified_at is None


async def test_a_new_link_is_throttled_and_replaces_the_old_one(site: Site) -> None:
    email, headers = await site.sign_up()
    first_link = site.link_in(site.mails_to(email)[0])
    throttled = await site.client.post("/me/email-verification", headers=headers)
    assert throttled.status_code == 429
    assert 1 <= int(throttled.headers["Retry-After"]) <= 60
    assert len(site.mails_to(email)) == 1

    await _sent_long_ago(site, email)
    resent = await site.client.post("/me/email-verification", headers=headers)
    assert resent.status_code == 202, resent.text
    mails = site.mails_to(email)
    assert len(mails) == 2
    second_link = site.link_in(mails[1])
    assert second_link != first_link

    old = await site.verify(first_link)
    assert old.status_code == 422
    assert (await site.row(email)).email_verified_at is None
    assert (await site.verify(second_link)).status_code == 200


async def test_a_relay_failure_keeps_the_old_link_and_says_so(site: Site) -> None:
    email, headers = await site.sign_up()
    link = site.link_in(site.mails_to(email)[0])
    before = await site.row(email)
    await _sent_long_ago(site, email)
    site.smtp.fail_next(1)
    refused = await site.client.post("/me/email-verification", headers=headers)
    assert refused.status_code == 503
    assert refused.headers["content-type"] == "application/problem+json"
    after = await site.row(email)
    assert after.email_verification_nonce == before.email_verification_nonce
    assert len(site.mails_to(email)) == 1
    assert (await site.verify(link)).status_code == 200


async def _sent_long_ago(site: Site, email: str) -> None:
    """The resend interval has passed (moves the row's sent time back, not the clock)."""
    async with site.user_rows() as session, session.begin():
        await session.execute(
            update(User)
            .where(User.email == email)
            .values(email_verification_sent_at=datetime.now(UTC) - timedelta(hours=1))
        )


async def test_without_a_relay_sign_up_works_and_a_link_is_unavailable(
    tmp_path_factory: pytest.TempPathFactory, smtp: SmtpSink
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('no-relay') / 'api.db'}"
    await upgrade_async(url)
    app = create_app(api_settings(url))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            site = Site(client, transport, app.state.todo.settings, smtp, app.state.todo.sessions)
            email, headers = await site.sign_up()
            unavailable = await client.post("/me/email-verification", headers=headers)
            assert unavailable.status_code == 503
            row = await site.row(email)
            assert (row.email_verification_nonce, row.email_verification_sent_at) == (None, None)


async def test_the_web_ui_offers_a_new_link_until_the_address_is_verified(site: Site) -> None:
    async with httpx.AsyncClient(transport=site.transport, base_url="http://evil.test") as client:
        person = Browserless(client)
        await person.sign_up()
        offered = await client.get("/")
        assert "E-mail me a new link" in offered.text
        assert len(site.mails_to(person.email)) == 1

        too_soon = await person.post("/ui/verify-email/resend", {})
        assert too_soon.headers["location"] == "/?notice=link-too_soon"
        await _sent_long_ago(site, person.email)
        sent = await person.post("/ui/verify-email/resend", {})
        assert sent.headers["location"] == "/?notice=link-sent"
        mails = site.mails_to(person.email)
        assert len(mails) == 2

        link = urlsplit(site.link_in(mails[1]))
        assert (await client.get(link.path, params=parse_qs(link.query))).status_code == 200
        assert "E-mail me a new link" not in (await client.get("/")).text
        verified = await person.post("/ui/verify-email/resend", {})
        assert verified.headers["location"] == "/?notice=link-verified"
        assert len(site.mails_to(person.email)) == 2
