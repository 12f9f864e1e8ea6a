"""The consumer runtime on the real broker and PostgreSQL: exactly-once effects, dead letters.

The handler here writes a deliberately non-idempotent effect (a plain insert, no unique key),
so any event applied twice would show as two rows: the runtime's bookkeeping alone must
prevent it.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.events.contract import CloudEvent, EventType
from app.core.observability.tracing import tracer_provider
from devtools.kafka import KafkaBroker
from devtools.postgres import PostgresServer
from services.common import ConsumerSpec, KafkaConsumerRuntime, PermanentError, WorkerMetrics
from tests.services.events_support import (
    committed_offsets,
    encode,
    end_offsets,
    new_group,
    new_topic,
    produce,
    read_topic,
    task_event,
)
from tests.services.workers_support import Database, eventually, migrated_database

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]


@pytest.fixture(scope="module")
async def db(postgres: PostgresServer) -> AsyncIterator[Database]:
    async with migrated_database(postgres) as database:
        async with database.engine.begin() as connection:
            await connection.execute(
                text(
                    "CREATE TABLE effects (id bigserial PRIMARY KEY, grp text NOT NULL,"
                    " event_id uuid NOT NULL, task_id text NOT NULL, version int)"
                )
            )
        yield database


class Effects:
    """The test handler: one plain row per call, failing on request (by task title)."""

    def __init__(self, group: str) -> None:
        self.group = group
        self.calls: Counter[str] = Counter()

    async def __call__(self, event: CloudEvent, session: AsyncSession) -> None:
        title = str(event.data.get("title", ""))
        self.calls[title] += 1
        if title == "explode":
            raise RuntimeError("the handler always fails on this one")
        if title == "permanent":
            raise PermanentError("retrying cannot help")
        if title == "flaky" and self.calls[title] < 3:
            raise RuntimeError(f"transient failure #{self.calls[title]}")
        await session.execute(
            text(
                "INSERT INTO effects (grp, event_id, task_id, version)"
                " VALUES (:grp, :event_id, :task_id, :version)"
            ),
            {
                "grp": self.group,
                "event_id": event.id,
                "task_id": event.subject,
                "version": event.data.get("version"),
            },
        )


async def effects(db: Database, group: str) -> list[tuple[uuid.UUID, str, int | None]]:
    async with db.engine.connect() as connection:
        rows = await connection.execute(
            text("SELECT event_id, task_id, version FROM effects WHERE grp = :g ORDER BY id"),
            {"g": group},
        )
        return [(row[0], row[1], row[2]) for row in rows]


async def processed(db: Database, group: str) -> int:
    async with db.engine.connect() as connection:
        count = await connection.scalar(
            text("SELECT count(*) FROM processed_events WHERE consumer_group = :g"), {"g": group}
        )
    return int(count or 0)


@asynccontextmanager
async def running(
    kafka: KafkaBroker,
    db: Database,
    spec: ConsumerSpec,
    *,
    batch_size: int = 10,
    metrics: WorkerMetrics | None = None,
    tracer: TracerProvider | None = None,
) -> AsyncIterator[KafkaConsumerRuntime]:
    runtime = KafkaConsumerRuntime(
        spec,
        bootstrap=kafka.bootstrap,
        sessions=db.sessions,
        metrics=metrics,
        tracer=tracer,
        batch_size=batch_size,
        retry_backoff_seconds=0.01,
        session_timeout_ms=6000,
    )
    await runtime.start()
    task = asyncio.create_task(runtime.run())
    try:
        yield runtime
    finally:
        await runtime.stop()
        await asyncio.wait_for(task, 30)


async def offsets_caught_up(kafka: KafkaBroker, group: str, topic: str) -> bool:
    ends = {tp: offset for tp, offset in (await end_offsets(kafka.bootstrap, topic)).items()}
    committed = await committed_offsets(kafka.bootstrap, group, topic)
    # A partition that never had a record has nothing to commit.
    return committed == {tp: offset for tp, offset in ends.items() if offset > 0}


async def test_every_event_has_one_effect_in_order_and_offsets_follow(
    kafka: KafkaBroker, db: Database
) -> None:
    topic, group = new_topic(kafka, "rt-order"), new_group(kafka, "rt-order")
    tasks = [uuid.uuid4() for _ in range(8)]
    events = [
        task_event(EventType.TASK_UPDATED, task_id=task, version=version)
        for version in range(1, 6)
        for task in tasks
    ]
    await produce(kafka.bootstrap, topic, [(e.subject, encode(e)) for e in events])

    spec = ConsumerSpec(group=group, topics=(topic,), handler=Effects(group))
    async with running(kafka, db, spec, batch_size=7) as runtime:
        await eventually(
            lambda: offsets_caught_up(kafka, group, topic), within=30, what="offsets committed"
        )
        assert runtime.ready

    rows = await effects(db, group)
    assert len(rows) == 40
    assert {row[0] for row in rows} == {event.id for event in events}
    for task in tasks:  # one task's events keep their order across the 3 partitions
        assert [v for _, t, v in rows if t == str(task)] == [1, 2, 3, 4, 5]
    assert await processed(db, group) == 40


async def test_duplicate_delivery_has_one_effect(kafka: KafkaBroker, db: Database) -> None:
    topic, group = new_topic(kafka, "rt-dup"), new_group(kafka, "rt-dup")
    event = task_event()
    record = (event.subject, encode(event))
    await produce(kafka.bootstrap, topic, [record, record])  # twice in one batch

    spec = ConsumerSpec(group=group, topics=(topic,), handler=Effects(group))
    metrics = WorkerMetrics()
    async with running(kafka, db, spec, metrics=metrics):
        await eventually(
            lambda: offsets_caught_up(kafka, group, topic), within=30, what="first two applied"
        )
        await produce(kafka.bootstrap, topic, [record])  # and again, later
        await eventually(
            lambda: offsets_caught_up(kafka, group, topic), within=30, what="third applied"
        )

    assert [row[0] for row in await effects(db, group)] == [event.id]
    assert await processed(db, group) == 1
    # Handled three times (once applied, twice recognised); timed once, when applied.
    assert _sample(metrics, "todo_events_processed_total", group, type="task.created") == 3
    assert _sample(metrics, "todo_event_handler_duration_seconds_count", group) == 1


async def test_types_outside_the_filter_are_acknowledged_without_effect(
    kafka: KafkaBroker, db: Database
) -> None:
    topic, group = new_topic(kafka, "rt-filter"), new_group(kafka, "rt-filter")
    task = uuid.uuid4()
    events = [
        task_event(EventType.TASK_CREATED, task_id=task),
        task_event(EventType.TASK_COMPLETED, task_id=task, version=2),
        task_event(EventType.TASK_DELETED, task_id=task),
    ]
    await produce(kafka.bootstrap, topic, [(str(task), encode(e)) for e in events])

    spec = ConsumerSpec(
        group=group,
        topics=(topic,),
        handler=Effects(group),
        event_types=frozenset({EventType.TASK_COMPLETED}),
    )
    async with running(kafka, db, spec):
        await eventually(
            lambda: offsets_caught_up(kafka, group, topic), within=30, what="offsets committed"
        )

    assert [row[0] for row in await effects(db, group)] == [events[1].id]
    assert await processed(db, group) == 1


def _sample(metrics: WorkerMetrics, name: str, group: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, {"group": group, **labels})


def _json(document: object) -> bytes:
    return json.dumps(document).encode()


async def test_poison_messages_are_dead_lettered_with_the_reason_and_the_consumer_goes_on(
    kafka: KafkaBroker, db: Database
) -> None:
    topic, group = new_topic(kafka, "rt-poison", partitions=1), new_group(kafka, "rt-poison")
    good = [task_event(title=f"good {i}") for i in range(3)]
    flaky, explode, permanent = (task_event(title=t) for t in ("flaky", "explode", "permanent"))
    bad_data = task_event().model_dump(mode="json")
    del bad_data["data"]["title"]
    poison: list[tuple[str, bytes | None]] = [
        ("undecodable", b"\xff\xfe not json"),
        ("not-a-cloudevent", b"[1, 2, 3]"),
        ("not-a-cloudevent", b'{"hello": "world"}'),
        ("unknown-type", _json({**bad_data, "type": "task.exploded", "data": {}})),
        (
            "unknown-schema-version",
            _json({**task_event().model_dump(mode="json"), "schemaversion": "2"}),
        ),
        ("invalid-data", _json(bad_data)),
        ("undecodable", None),  # a tombstone
    ]
    records: list[tuple[str | None, bytes | None]] = [
        ("k", encode(good[0])),
        *(("k", value) for _, value in poison),
        ("k", encode(explode)),
        ("k", encode(flaky)),
        ("k", encode(permanent)),
        ("k", encode(good[1])),
        ("k", encode(good[2])),
    ]
    await produce(kafka.bootstrap, topic, records)

    handler = Effects(group)
    spec = ConsumerSpec(group=group, topics=(topic,), handler=handler, max_attempts=3)
    metrics = WorkerMetrics()
    async with running(kafka, db, spec, batch_size=50, metrics=metrics):
        await eventually(
            lambda: offsets_caught_up(kafka, group, topic), within=30, what="offsets committed"
        )

    applied = [row[0] for row in await effects(db, group)]
    assert applied == [good[0].id, flaky.id, good[1].id, good[2].id]
    assert handler.calls["explode"] == 3
    assert handler.calls["flaky"] == 3
    assert handler.calls["permanent"] == 1

    dead = await read_topic(kafka.bootstrap, f"{group}.dlq", count=len(poison) + 2)
    expected_reasons = [reason for reason, _ in poison] + ["handler-failed", "handler-failed"]
    assert [r.headers["dlq.reason"].decode() for r in dead] == expected_reasons
    assert [r.value for r in dead[: len(poison)]] == [value or b"" for _, value in poison]
    assert [int(r.headers["dlq.offset"]) for r in dead] == [*range(1, 8), 8, 10]
    assert {r.headers["dlq.topic"].decode() for r in dead} == {topic}
    assert [r.headers["dlq.attempts"].decode() for r in dead[-2:]] == ["3", "1"]
    assert b"always fails" in dead[-2].headers["dlq.error"]
    assert b"retrying cannot help" in dead[-1].headers["dlq.error"]
    assert all(r.headers["dlq.error"] for r in dead)

    failed = "todo_events_failed_total"
    assert _sample(metrics, failed, group, reason="invalid") == len(poison)
    assert _sample(metrics, failed, group, reason="RuntimeError") == 3 + 2  # explode, flaky
    assert _sample(metrics, failed, group, reason="PermanentError") == 1
    assert _sample(metrics, "todo_dlq_messages_total", group) == len(poison) + 2
    assert _sample(metrics, "todo_events_processed_total", group, type="task.created") == 4


async def test_the_bulk_path_dedupes_and_falls_back_event_by_event_when_it_fails(
    kafka: KafkaBroker, db: Database
) -> None:
    topic, group = new_topic(kafka, "rt-bulk", partitions=1), new_group(kafka, "rt-bulk")
    effect = Effects(group)
    bulk_calls: list[int] = []

    async def in_bulk(events: Sequence[CloudEvent], session: AsyncSession) -> None:
        bulk_calls.append(len(events))
        for event in events:  # the same effect as the handler, event after event
            await effect(event, session)

    # Each event from its own request: the handling of each continues that request's trace.
    first = [
        task_event(title=f"bulk {i}").model_copy(
            update={"traceparent": f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-01"}
        )
        for i in range(20)
    ]
    records = [(e.subject, encode(e)) for e in first]
    await produce(kafka.bootstrap, topic, [*records, records[0], records[1]])
    spec = ConsumerSpec(
        group=group, topics=(topic,), handler=effect, batch_handler=in_bulk, max_attempts=2
    )
    spans = InMemorySpanExporter()
    tracer = tracer_provider("test-consumer", exporter=spans)
    async with running(kafka, db, spec, batch_size=50, tracer=tracer):
        await eventually(
            lambda: offsets_caught_up(kafka, group, topic), within=30, what="first batch"
        )
        assert bulk_calls == [20]  # one call for the batch, repeats left out
        handled = [s for s in spans.get_finished_spans() if s.kind == SpanKind.CONSUMER]
        assert sorted(_continued(span) for span in handled) == sorted(
            str(e.traceparent).split("-")[1:3] for e in first
        )
        assert {span.name for span in handled} == {f"process {topic}"}
        # A batch whose bulk call fails is applied event by event: the good ones once, the
        # bad one retried and dead-lettered.
        second = [task_event(title="after"), task_event(title="explode"), first[2]]
        await produce(kafka.bootstrap, topic, [(e.subject, encode(e)) for e in second])
        await eventually(
            lambda: offsets_caught_up(kafka, group, topic), within=30, what="second batch"
        )

    applied = [row[0] for row in await effects(db, group)]
    assert applied == [e.id for e in first] + [second[0].id]
    assert await processed(db, group) == 21
    assert effect.calls["explode"] == 3  # once in the failed bulk call, then its 2 attempts
    dead = await read_topic(kafka.bootstrap, f"{group}.dlq", count=1)
    assert [r.headers["dlq.reason"] for r in dead] == [b"handler-failed"]


def _continued(span: ReadableSpan) -> list[str]:
    """The trace id and parent span id of ``span``, as a traceparent spells them."""
    assert span.parent is not None
    return [format(span.context.trace_id, "032x"), format(span.parent.span_id, "016x")]


class Hanging:
    """A handler that blocks until released: a consumer stuck on a slow dependency."""

    def __init__(self) -> None:
        self.entered = asyncio.Event()
        self.release = asyncio.Event()

    async def __call__(self, event: CloudEvent, session: AsyncSession) -> None:
        self.entered.set()
        await self.release.wait()


async def test_lag_keeps_growing_while_a_handler_hangs(kafka: KafkaBroker, db: Database) -> None:
    topic, group = new_topic(kafka, "rt-lag"), new_group(kafka, "rt-lag")
    metrics, handler = WorkerMetrics(), Hanging()
    spec = ConsumerSpec(group=group, topics=(topic,), handler=handler)

    def lag() -> float:
        return sum(
            sample.value
            for family in metrics.registry.collect()
            if family.name == "todo_consumer_lag"
            for sample in family.samples
            if sample.labels["group"] == group
        )

    async with running(kafka, db, spec, batch_size=1, metrics=metrics):
        await produce(kafka.bootstrap, topic, [("k", encode(task_event()))])
        await asyncio.wait_for(handler.entered.wait(), 30)
        # The first event is stuck in its handler; 20 more arrive behind it.
        await produce(kafka.bootstrap, topic, [("k", encode(task_event())) for _ in range(20)])

        async def lag_is(expected: int) -> bool:
            return lag() == expected

        await eventually(lambda: lag_is(21), within=30, what="lag of 21 while the handler hangs")
        handler.release.set()
        await eventually(lambda: lag_is(0), within=30, what="lag drained once released")
