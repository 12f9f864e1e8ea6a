"""The API under test, once per database backend (SQLite file and the real PostgreSQL).

One database per backend for the whole run, migrated with Alembic like production. Tests stay
independent by working as freshly registered users: isolation between users is itself a
property under test.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.core.db.migrate import upgrade_async
from app.core.db.models import OutboxEvent, Task
from app.core.db.session import create_engine, session_factory
from app.core.settings import ApiSettings
from app.main import create_app
from devtools.testkit.accounts import create_task, register
from devtools.testkit.workers_support import fresh_database_url

TEST_SIGNUPS_PER_ADDRESS = 100_000


@dataclass
class Api:
    backend: str
    client: httpx.AsyncClient
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    settings: ApiSettings
    transport: httpx.ASGITransport  # for another client of the same app (a browser's cookies)

    async def new_user(self) -> dict[str, str]:
        return await register(self.client)

    async def create_task(self, headers: dict[str, str], **body: Any) -> dict[str, Any]:
        return await create_task(self.client, headers, **body)

    async def counts(self) -> tuple[int, int]:
        """(tasks, outbox rows) in the whole database: proof that a rejected call wrote nothing."""
        # One statement, so both counts come from the same snapshot.
        both = select(
            select(func.count()).select_from(Task).scalar_subquery(),
            select(func.count()).select_from(OutboxEvent).scalar_subquery(),
        )
        async with self.sessions() as session:
            tasks, events = (await session.execute(both)).one()
        return int(tasks), int(events)

    async def events_for(self, task_id: str) -> list[OutboxEvent]:
        async with self.sessions() as session:
            rows = await session.scalars(
                select(OutboxEvent).where(OutboxEvent.key == task_id).order_by(OutboxEvent.id)
            )
            return list(rows)


def api_settings(database_url: str, **overrides: Any) -> ApiSettings:
    # Every test signs its users up from one address; the sign-up throttle has its own tests.
    overrides.setdefault("signups_per_address", TEST_SIGNUPS_PER_ADDRESS)
    return ApiSettings(database_url=database_url, jwt_secret=secrets.token_urlsafe(48), **overrides)


def relay_settings(database_url: str, smtp_port: int, **overrides: Any) -> ApiSettings:
    """Settings whose mail goes to a local SMTP server on ``smtp_port`` (no TLS, no auth)."""
    return api_settings(
        database_url,
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
        smtp_from="todo@example.org",
        smtp_security="none",
        **overrides,
    )


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    return fresh_database_url(request)


@pytest.fixture(scope="session")
async def api(database_url: str) -> AsyncIterator[Api]:
    await upgrade_async(database_url)
    async with running_api(api_settings(database_url)) as running:
        yield running


@asynccontextmanager
async def running_api(settings: ApiSettings) -> AsyncIterator[Api]:
    """The app built from `settings` (its database migrated already), served to a client."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            engine = create_engine(settings.database_url)
            try:
                yield Api(
                    backend=settings.database_url.split(":")[0],
                    client=client,
                    engine=engine,
                    sessions=session_factory(engine),
                    settings=settings,
                    transport=transport,
                )
            finally:
                await engine.dispose()


@pytest.fixture
async def user(api: Api) -> dict[str, str]:
    return await api.new_user()
