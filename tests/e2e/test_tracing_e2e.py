"""One trace from the HTTP call to the next occurrence, across the broker.

Completing a recurring task through the API, the relay publishing the completion, the recurring
service handling it, and the ``task.created`` of the next occurrence (and its publication) all
belong to the request's trace. The API, the relay and the recurring service run in this process
on the real PostgreSQL and Kafka, each built as its process builds it (``create_app``,
``services.common.process.serve``) with a tracer provider and an in-memory exporter of its own,
so no span reaches another component except through the event's ``traceparent``.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import secrets
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import httpx
import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from sqlalchemy import select

from app.core.db.migrate import upgrade_async
from app.core.db.models import OutboxEvent, Task
from app.core.db.session import create_engine, session_factory
from app.core.events.contract import CloudEvent, EventType
from app.core.observability.logs import JsonFormatter
from app.core.settings import ApiSettings
from app.main import create_app
from devtools.kafka import KafkaBroker
from devtools.postgres import PostgresServer
from devtools.process import LOOPBACK, free_port
from devtools.testkit.accounts import register
from devtools.testkit.workers_support import Database, eventually
from services.common.process import Configured, serve
from services.common.settings import RelaySettings, WorkerSettings
from services.common.worker import Worker
from services.recurring.settings import RecurringSettings
from services.recurring.worker import WORKER as RECURRING
from services.relay.worker import WORKER as RELAY

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]

DEADLINE_S = 60.0
MESSAGE_ID = "messaging.message.id"


@asynccontextmanager
async def serving(
    worker: Worker[Any], settings: WorkerSettings, spans: InMemorySpanExporter
) -> AsyncIterator[None]:
    """``worker`` as ``python -m services.<name>`` runs it, in this process until the block
    ends; ready once its /readyz answers 200 (consumers in their groups)."""
    stop = asyncio.Event()
    running = asyncio.create_task(
        serve([Configured(worker, settings)], span_exporter=spans, stop=stop)
    )
    ready_url = f"http://{LOOPBACK}:{settings.http_port}/readyz"

    async def ready() -> bool:
        if running.done():
            running.result()  # raises what stopped it
            raise AssertionError(f"{worker.name} stopped before it was ready")
        try:
            async with httpx.AsyncClient(timeout=2) as client:
                return (await client.get(ready_url)).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        await eventually(ready, within=DEADLINE_S, what=f"{worker.name} ready")
        yield
    finally:
        stop.set()
        await asyncio.wait_for(running, 30)


@contextmanager
def json_log_lines(logger: str) -> Iterator[io.StringIO]:
    """The JSON lines ``logger`` writes at INFO and above, formatted as the workers format
    them (at the moment of logging, so a span active then names its trace)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    target = logging.getLogger(logger)
    level = target.level
    target.addHandler(handler)
    target.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        target.removeHandler(handler)
        target.setLevel(level)


def _written_in(traceparent: str | None, span: ReadableSpan) -> bool:
    """Whether an event with ``traceparent`` was written inside ``span`` (its trace id and
    parent id; the flags say sampled, and the SDK's trace ids are random)."""
    return str(traceparent).split("-")[1:3] == [
        f"{span.context.trace_id:032x}",
        f"{span.context.span_id:016x}",
    ]


def _the_one(spans: Sequence[ReadableSpan], kind: SpanKind, message_id: uuid.UUID) -> ReadableSpan:
    found = [
        span
        for span in spans
        if span.kind == kind and (span.attributes or {}).get(MESSAGE_ID) == str(message_id)
    ]
    assert len(found) == 1, f"{kind.name} spans of event {message_id}: {found}"
    return found[0]


def _child_of(span: ReadableSpan, parent: ReadableSpan) -> bool:
    return span.parent is not None and span.parent.span_id == parent.context.span_id


async def _outbox_event(db: Database, task_id: str, event_type: EventType) -> CloudEvent | None:
    async with db.sessions() as session:
        row = await session.scalar(
            select(OutboxEvent).where(
                OutboxEvent.key == task_id,
                OutboxEvent.event_type == event_type.value,
                OutboxEvent.published_at.is_not(None),
            )
        )
    return None if row is None else CloudEvent.model_validate(row.payload)


async def _next_occurrence(db: Database, series_id: str) -> str | None:
    async with db.sessions() as session:
        task_id = await session.scalar(
            select(Task.id).where(
                Task.series_id == uuid.UUID(series_id), Task.occurrence_index == 1
            )
        )
    return None if task_id is None else str(task_id)


async def test_completing_a_recurring_task_is_one_trace_from_the_request_to_the_next_occurrence(
    postgres: PostgresServer, kafka: KafkaBroker
) -> None:
    url = postgres.url(postgres.create_database())
    await upgrade_async(url)
    engine = create_engine(url)
    db = Database(url, engine, session_factory(engine))
    api_spans, relay_spans, recurring_spans = (InMemorySpanExporter() for _ in range(3))
    app = create_app(
        ApiSettings(database_url=url, jwt_secret=secrets.token_urlsafe(48)),
        span_exporter=api_spans,
    )
    relay = RelaySettings(database_url=url, kafka_bootstrap=kafka.bootstrap, http_port=free_port())
    recurring = RecurringSettings(
        database_url=url,
        kafka_bootstrap=kafka.bootstrap,
        http_port=free_port(),
        recurring_sweep_seconds=0,  # only the event may create the next occurrence
        consumer_session_timeout_ms=6000,
    )
    transport = httpx.ASGITransport(app=app)
    try:
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://api") as client,
            serving(RELAY, relay, relay_spans),
            serving(RECURRING, recurring, recurring_spans),
        ):
            with json_log_lines("services.recurring") as logs:
                headers = await register(client)
                created = await client.post(
                    "/tasks",
                    json={
                        "title": "water",
                        "due_date": "2031-05-01T09:00:00Z",
                        "recurrence": "daily",
                    },
                    headers=headers,
                )
                assert created.status_code == 201, created.text
                task = created.json()
                done = await client.post(f"/tasks/{task['id']}/complete", headers=headers)
                assert done.status_code == 200, done.text

                async def published_next() -> bool:
                    next_id = await _next_occurrence(db, task["series_id"])
                    return next_id is not None and bool(
                        await _outbox_event(db, next_id, EventType.TASK_CREATED)
                    )

                await eventually(
                    published_next, within=DEADLINE_S, what="the next occurrence published"
                )
        next_id = await _next_occurrence(db, task["series_id"])
        assert next_id is not None
        completion = await _outbox_event(db, task["id"], EventType.TASK_COMPLETED)
        next_created = await _outbox_event(db, next_id, EventType.TASK_CREATED)
    finally:
        await engine.dispose()
    assert completion is not None
    assert next_created is not None

    # The API: the request's server span wrote the completion's traceparent.
    (request,) = [
        span
        for span in api_spans.get_finished_spans()
        if span.kind == SpanKind.SERVER and span.name.endswith("/complete")
    ]
    trace_id = request.context.trace_id
    assert _written_in(completion.traceparent, request)

    # The relay: the completion's publication continues the request's span.
    published = _the_one(relay_spans.get_finished_spans(), SpanKind.PRODUCER, completion.id)
    assert published.context.trace_id == trace_id
    assert _child_of(published, request)
    assert published.name == "publish task-events"

    # The recurring service: its handling continues the request's span; the handler's SQL and
    # the next occurrence's task.created belong to the handling span.
    finished = recurring_spans.get_finished_spans()
    handling = _the_one(finished, SpanKind.CONSUMER, completion.id)
    assert handling.context.trace_id == trace_id
    assert _child_of(handling, request)
    assert handling.name == "process task-events"
    inserts = [
        span
        for span in finished
        if _child_of(span, handling)
        and str((span.attributes or {}).get("db.statement", "")).startswith("INSERT INTO tasks")
    ]
    assert len(inserts) == 1
    assert inserts[0].context.trace_id == trace_id
    assert _written_in(next_created.traceparent, handling)

    # ... and the relay publishes that event in the same trace, under the handling span.
    republished = _the_one(relay_spans.get_finished_spans(), SpanKind.PRODUCER, next_created.id)
    assert republished.context.trace_id == trace_id
    assert _child_of(republished, handling)

    # The recurring service's log line about it names the trace.
    lines = [json.loads(line) for line in logs.getvalue().splitlines()]
    created_lines = [line for line in lines if line["message"] == "next occurrence created"]
    assert [(line["task_id"], line["trace_id"]) for line in created_lines] == [
        (next_id, f"{trace_id:032x}")
    ]
