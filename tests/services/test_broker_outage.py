"""A Kafka outage as a worker shows it: ``todo_kafka_broker_up`` and /readyz, with the real
broker stopped and started again under a running ``python -m services.audit``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from devtools.kafka import KafkaBroker
from devtools.postgres import PostgresServer
from devtools.testkit.events_support import ServiceProcess
from devtools.testkit.workers_support import Database, eventually, migrated_database
from tests.services.conftest import NewWorker

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]

DEADLINE_S = 60.0


@pytest.fixture
async def db(postgres: PostgresServer) -> AsyncIterator[Database]:
    async with migrated_database(postgres) as database:
        yield database


async def _readyz(worker: ServiceProcess) -> httpx.Response:
    async with httpx.AsyncClient(timeout=5) as client:
        return await client.get(f"{worker.url}/readyz")


async def _state(worker: ServiceProcess) -> tuple[int, float]:
    return (await _readyz(worker)).status_code, await worker.metric("todo_kafka_broker_up")


async def test_a_broker_outage_is_a_metric_and_readiness_and_both_recover(
    kafka: KafkaBroker, new_worker: NewWorker
) -> None:
    worker = new_worker("audit", env={"KAFKA_PROBE_SECONDS": "1"})
    await worker.start()
    try:
        assert await _state(worker) == (200, 1.0)

        await asyncio.to_thread(kafka.stop)
        try:

            async def down() -> bool:
                return await _state(worker) == (503, 0.0)

            await eventually(down, within=DEADLINE_S, what="not ready, broker_up 0")
            problems = (await _readyz(worker)).json()["problems"]
            assert [p for p in problems if p.startswith("kafka: ")] == [
                next(p for p in problems if p.startswith("kafka: broker unreachable for "))
            ]
        finally:
            await asyncio.to_thread(kafka.start)

        async def up() -> bool:
            return await _state(worker) == (200, 1.0)

        await eventually(up, within=DEADLINE_S, what="ready again, broker_up 1")
    finally:
        worker.stop()
    log = worker.log_path.read_text()
    # The change of state is logged once each way, however long the outage.
    assert log.count("kafka broker unreachable") == 1
    assert log.count("kafka broker reachable again") == 1
