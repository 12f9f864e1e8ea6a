"""Publishing the outbox: claim unpublished rows in id order, publish, mark them published.

One batch is one transaction: ``SELECT ... FOR UPDATE SKIP LOCKED`` claims rows, the publisher
sends them and waits for every acknowledgement, then ``published_at`` is set and the transaction
commits. If publishing fails the transaction rolls back and the rows stay unpublished for the
next try; if the commit fails after a successful publish, they are published again -- consumers
are idempotent on the event id, so at-least-once publishing is enough.

Replicas: a transaction-scoped advisory lock lets one replica publish at a time, so rows go out
strictly in id order (two replicas publishing interleaved batches could reorder one task's
events); SKIP LOCKED keeps any claim from ever waiting on, or re-sending, a row another holds.

Tracing: each event's publication is a PRODUCER span continuing the event's ``traceparent``
(the request that wrote it); the payload goes out unchanged, so consumers continue that trace.
"""

from __future__ import annotations

import json
import logging
from dataclasses import KW_ONLY, dataclass
from datetime import UTC, datetime
from typing import Final

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import SpanKind
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.db.models import OutboxEvent
from app.core.events.contract import CLOUDEVENTS_JSON
from app.core.observability import metric_catalog
from app.core.observability.tracing import SpanStart, spans_for_each
from services.common.metrics import WorkerMetrics
from services.common.publisher import OutgoingMessage, Publisher
from services.relay.notices import task_update_notice

log = logging.getLogger("services.relay")

# The relay's advisory lock: any constant no other lock uses (8 ASCII bytes as a bigint).
RELAY_LOCK_KEY: Final = int.from_bytes(b"outboxrl", "big")


def outgoing(row: OutboxEvent) -> list[OutgoingMessage]:
    """The row's event, then (for a task change) its task-updates notice."""
    event = OutgoingMessage(
        topic=row.topic,
        key=row.key,
        value=json.dumps(row.payload, separators=(",", ":")).encode(),
        event_id=str(row.event_id),
        headers=(("content-type", CLOUDEVENTS_JSON.encode()),),
    )
    notice = task_update_notice(row.topic, row.payload)
    return [event] if notice is None else [event, notice]


def publish_span(row: OutboxEvent) -> SpanStart:
    """The PRODUCER span of one row's publication (OpenTelemetry messaging conventions)."""
    return SpanStart(
        f"publish {row.topic}",
        row.payload.get("traceparent"),
        {
            "messaging.operation.type": "send",
            "messaging.destination.name": row.topic,
            "messaging.message.id": str(row.event_id),
            "cloudevents.event_type": row.event_type,
        },
    )


@dataclass(eq=False)
class OutboxRelay:
    sessions: async_sessionmaker[AsyncSession]
    publisher: Publisher
    _: KW_ONLY
    batch_size: int = 200
    tracer: TracerProvider | None = None

    async def publish_batch(self) -> int:
        """Publish up to one batch; the number of rows published (0: nothing to do, or busy)."""
        async with self.sessions() as session, session.begin():
            postgres = session.get_bind().dialect.name == "postgresql"
            if postgres and not await session.scalar(
                text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": RELAY_LOCK_KEY}
            ):
                return 0  # another replica is publishing; its NOTIFY-driven loop covers this
            rows = list(
                await session.scalars(
                    select(OutboxEvent)
                    .where(OutboxEvent.published_at.is_(None))
                    .order_by(OutboxEvent.id)
                    .limit(self.batch_size)
                    .with_for_update(skip_locked=True)
                )
            )
            if not rows:
                return 0
            spans = [publish_span(row) for row in rows]
            with spans_for_each(self.tracer, SpanKind.PRODUCER, spans):
                await self.publisher.publish([m for row in rows for m in outgoing(row)])
            await session.execute(
                update(OutboxEvent)
                .where(OutboxEvent.id.in_([row.id for row in rows]))
                .values(published_at=datetime.now(UTC))
            )
        return len(rows)

    async def publish_all(self) -> int:
        """Publish batches until the outbox is empty; the number of rows published."""
        total = 0
        while True:
            published = await self.publish_batch()
            total += published
            if published < self.batch_size:
                return total


class OutboxBacklog:
    """The outbox gauges, read from the database when Prometheus scrapes: how many rows wait,
    and how long the oldest has waited. Measured apart from publishing, so a relay that cannot
    publish still shows its backlog growing."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], metrics: WorkerMetrics) -> None:
        self._sessions = sessions
        self._backlog = metrics.gauge(metric_catalog.OUTBOX_BACKLOG)
        self._oldest_age = metrics.gauge(metric_catalog.OUTBOX_OLDEST_AGE)

    async def refresh(self) -> None:
        async with self._sessions() as session:
            count, oldest = (
                await session.execute(
                    select(func.count(), func.min(OutboxEvent.created_at)).where(
                        OutboxEvent.published_at.is_(None)
                    )
                )
            ).one()
        self._backlog.set(count)
        age = 0.0 if oldest is None else (datetime.now(UTC) - oldest).total_seconds()
        self._oldest_age.set(max(0.0, age))  # the database's clock may run a little ahead
