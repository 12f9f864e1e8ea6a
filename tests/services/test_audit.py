"""The audit service as a real process (``python -m services.audit``) under faults.

Each test counts events in and effects out and asserts they are equal. To kill the worker
*mid-batch* rather than somewhere by chance, the test holds a lock on ``audit_log``: the
worker's batch transaction then waits inside its first insert, provably in flight.
"""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager

import httpx
import pytest
from sqlalchemy import text

from app.core.events.contract import CloudEvent, EventType
from app.core.events.topics import TASK_EVENTS
from devtools.kafka import KafkaBroker
from devtools.postgres import PostgresServer
from devtools.testkit.events_support import ServiceProcess, encode, produce, task_event
from devtools.testkit.metrics import Samples
from devtools.testkit.workers_support import Database, eventually, migrated_database
from tests.services.conftest import NewWorker

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]


@pytest.fixture
async def db(postgres: PostgresServer) -> AsyncIterator[Database]:
    async with migrated_database(postgres) as database:
        yield database


def events_for(count: int) -> list[CloudEvent]:
    tasks = [uuid.uuid4() for _ in range(max(1, count // 4))]
    return [
        task_event(EventType.TASK_UPDATED, task_id=tasks[i % len(tasks)], version=i + 1)
        for i in range(count)
    ]


async def publish(kafka: KafkaBroker, events: list[CloudEvent]) -> None:
    await produce(kafka.bootstrap, TASK_EVENTS.name, [(e.subject, encode(e)) for e in events])


async def audited(db: Database, events: list[CloudEvent]) -> int:
    """How many audit rows the given events have (each must have exactly one)."""
    async with db.engine.connect() as connection:
        count = await connection.scalar(
            text("SELECT count(*) FROM audit_log WHERE event_id = ANY(:ids)"),
            {"ids": [e.id for e in events]},
        )
    return int(count or 0)


async def recorded(db: Database, events: list[CloudEvent]) -> int:
    async with db.engine.connect() as connection:
        count = await connection.scalar(
            text(
                "SELECT count(*) FROM processed_events"
                " WHERE consumer_group = 'audit' AND event_id = ANY(:ids)"
            ),
            {"ids": [e.id for e in events]},
        )
    return int(count or 0)


@asynccontextmanager
async def audit_log_locked(db: Database) -> AsyncIterator[None]:
    """Hold a lock that makes every insert into audit_log wait, until the block exits."""
    async with db.engine.connect() as connection, connection.begin():
        await connection.execute(text("LOCK TABLE audit_log IN SHARE ROW EXCLUSIVE MODE"))
        yield


async def waiting_on_lock(db: Database) -> bool:
    async with db.engine.connect() as connection:
        waiting = await connection.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND wait_event_type = 'Lock' AND query LIKE 'INSERT INTO audit_log%'"
            )
        )
    return bool(waiting)


@asynccontextmanager
async def audit_worker(new_worker: NewWorker) -> AsyncIterator[ServiceProcess]:
    """The audit service, ready, for the block; stopped however the block ends."""
    worker = new_worker("audit", env={"CONSUMER_BATCH_SIZE": "50"})
    await worker.start()
    try:
        yield worker
    finally:
        worker.stop()


async def all_audited(db: Database, events: list[CloudEvent], *, within: float = 30) -> None:
    expected = len(events)
    await eventually(
        lambda: count_is(audited(db, events), expected), within=within, what=f"{expected} audited"
    )


async def test_kill_9_mid_batch_then_restart_applies_every_event_exactly_once(
    kafka: KafkaBroker, db: Database, new_worker: NewWorker
) -> None:
    async with audit_worker(new_worker) as worker:
        before = events_for(100)
        await publish(kafka, before)
        await all_audited(db, before)

        during = events_for(200)
        async with audit_log_locked(db):
            await publish(kafka, during)
            await eventually(lambda: waiting_on_lock(db), within=30, what="a batch in flight")
            worker.kill()
        assert await audited(db, during) == 0  # the killed batch committed nothing

        await worker.start()
        await all_audited(db, during, within=40)
    everything = before + during
    assert await audited(db, everything) == 300
    assert await recorded(db, everything) == 300


async def test_sigterm_finishes_the_batch_in_flight_commits_and_exits_0(
    kafka: KafkaBroker, db: Database, new_worker: NewWorker
) -> None:
    events = events_for(40)
    async with audit_worker(new_worker) as worker:
        async with audit_log_locked(db):
            await publish(kafka, events)
            await eventually(lambda: waiting_on_lock(db), within=30, what="a batch in flight")
            worker.send_sigterm()
        # The lock is gone: the batch completes, commits, and the process exits on its own.
        assert await worker.wait_exit() == 0
    in_flight = await audited(db, events)
    assert 0 < in_flight <= 40
    assert await recorded(db, events) == in_flight

    # Whatever was not in the finished batch is still there for the next process, once.
    async with audit_worker(new_worker):
        await all_audited(db, events, within=40)
    assert await recorded(db, events) == 40


async def test_probes_and_metrics(kafka: KafkaBroker, db: Database, new_worker: NewWorker) -> None:
    async with audit_worker(new_worker) as worker:
        events = events_for(12)
        await publish(kafka, events)
        await all_audited(db, events)
        async with httpx.AsyncClient(base_url=worker.url, timeout=5) as client:
            health = await client.get("/healthz")
            ready = await client.get("/readyz")
        assert (health.status_code, health.json()) == (200, {"status": "ok", "service": "audit"})
        assert (ready.status_code, ready.json()["status"]) == (200, "ready")
        # Caught up: no lag on any partition, and the handler's time was measured.
        await eventually(lambda: _lag_is_zero(worker), within=30, what="consumer lag reported as 0")
        # One observation per applied event.
        assert await worker.metric("todo_event_handler_duration_seconds_count", group="audit") == 12
        assert await worker.metric("todo_readiness_check_up", check="database") == 1


async def _lag_is_zero(worker: ServiceProcess) -> bool:
    """Every partition of task-events reports a lag, and each is 0."""
    async with httpx.AsyncClient(timeout=5) as client:
        body = (await client.get(f"{worker.url}/metrics")).text
    lags = Samples.parse(body).matching("todo_consumer_lag", group="audit")
    return lags == [0.0, 0.0, 0.0]


@pytest.mark.parametrize(
    ("service", "env", "named"),
    [
        (
            "audit",
            {"DATABASE_URL": "mysql://nope", "HTTP_PORT": "99999"},
            ["DATABASE_URL", "HTTP_PORT"],
        ),
        ("relay", {"KAFKA_BOOTSTRAP": "", "RELAY_BACKEND": "kafka"}, ["KAFKA_BOOTSTRAP"]),
        ("relay", {"RELAY_BACKEND": "carrier-pigeon"}, ["RELAY_BACKEND"]),
    ],
)
async def test_a_bad_environment_stops_the_worker_naming_the_variable(
    service: str, env: dict[str, str], named: list[str]
) -> None:
    base = {k: v for k, v in os.environ.items() if k not in ("KAFKA_BOOTSTRAP", "DATABASE_URL")}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        f"services.{service}",
        env={**base, **{k: v for k, v in env.items() if v}},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 2
    message = stderr.decode()
    assert all(variable in message for variable in named), message


async def count_is(count: Awaitable[int], expected: int) -> bool:
    return await count == expected
