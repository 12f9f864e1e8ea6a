"""The UI through its own app, in process, once per database backend (SQLite and PostgreSQL).

A :class:`Browserless` client keeps cookies like a browser and reads the CSRF token out of each
page, so the tests post forms the way a person's browser does.

The Chromium suites share the platform fixtures at the end (a module's own log directory, Kafka
broker and API process, and one headless Chromium); a suite overrides ``api_env`` to give its
API more environment, and starts its own worker services.
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.db.migrate import upgrade_async
from app.core.db.models import Task, User
from devtools.api_server import ApiServer
from devtools.kafka import KafkaBroker
from devtools.postgres import PostgresServer
from devtools.testkit.workers_support import fresh_database_url
from tests.api.conftest import Api, api_settings, running_api
from tests.ui.browser_support import chromium, own_kafka

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
FIELD_ERROR = re.compile(
    r'class="field-error" id="([\w-]+)-error"><span class="visually-hidden">Error: </span>'
    r"([^<]*)</p>"
)


def field_errors(html: str) -> dict[str, str]:
    """Each error shown under an input: input id -> message (HTML entities as rendered)."""
    return dict(FIELD_ERROR.findall(html))


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    assert match is not None, "the page has no CSRF token"
    return match.group(1)


@dataclass
class Browserless:
    """One browser's cookie jar on the UI."""

    client: httpx.AsyncClient
    email: str = ""
    password: str = ""

    async def form_token(self, path: str) -> str:
        response = await self.client.get(path)
        assert response.status_code == 200, response.text
        return csrf_of(response.text)

    async def post(
        self, path: str, data: dict[str, Any], *, form_page: str = "/"
    ) -> httpx.Response:
        token = await self.form_token(form_page)
        return await self.client.post(path, data={"csrf_token": token, **data})

    async def sign_up(self) -> None:
        self.email = f"ui-{uuid.uuid4().hex[:12]}@example.com"
        self.password = secrets.token_urlsafe(12)
        response = await self.post(
            "/ui/signup",
            {"email": self.email, "password": self.password, "next": "/"},
            form_page="/ui/signup",
        )
        assert response.status_code == 303, response.text

    async def create(self, **fields: Any) -> httpx.Response:
        data = {"title": "a task", "timezone": "UTC", "freq": "none", "next": "/", **fields}
        return await self.post("/ui/tasks/new", data, form_page="/ui/tasks/new")


@dataclass
class Ui:
    """The app under test (the UI is a part of it, on the same database) and its browsers."""

    api: Api

    @property
    def transport(self) -> httpx.ASGITransport:
        return self.api.transport

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        return self.api.sessions

    def browser(self) -> Browserless:
        return Browserless(
            httpx.AsyncClient(transport=self.transport, base_url="http://test", timeout=30)
        )

    async def signed_up(self) -> Browserless:
        browser = self.browser()
        await browser.sign_up()
        return browser

    async def counts(self) -> tuple[int, int]:
        """(tasks, outbox rows) in the database: proof that a refused post wrote nothing."""
        return await self.api.counts()

    async def tasks_of(self, email: str) -> list[Task]:
        async with self.sessions() as session:
            user = await session.scalar(select(User).where(User.email == email))
            assert user is not None
            rows = await session.scalars(
                select(Task).where(Task.owner_id == user.id).order_by(Task.created_at)
            )
            return list(rows)


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
async def ui(request: pytest.FixtureRequest) -> AsyncIterator[Ui]:
    database_url = fresh_database_url(request)
    await upgrade_async(database_url)
    async with running_api(api_settings(database_url)) as api:
        yield Ui(api)


@pytest.fixture
async def person(ui: Ui) -> AsyncIterator[Browserless]:
    browser = await ui.signed_up()
    try:
        yield browser
    finally:
        await browser.client.aclose()


@pytest.fixture(scope="module")
def log_dir(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp(request.module.__name__.rpartition(".")[2])


@pytest.fixture(scope="module")
def broker(log_dir: Path) -> Iterator[KafkaBroker]:
    with own_kafka(log_dir) as kafka:
        yield kafka


@pytest.fixture(scope="module")
def api_env() -> dict[str, str]:
    """The API's environment besides the broker's address; a module overrides it."""
    return {}


@pytest.fixture(scope="module")
def api(
    postgres: PostgresServer, broker: KafkaBroker, log_dir: Path, api_env: dict[str, str]
) -> Iterator[ApiServer]:
    # Started outside the event loop: ApiServer migrates the database with asyncio.run.
    database = postgres.url(postgres.create_database())
    env = {"KAFKA_BOOTSTRAP": broker.bootstrap, **api_env}
    with ApiServer(database, env=env, log_dir=log_dir) as server:
        yield server


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as launched:
        yield launched
