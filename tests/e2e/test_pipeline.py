"""The event pipeline end to end: the real API, ``python -m services.relay``, Kafka and
``python -m services.audit`` on the real PostgreSQL -- including a broker outage.

Every fault test counts events in and effects out and asserts they are equal.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from functools import partial
from typing import Any

import pytest
from sqlalchemy import select, text

from app.core.db.models import OutboxEvent
from app.core.events.topics import TASK_EVENTS, Topic
from devtools.kafka import KafkaBroker
from devtools.postgres import PostgresServer
from devtools.testkit.events_support import ServiceProcess, read_topic
from devtools.testkit.workers_stack import Stack
from devtools.testkit.workers_support import eventually, migrated_database
from services.audit.worker import audit_consumer
from services.common import KafkaConsumerRuntime, WorkerMetrics, WorkerSettings

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@pytest.fixture(scope="module")
async def audit(stack: Stack) -> AsyncIterator[ServiceProcess]:
    worker = stack.service("audit")
    await worker.start()
    try:
        yield worker
    finally:
        worker.stop()


async def history(stack: Stack, headers: dict[str, str], task_id: str) -> list[dict[str, Any]]:
    response = await stack.client.get(f"/tasks/{task_id}/history", headers=headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def history_has(stack: Stack, headers: dict[str, str], task_id: str, count: int) -> bool:
    return len(await history(stack, headers, task_id)) >= count


async def update(stack: Stack, headers: dict[str, str], task_id: str, **body: Any) -> None:
    response = await stack.client.patch(f"/tasks/{task_id}", json=body, headers=headers)
    assert response.status_code == 200, response.text


async def outbox_ids(stack: Stack, task_ids: set[str]) -> set[uuid.UUID]:
    async with stack.db.sessions() as session:
        rows = await session.scalars(
            select(OutboxEvent.event_id).where(OutboxEvent.key.in_(task_ids))
        )
        return set(rows)


async def count_rows(stack: Stack, query: str, ids: set[uuid.UUID]) -> int:
    async with stack.db.engine.connect() as connection:
        return int(await connection.scalar(text(query), {"ids": list(ids)}) or 0)


AUDITED = "SELECT count(*) FROM audit_log WHERE event_id = ANY(:ids)"
RECORDED = (
    "SELECT count(*) FROM processed_events WHERE consumer_group = 'audit' AND event_id = ANY(:ids)"
)


async def test_a_change_reaches_task_events_and_the_history_oldest_first(
    stack: Stack, audit: ServiceProcess
) -> None:
    headers = await stack.new_user()
    created = await stack.client.post(
        "/tasks", json={"title": "e2e"}, headers={**headers, "traceparent": TRACEPARENT}
    )
    assert created.status_code == 201, created.text
    task_id = created.json()["id"]
    await update(stack, headers, task_id, title="renamed")
    await stack.complete(headers, task_id)

    records = await read_topic(stack.bootstrap, TASK_EVENTS.name, count=3, keys={task_id})
    events = [json.loads(record.value) for record in records]
    assert [e["type"] for e in events] == ["task.created", "task.updated", "task.completed"]
    assert events[0]["traceparent"] == TRACEPARENT  # the request's trace follows the change
    assert events[0]["data"]["title"] == "e2e"

    await eventually(
        lambda: history_has(stack, headers, task_id, 3), within=30, what="3 history entries"
    )
    entries = await history(stack, headers, task_id)
    assert [(e["type"], e["version"]) for e in entries] == [
        ("task.created", 1),
        ("task.updated", 2),
        ("task.completed", 3),
    ]
    assert [e["event_id"] for e in entries] == [e["id"] for e in events]
    assert entries[1]["data"]["title"] == "renamed"

    # Another user sees nothing of it, not even that it exists.
    stranger = await stack.new_user()
    response = await stack.client.get(f"/tasks/{task_id}/history", headers=stranger)
    assert response.status_code == 404


async def test_one_tasks_events_keep_their_order_across_the_partitions(
    stack: Stack, audit: ServiceProcess
) -> None:
    headers = await stack.new_user()
    tasks = [(await stack.create_task(headers, title=f"t{i}"))["id"] for i in range(12)]
    for round_ in range(4):  # interleaved: every task changes in every round
        await asyncio.gather(*(update(stack, headers, t, title=f"r{round_}") for t in tasks))

    records = await read_topic(stack.bootstrap, TASK_EVENTS.name, count=60, keys=set(tasks))
    assert len(records) == 60
    for task_id in tasks:
        mine = [r for r in records if r.key == task_id.encode()]
        assert len({r.partition for r in mine}) == 1  # keyed by task id: one partition
        assert [json.loads(r.value)["data"]["version"] for r in mine] == [1, 2, 3, 4, 5]
    for task_id in tasks:
        await eventually(
            partial(history_has, stack, headers, task_id, 5), within=30, what="5 entries"
        )
        assert [e["version"] for e in await history(stack, headers, task_id)] == [1, 2, 3, 4, 5]


async def test_replaying_the_topic_into_a_fresh_audit_table_reproduces_the_history(
    stack: Stack, audit: ServiceProcess, kafka: KafkaBroker, postgres: PostgresServer
) -> None:
    headers = await stack.new_user()
    tasks = [(await stack.create_task(headers, title=f"replay {i}"))["id"] for i in range(3)]
    for task_id in tasks:
        await update(stack, headers, task_id, priority="high")
    await stack.complete(headers, tasks[0])
    for task_id, count in zip(tasks, (3, 2, 2), strict=True):
        await eventually(
            partial(history_has, stack, headers, task_id, count), within=30, what="history"
        )
    original = {t: await history(stack, headers, t) for t in tasks}

    group = f"audit-replay-{uuid.uuid4().hex[:8]}"
    kafka.create_topics([Topic(f"{group}.dlq", 1)])
    spec = dataclasses.replace(audit_consumer(WorkerSettings()), group=group)
    async with migrated_database(postgres) as fresh:
        runtime = KafkaConsumerRuntime(
            spec, bootstrap=kafka.bootstrap, sessions=fresh.sessions, metrics=WorkerMetrics()
        )
        await runtime.start()
        running = asyncio.create_task(runtime.run())
        ids = {uuid.UUID(e["event_id"]) for entries in original.values() for e in entries}
        try:
            await eventually(
                lambda: _replayed(fresh.engine, ids), within=60, what="the replay caught up"
            )
        finally:
            await runtime.stop()
            await running
        async with fresh.engine.connect() as connection:
            rows = (
                await connection.execute(
                    text(
                        "SELECT task_id, event_id, event_type, task_version, event_time, data"
                        " FROM audit_log WHERE event_id = ANY(:ids) ORDER BY event_time, id"
                    ),
                    {"ids": list(ids)},
                )
            ).all()
    replayed = {
        t: [
            (str(r.event_id), r.event_type, r.task_version, r.event_time, r.data)
            for r in rows
            if str(r.task_id) == t
        ]
        for t in tasks
    }
    assert replayed == {
        t: [(e["event_id"], e["type"], e["version"], _time(e["time"]), e["data"]) for e in entries]
        for t, entries in original.items()
    }


async def test_broker_outage_while_the_api_takes_writes_then_every_event_arrives_once(
    stack: Stack, audit: ServiceProcess, kafka: KafkaBroker
) -> None:
    headers = await stack.new_user()
    tasks = [(await stack.create_task(headers, title=f"before {i}"))["id"] for i in range(3)]
    await stack.wait_published()

    kafka.stop()
    try:
        for i in range(10):
            tasks.append((await stack.create_task(headers, title=f"during {i}"))["id"])
        for task_id in tasks[:10]:
            await update(stack, headers, task_id, description="written while Kafka was down")
        for task_id in tasks[:5]:
            await stack.complete(headers, task_id)
        assert not await stack.outbox_drained()
        # What the alerts read: every change made while the broker is down waits, and ages.
        assert await stack.relay.metric("todo_outbox_backlog") == 10 + 10 + 5
        assert await stack.relay.metric("todo_outbox_oldest_unpublished_age_seconds") > 0
    finally:
        kafka.start()  # from this (the main) thread: the broker dies with its parent thread

    await stack.wait_published(within=90)
    assert await stack.relay.metric("todo_outbox_backlog") == 0
    ids = await outbox_ids(stack, set(tasks))
    assert len(ids) == 13 + 10 + 5
    await eventually(lambda: _counts(stack, ids, len(ids)), within=90, what="every event audited")
    assert await count_rows(stack, AUDITED, ids) == len(ids)
    assert await count_rows(stack, RECORDED, ids) == len(ids)
    on_topic = await read_topic(stack.bootstrap, TASK_EVENTS.name, count=len(ids), keys=set(tasks))
    assert {uuid.UUID(json.loads(r.value)["id"]) for r in on_topic} == ids


async def _counts(stack: Stack, ids: set[uuid.UUID], expected: int) -> bool:
    return await count_rows(stack, AUDITED, ids) == expected


async def _replayed(engine: Any, ids: set[uuid.UUID]) -> bool:
    async with engine.connect() as connection:
        count = await connection.scalar(text(AUDITED), {"ids": list(ids)})
    return count == len(ids)


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value)
