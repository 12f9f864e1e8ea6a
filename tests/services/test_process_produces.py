"""Each process writes exactly the topics the process catalogue says it produces.

On the real PostgreSQL and Kafka: the API and every worker of the catalogue run as processes
while a recurring task with a reminder goes through its whole life through the API, and poison
messages reach each consumer group. What each process wrote is then read back: the outbox rows
by the process their CloudEvents ``source`` names (``records``), and the records on the
broker's topics (``produces``): the relay's by our events' keys, the dead letters by their
``dlq.group`` header.

And a write the catalogue does not declare is refused, whatever the backend: here the relay on
the local run's SQLite and in-process bus, with a row for a topic it does not produce.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, insert, select

from app.core.db.models import OutboxEvent
from app.core.events.contract import EventType
from app.core.processes import PROCESSES, RELAY, WORKERS, by_source
from app.core.processes import TOPICS as CATALOGUE_TOPICS
from devtools.kafka import KafkaBroker
from devtools.testkit.events_support import ServiceProcess, produce, read_topic, task_event
from devtools.testkit.workers_stack import (  # noqa: F401 - fixtures are found by their names
    Stack,
    api_fixture,
    log_dir_fixture,
    stack_fixture,
)
from devtools.testkit.workers_support import Database, eventually, sqlite_database, sqlite_url
from services.audit.worker import audit_consumer
from services.common import InProcessBus, WorkerMetrics
from services.common.settings import RelaySettings, WorkerSettings
from services.common.worker import WorkerContext
from services.relay.worker import WORKER as RELAY_WORKER

TOPIC_NAMES = {topic.name: topic for topic in CATALOGUE_TOPICS}


def _declared(field: str) -> dict[str, set[str]]:
    """Per process, the names of its ``produces`` or ``records`` topics."""
    return {p.name: {t.name for t in getattr(p, field)} for p in PROCESSES}


@pytest.fixture
async def other_workers(stack: Stack) -> AsyncIterator[list[ServiceProcess]]:
    """The catalogue's workers besides the relay (which comes with the stack), each ready."""
    workers = [stack.service(p.name) for p in WORKERS if p is not RELAY]
    try:
        await asyncio.gather(*(worker.start(within=90) for worker in workers))
        yield workers
    finally:
        for worker in workers:
            worker.stop()


async def _outbox(db: Database) -> list[OutboxEvent]:
    async with db.sessions() as session:
        return list(await session.scalars(select(OutboxEvent).order_by(OutboxEvent.id)))


async def _life_of_a_recurring_task(stack: Stack) -> None:
    """Created with a reminder (API), reminded and delivered (notifier), completed (API), its
    next occurrence created (recurring); returns once the relay has published all of it."""
    headers = await stack.new_user()
    now = datetime.now(UTC)
    task = await stack.create_task(
        headers,
        title="water the plants",
        due_date=(now + timedelta(hours=1)).isoformat(),
        recurrence={"freq": "daily"},
        reminders=[{"at": (now + timedelta(seconds=1)).isoformat()}],
    )

    async def delivered() -> bool:
        sent = EventType.NOTIFICATION_SENT.value
        return any(row.event_type == sent for row in await _outbox(stack.db))

    await eventually(delivered, within=60, what="the reminder delivered (notification.sent)")
    await stack.complete(headers, task["id"])

    async def next_created_and_all_published() -> bool:
        rows = await _outbox(stack.db)
        recurring = [r for r in rows if r.payload["source"] == "/todo-platform/recurring"]
        return bool(recurring) and all(r.published_at is not None for r in rows)

    await eventually(next_created_and_all_published, within=60, what="the next occurrence")


async def _written_by_the_relay(kafka: KafkaBroker, rows: list[OutboxEvent]) -> set[str]:
    """The topics on which the relay published our rows: each row exactly once, and a
    task-updates notice per task change (keyed by its owner)."""
    written = set()
    for topic in {row.topic for row in rows}:
        ours = [row for row in rows if row.topic == topic]
        keys = {row.key for row in ours}
        records = await read_topic(kafka.bootstrap, topic, count=len(ours), keys=keys)
        assert sorted(json.loads(r.value)["id"] for r in records) == sorted(
            str(row.event_id) for row in ours
        )
        written.add(topic)
    changes = [row for row in rows if row.event_type.startswith("task.")]
    owners = {str(row.payload["data"]["owner_id"]) for row in changes}
    notices = await read_topic(kafka.bootstrap, "task-updates", count=len(changes), keys=owners)
    assert len(notices) == len(changes)
    return written | {"task-updates"}


async def _dead_letters_by_process(kafka: KafkaBroker) -> dict[str, set[str]]:
    """Poison on every consumed topic; which process wrote which dead-letter topic."""
    key = f"poison-{uuid.uuid4().hex}"
    consumed = {t.name for p in PROCESSES if p.group is not None for t in p.consumes}
    for topic in consumed:
        await produce(kafka.bootstrap, topic, [(key, b"not a cloud event")])
    written: dict[str, set[str]] = {}
    by_group = {p.group: p for p in PROCESSES}
    for topic in (t for t in TOPIC_NAMES if t.endswith(".dlq")):
        (record,) = await read_topic(kafka.bootstrap, topic, count=1, keys={key}, within=60)
        process = by_group[record.headers["dlq.group"].decode()]
        written.setdefault(process.name, set()).add(topic)
    return written


@pytest.mark.postgres
@pytest.mark.kafka
async def test_every_process_writes_exactly_the_topics_it_declares(
    stack: Stack, other_workers: list[ServiceProcess], kafka: KafkaBroker
) -> None:
    await _life_of_a_recurring_task(stack)
    # The module's database holds only this test's rows.
    rows = await _outbox(stack.db)
    recorded: dict[str, set[str]] = {p.name: set() for p in PROCESSES}
    for row in rows:
        recorded[by_source(row.payload["source"]).name].add(row.topic)
    assert recorded == _declared("records")

    produced: dict[str, set[str]] = {p.name: set() for p in PROCESSES}
    produced["relay"] = await _written_by_the_relay(kafka, rows)
    produced.update(await _dead_letters_by_process(kafka))
    assert produced == _declared("produces")


async def test_the_relay_refuses_a_row_for_a_topic_it_does_not_produce(tmp_path: Path) -> None:
    async with sqlite_database(tmp_path / "relay.db") as db:
        bus = InProcessBus(db.sessions)
        bus.subscribe(audit_consumer(WorkerSettings()))
        settings = RelaySettings(database_url=sqlite_url(tmp_path / "relay.db"))
        parts = await RELAY_WORKER.build(
            WorkerContext("relay", settings, db.sessions, WorkerMetrics(), local_publisher=bus)
        )
        good, stray = task_event(), task_event()
        async with db.sessions() as session, session.begin():
            # Written past the outbox's own check, as a row of an older release could be.
            await session.execute(
                insert(OutboxEvent),
                [
                    {
                        "event_id": event.id,
                        "topic": topic,
                        "key": event.subject,
                        "event_type": event.type.value,
                        "payload": event.model_dump(mode="json"),
                    }
                    for event, topic in ((good, "task-events"), (stray, "audit.dlq"))
                ],
            )
        (ready,) = parts.ready_checks
        await bus.start()
        publishing = asyncio.create_task(parts.loops[0]())
        try:
            await eventually(lambda: ready() is not None, within=30, what="the refusal")
            assert ready() == (
                "publishing: UndeclaredTopic: process 'relay' may not write audit.dlq: its "
                "'produces' in app/core/processes.py declares reminders, task-events, "
                "task-updates"
            )
            await bus.drained()
            # The batch was refused whole: neither row went out, neither was audited.
            assert [row.published_at for row in await _outbox(db)] == [None, None]
            assert bus.dead_letters == []
            async with db.sessions() as session, session.begin():
                await session.execute(delete(OutboxEvent).where(OutboxEvent.event_id == stray.id))

            async def published() -> bool:
                return [row.published_at is not None for row in await _outbox(db)] == [True]

            await eventually(published, within=30, what="the declared row published")
            await bus.drained()
            async with db.engine.connect() as connection:
                audited = await connection.exec_driver_sql("SELECT event_id FROM audit_log")
                assert [uuid.UUID(str(row[0])) for row in audited] == [good.id]
        finally:
            publishing.cancel()
            await asyncio.gather(publishing, return_exceptions=True)
            for stop in parts.on_stop:
                await stop()
            await bus.stop()
