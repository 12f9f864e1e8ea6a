"""The running platform for the recurring and notifier e2e tests and bench/reminders.py.

The real API (``devtools.api_server.ApiServer``, a uvicorn process, migrating its database on
start) and the real outbox relay (``python -m services.relay``) on the test session's
PostgreSQL and Kafka; the services under test are started by each test, as processes too.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy import func, select

from app.core.db.models import OutboxEvent
from app.core.db.session import create_engine, session_factory
from devtools.api_server import ApiServer
from devtools.kafka import KafkaBroker
from devtools.postgres import PostgresServer
from devtools.testkit.accounts import create_task, register
from devtools.testkit.events_support import ServiceProcess, WorkerSite
from devtools.testkit.workers_support import Database, eventually


@dataclass
class Stack:
    db: Database
    api: ApiServer
    relay: ServiceProcess
    client: httpx.AsyncClient
    bootstrap: str
    log_dir: Path

    def service(self, name: str, env: Mapping[str, str] | None = None) -> ServiceProcess:
        """``python -m services.<name>`` on this stack's database and broker (not started)."""
        return WorkerSite(self.db.url, self.bootstrap, self.log_dir).worker(name, env=env)

    async def new_user(self) -> dict[str, str]:
        return await register(self.client)

    async def create_task(self, headers: dict[str, str], **body: Any) -> dict[str, Any]:
        return await create_task(self.client, headers, **body)

    async def complete(self, headers: dict[str, str], task_id: str) -> dict[str, Any]:
        response = await self.client.post(f"/tasks/{task_id}/complete", headers=headers)
        assert response.status_code == 200, response.text
        return response.json()

    async def outbox_drained(self) -> bool:
        """Whether the relay has published every outbox row."""
        async with self.db.sessions() as session:
            pending = await session.scalar(
                select(func.count())
                .select_from(OutboxEvent)
                .where(OutboxEvent.published_at.is_(None))
            )
        return pending == 0

    async def wait_published(self, within: float = 30.0) -> None:
        await eventually(self.outbox_drained, within=within, what="the outbox published")

    async def wait_consumed(self, group: str, topic: str, within: float = 60.0) -> None:
        """Until everything written is published and ``group`` has consumed all of ``topic``:
        nothing more is on its way to that group's handler."""
        await self.wait_published()
        await eventually(
            lambda: group_caught_up(self.bootstrap, group, topic),
            within=within,
            what=f"group {group} consumed {topic}",
        )


async def group_caught_up(bootstrap: str, group: str, topic: str) -> bool:
    """Whether ``group`` has committed offsets at the end of every partition of ``topic``."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        [described] = await admin.describe_topics([topic])
        committed = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    partitions = [TopicPartition(topic, p["partition"]) for p in described["partitions"]]
    # An empty list would make "caught up" vacuously true.
    assert partitions, f"topic {topic} has no partitions"
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        ends = await consumer.end_offsets(partitions)
    finally:
        await consumer.stop()
    # A partition the group never committed on is caught up only while it is empty.
    return all((committed[tp].offset if tp in committed else 0) >= end for tp, end in ends.items())


@contextmanager
def api_process(postgres: PostgresServer, log_dir: Path) -> Iterator[ApiServer]:
    """The API on a fresh database. Enter it outside the event loop (a sync fixture, or before
    ``asyncio.run``): it migrates with ``asyncio.run``, and must be started from the main
    thread, since its process dies with the thread that forked it."""
    with ApiServer(postgres.url(postgres.create_database()), log_dir=log_dir) as api:
        yield api


@asynccontextmanager
async def running_stack(api: ApiServer, kafka: KafkaBroker, log_dir: Path) -> AsyncIterator[Stack]:
    """The relay next to ``api`` (on its database), and a client of both."""
    url = api.database_url
    engine = create_engine(url)
    relay = ServiceProcess("relay", database_url=url, bootstrap=kafka.bootstrap, log_dir=log_dir)
    try:
        await relay.start()
        async with httpx.AsyncClient(base_url=api.url, timeout=10) as client:
            yield Stack(
                Database(url, engine, session_factory(engine)),
                api,
                relay,
                client,
                kafka.bootstrap,
                log_dir,
            )
    finally:
        relay.stop()
        await engine.dispose()


# Fixtures for the e2e test modules, which import them by name (a module-scoped fixture is
# set up once per importing module): the API, the relay and the log directory of the module.


@pytest.fixture(scope="module", name="log_dir")
def log_dir_fixture(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    return tmp_path_factory.mktemp(request.module.__name__.rsplit(".", 1)[-1])


@pytest.fixture(scope="module", name="api")
def api_fixture(postgres: PostgresServer, log_dir: Path) -> Iterator[ApiServer]:
    with api_process(postgres, log_dir) as server:
        yield server


@pytest.fixture(scope="module", name="stack")
async def stack_fixture(api: ApiServer, kafka: KafkaBroker, log_dir: Path) -> AsyncIterator[Stack]:
    async with running_stack(api, kafka, log_dir) as running:
        yield running
