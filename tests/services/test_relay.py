"""The outbox relay on the real PostgreSQL and broker: order, wake-up, replicas, pruning, Dapr."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from sqlalchemy import func, select, text, update
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.core.db.event_models import ProcessedEvent
from app.core.db.models import OutboxEvent
from app.core.db.session import create_engine, session_factory
from app.core.events.contract import CloudEvent, EventType
from app.core.events.outbox import record
from app.core.events.topics import TASK_EVENTS, TASK_UPDATES
from app.core.observability.tracing import tracer_provider
from devtools.kafka import KafkaBroker
from devtools.postgres import PostgresServer
from devtools.process import LOOPBACK, free_port
from devtools.testkit.events_support import read_topic, task_event
from devtools.testkit.http_stub import LoopbackApp
from devtools.testkit.workers_support import Database, eventually, migrated_database
from services.common import WorkerMetrics, decode_event
from services.common.publisher import Publisher
from services.relay.loop import RelayLoop
from services.relay.outbox import OutboxBacklog, OutboxRelay
from services.relay.pruning import prune
from services.relay.publishers import DaprPublisher, KafkaPublisher

pytestmark = [pytest.mark.postgres]


@pytest.fixture
async def db(postgres: PostgresServer) -> AsyncIterator[Database]:
    async with migrated_database(postgres) as database:
        yield database


async def write(db: Database, events: Sequence[CloudEvent]) -> None:
    """Commit ``events`` to the outbox, one transaction each (as API calls would)."""
    for event in events:
        async with db.sessions() as session, session.begin():
            await record(session, event)


async def unpublished(db: Database) -> int:
    async with db.sessions() as session:
        count = await session.scalar(
            select(func.count()).select_from(OutboxEvent).where(OutboxEvent.published_at.is_(None))
        )
    return int(count or 0)


def task_history(count_tasks: int, versions: int) -> list[CloudEvent]:
    owner = uuid.uuid4()
    tasks = [uuid.uuid4() for _ in range(count_tasks)]
    return [
        task_event(
            EventType.TASK_CREATED if version == 1 else EventType.TASK_UPDATED,
            task_id=task,
            owner_id=owner,
            version=version,
        )
        for version in range(1, versions + 1)
        for task in tasks
    ]


@asynccontextmanager
async def relaying(
    db: Database,
    publisher: Publisher,
    *,
    poll_seconds: float = 60,
    batch_size: int = 50,
    tracer: TracerProvider | None = None,
) -> AsyncIterator[RelayLoop]:
    relay = OutboxRelay(db.sessions, publisher, batch_size=batch_size, tracer=tracer)
    loop = RelayLoop(relay, poll_seconds=poll_seconds, listener_url=db.url)
    task = asyncio.create_task(loop.run())
    try:
        assert loop.listener is not None
        await asyncio.wait_for(loop.listener.connected.wait(), 10)
        yield loop
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await publisher.stop()


@pytest.mark.kafka
async def test_notify_wakes_the_relay_which_publishes_in_order_with_notices(
    kafka: KafkaBroker, db: Database
) -> None:
    events = task_history(count_tasks=4, versions=5)
    keys = {event.subject for event in events}
    # The poll is a minute away: only NOTIFY can make this test pass within its deadlines.
    async with relaying(db, KafkaPublisher(kafka.bootstrap, "test-relay"), poll_seconds=60):
        await write(db, events)
        await eventually(lambda: _is_zero(unpublished(db)), within=20, what="outbox drained")

    published = await read_topic(kafka.bootstrap, TASK_EVENTS.name, count=20, keys=keys)
    assert sorted(json.loads(r.value)["id"] for r in published) == sorted(str(e.id) for e in events)
    for task in keys:  # per task: the order the changes committed in
        versions = [
            json.loads(r.value)["data"]["version"] for r in published if r.key == task.encode()
        ]
        assert versions == [1, 2, 3, 4, 5]
    assert {r.headers["content-type"] for r in published} == {b"application/cloudevents+json"}
    assert all(decode_event(r.value).id for r in published)

    owner = str(events[0].data["owner_id"])
    notices = await read_topic(kafka.bootstrap, TASK_UPDATES.name, count=20, keys={owner})
    bodies = [json.loads(r.value) for r in notices]
    assert {tuple(sorted(b)) for b in bodies} == {
        ("owner_id", "task_id", "time", "type", "version")
    }
    assert [(b["task_id"], b["version"]) for b in bodies] == [
        (e.subject, e.data["version"]) for e in events
    ]


@pytest.mark.kafka
async def test_two_relay_replicas_publish_every_row_once_in_id_order(
    kafka: KafkaBroker, db: Database
) -> None:
    events = task_history(count_tasks=10, versions=12)
    keys = {event.subject for event in events}
    async with (
        relaying(db, KafkaPublisher(kafka.bootstrap, "replica-a"), batch_size=7),
        relaying(db, KafkaPublisher(kafka.bootstrap, "replica-b"), batch_size=7),
    ):
        writers = [write(db, events[i::4]) for i in range(4)]
        await asyncio.gather(*writers)
        await eventually(lambda: _is_zero(unpublished(db)), within=30, what="outbox drained")

    published = await read_topic(kafka.bootstrap, TASK_EVENTS.name, count=120, keys=keys)
    ids = [json.loads(r.value)["id"] for r in published]
    assert len(ids) == 120
    assert sorted(ids) == sorted(str(e.id) for e in events)
    async with db.sessions() as session:
        order = {str(row.event_id): row.id for row in await session.scalars(select(OutboxEvent))}
    for task in keys:
        of_task = [order[json.loads(r.value)["id"]] for r in published if r.key == task.encode()]
        assert of_task == sorted(of_task)


async def test_pruning_deletes_only_old_published_rows_and_old_records(db: Database) -> None:
    now = datetime.now(UTC)
    old, recent = now - timedelta(days=8), now - timedelta(hours=1)
    async with db.sessions() as session, session.begin():
        for published_at in [old] * 5 + [recent] * 2 + [None] * 2:
            event = task_event()
            await record(session, event)
            await session.execute(
                update(OutboxEvent)
                .where(OutboxEvent.event_id == event.id)
                .values(published_at=published_at)
            )
        for processed_at in [old] * 4 + [recent] * 3:
            session.add(
                ProcessedEvent(consumer_group="g", event_id=uuid.uuid4(), processed_at=processed_at)
            )

    pruned = await prune(db.sessions, cutoff=now - timedelta(days=7), batch_size=2)

    assert (pruned.outbox, pruned.processed_events) == (5, 4)
    async with db.engine.connect() as connection:
        left = (
            await connection.execute(text("SELECT count(*), count(published_at) FROM outbox"))
        ).one()
        records = await connection.scalar(text("SELECT count(*) FROM processed_events"))
    assert tuple(left) == (4, 2)
    assert records == 3


class DaprSidecar(LoopbackApp):
    """A stand-in for the Dapr sidecar's publish endpoint: records requests, can fail some."""

    def __init__(self) -> None:
        super().__init__([Route("/v1.0/publish/{pubsub}/{topic}", self._publish, methods=["POST"])])
        self.url = self.root
        self.requests: list[tuple[str, dict[str, str], str, bytes]] = []
        self.failures_left = 0

    async def _publish(self, request: Request) -> Response:
        if self.failures_left > 0:
            self.failures_left -= 1
            return Response('{"errorCode":"ERR_PUBSUB_PUBLISH_MESSAGE"}', status_code=500)
        self.requests.append(
            (
                request.url.path,
                dict(request.query_params),
                request.headers["content-type"],
                await request.body(),
            )
        )
        return Response(status_code=204)


def _traced(event: CloudEvent) -> CloudEvent:
    """``event`` as written by a traced request of its own."""
    traceparent = f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-01"
    return event.model_copy(update={"traceparent": traceparent})


async def test_dapr_backend_keeps_the_event_id_and_partition_key_and_retries_failures(
    db: Database,
) -> None:
    events = [_traced(event) for event in task_history(count_tasks=2, versions=2)]
    spans = InMemorySpanExporter()
    tracer = tracer_provider("test-relay", exporter=spans)
    async with DaprSidecar() as sidecar:
        sidecar.failures_left = 1  # the first batch fails: nothing may be marked published
        relay = relaying(db, DaprPublisher(sidecar.url, "pubsub"), poll_seconds=0.2, tracer=tracer)
        async with relay:
            await write(db, events)
            await eventually(lambda: _is_zero(unpublished(db)), within=20, what="outbox drained")

    cloud_events = [r for r in sidecar.requests if r[0].endswith("/task-events")]
    # The failed batch is retried whole: events may repeat, but each arrives with its own id.
    assert {json.loads(body)["id"] for *_, body in cloud_events} == {str(e.id) for e in events}
    for path, params, content_type, body in cloud_events:
        assert path == "/v1.0/publish/pubsub/task-events"
        assert content_type == "application/cloudevents+json"
        assert params["metadata.cloudevent.id"] == json.loads(body)["id"]
        assert params["metadata.partitionKey"] == json.loads(body)["subject"]
        # What Dapr puts on the topic is our envelope plus its own attributes: consumers read
        # it as the very same event.
        passed_through = {
            **json.loads(body),
            "topic": "task-events",
            "pubsubname": "pubsub",
            "traceid": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "tracestate": "",
        }
        assert decode_event(json.dumps(passed_through).encode()) == decode_event(body)
    # Published with the traceparent the request wrote, in a PRODUCER span continuing it.
    sent = {json.loads(body)["id"]: json.loads(body)["traceparent"] for *_, body in cloud_events}
    assert sent == {str(e.id): e.traceparent for e in events}
    published = [s for s in spans.get_finished_spans() if s.kind == SpanKind.PRODUCER]
    assert {s.name for s in published} == {"publish task-events"}

    def continued(failed: bool) -> list[str]:
        return sorted(
            f"00-{s.context.trace_id:032x}-{s.parent.span_id:016x}-01"
            for s in published
            if s.parent is not None and (s.status.status_code is StatusCode.ERROR) is failed
        )

    # Each event published once; the events of the failed batch (the first written, at
    # least) also have a span that records the failure.
    assert continued(failed=False) == sorted(str(e.traceparent) for e in events)
    assert str(events[0].traceparent) in continued(failed=True)
    assert set(continued(failed=True)) <= {str(e.traceparent) for e in events}
    notices = [r for r in sidecar.requests if r[0].endswith("/task-updates")]
    assert {params["metadata.partitionKey"] for _, params, _, _ in notices} == {
        str(events[0].data["owner_id"])
    }
    assert {content_type for _, _, content_type, _ in notices} == {"application/json"}


async def test_backlog_gauges_count_what_waits_and_survive_a_database_outage(
    db: Database,
) -> None:
    metrics = WorkerMetrics()
    metrics.before_scrape(OutboxBacklog(db.sessions, metrics).refresh)

    async def gauges() -> tuple[float | None, float | None]:
        await metrics.exposition()
        get = metrics.registry.get_sample_value
        return get("todo_outbox_backlog"), get("todo_outbox_oldest_unpublished_age_seconds")

    assert await gauges() == (0, 0)
    events = task_history(count_tasks=3, versions=1)
    before = time.monotonic()
    await write(db, events)
    async with db.sessions() as session, session.begin():
        # The oldest unpublished row has waited 90 s; an older one is published: not counted.
        await session.execute(
            update(OutboxEvent)
            .where(OutboxEvent.event_id == events[0].id)
            .values(created_at=func.now() - timedelta(seconds=90))
        )
        await session.execute(
            update(OutboxEvent)
            .where(OutboxEvent.event_id == events[1].id)
            .values(created_at=func.now() - timedelta(seconds=150), published_at=func.now())
        )
    backlog, age = await gauges()
    elapsed = time.monotonic() - before
    assert backlog == 2
    assert age is not None
    assert 90 <= age <= 90 + elapsed

    # The database goes away: the scrape still answers, with the last values.
    unreachable = create_engine(f"postgresql+asyncpg://nobody@{LOOPBACK}:{free_port()}/none")
    metrics.before_scrape(OutboxBacklog(session_factory(unreachable), metrics).refresh)
    try:
        assert (await gauges())[0] == 2
    finally:
        await unreachable.dispose()


async def _is_zero(count: Awaitable[int]) -> bool:
    return await count == 0
