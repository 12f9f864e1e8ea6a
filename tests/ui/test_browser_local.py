"""The web UI against the local run (``python -m services.local``): the API, the relay and the
workers in one process, events on the in-process bus, on the session's PostgreSQL.

The live list there is fed by ``app.ui.live.LOCAL_FEED`` instead of Kafka: the same two flows
that need the event pipeline are checked on it.
"""

from __future__ import annotations

import os
import secrets
import sys
import urllib.request
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser

from devtools.postgres import PostgresServer
from devtools.process import LOOPBACK, ManagedProcess, free_port, wait_until
from tests.ui.browser_support import (
    Person,
    api_change_reaches_another_tab,
    chromium,
    create_and_complete_weekly,
    signed_up,
)

pytestmark = pytest.mark.postgres


class LocalRun:
    """``python -m services.local`` on a free loopback port (it migrates its database itself)."""

    def __init__(self, database_url: str, log_dir: Path) -> None:
        port = free_port()
        self.url = f"http://{LOOPBACK}:{port}"
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "JWT_SECRET": secrets.token_urlsafe(48),
            "LOG_LEVEL": "WARNING",
            "HTTP_PORT": str(free_port()),
        }
        env.pop("KAFKA_BOOTSTRAP", None)  # the in-process bus is what is under test
        self.process = ManagedProcess(
            "local run",
            [sys.executable, "-m", "services.local", "--host", LOOPBACK, "--port", str(port)],
            log_path=log_dir / "local.log",
            env=env,
        )

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as response:  # noqa: S310
                return bool(response.status == 200)
        except OSError:
            return False


@pytest.fixture(scope="module")
def local_run(
    postgres: PostgresServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalRun]:
    run = LocalRun(
        postgres.url(postgres.create_database()), tmp_path_factory.mktemp("ui-local-run")
    )
    # Our own program, not a component: failing to start fails the tests, CI or not.
    run.process.start()
    try:
        wait_until(
            run.healthy,
            component="local run",
            what=f"GET {run.url}/healthz",
            timeout=60,
            process=run.process,
        )
        yield run
    finally:
        run.process.stop(timeout=10)


@pytest.fixture(scope="module")
async def browser(local_run: LocalRun) -> AsyncIterator[Browser]:
    async with chromium() as launched:
        yield launched


@pytest.fixture
async def person(browser: Browser, local_run: LocalRun) -> AsyncIterator[Person]:
    async with signed_up(browser, local_run) as someone:
        yield someone


async def test_the_next_occurrence_appears_in_the_local_run(person: Person) -> None:
    await create_and_complete_weekly(person)


async def test_an_api_change_reaches_another_tab_in_the_local_run(person: Person) -> None:
    await api_change_reaches_another_tab(person)
