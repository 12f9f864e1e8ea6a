"""Publishing the outbox: claim unpublished rows in id order, publish, mark them published.

One batch is one transaction: ``SELECT ... FOR UPDATE SKIP LOCKED`` claims rows, the publisher
sends them and waits for every acknowledgement, then ``published_at`` is set and the transaction
commits. If publishing fails the transaction rolls back and the rows stay unpublished for the
next try; if the commit fails after a successful publish, they are published again -- consumers
are idempotent on the event id, so at-least-once publishing is enough.

Replicas: a transaction-scoped advisory lock lets one replica publish at a time, so rows go out
strictly in id order (two replicas publishing interleaved batches could reorder one task's
events); SKIP LOCKED keeps any claim from ever waiting on, or re-sending, a row another holds.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Final

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.models import OutboxEvent
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
        headers=(("content-type", b"application/cloudevents+json"),),
    )
    notice = task_update_notice(row.topic, row.payload)
    return [event] if notice is None else [event, notice]


class OutboxRelay:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        publisher: Publisher,
        metrics: WorkerMetrics,
        *,
        batch_size: int = 200,
    ) -> None:
        self.sessions = sessions
        self.publisher = publisher
        self.metrics = metrics
        self.batch_size = batch_size

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
            await self.publisher.publish([m for row in rows for m in outgoing(row)])
            await session.execute(
                update(OutboxEvent)
                .where(OutboxEvent.id.in_([row.id for row in rows]))
                .values(published_at=datetime.now(UTC))
            )
        self._count(rows)
        return len(rows)

    async def publish_all(self) -> int:
        """Publish batches until the outbox is empty; the number of rows published."""
        total = 0
        while True:
            published = await self.publish_batch()
            total += published
            if published < self.batch_size:
                return total

    async def pending(self) -> int:
        async with self.sessions() as session:
            count = await session.scalar(
                select(func.count())
                .select_from(OutboxEvent)
                .where(OutboxEvent.published_at.is_(None))
            )
        return int(count or 0)

    def _count(self, rows: Sequence[OutboxEvent]) -> None:
        for row in rows:
            self.metrics.published.labels(row.topic).inc()
