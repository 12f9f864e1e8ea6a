"""Deleting what has served its purpose: published outbox rows and old processed-event records.

Small batches, each in its own short transaction, so pruning never holds many locks or bloats
one transaction. ``processed_events`` only speeds up duplicate detection: every effect is also
keyed by a unique constraint (audit event id, series + occurrence, reminder + channel), so an
event redelivered after its record was pruned still has no second effect.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.db.event_models import ProcessedEvent
from app.core.db.models import OutboxEvent

log = logging.getLogger("services.relay.pruning")


@dataclass(frozen=True, slots=True)
class Pruned:
    outbox: int
    processed_events: int


async def _prune_outbox_batch(
    sessions: async_sessionmaker[AsyncSession], cutoff: datetime, batch_size: int
) -> tuple[int, bool]:
    """Delete the eligible rows among the ``batch_size`` oldest; (deleted, more may be left).

    Rows are published in id order, so the oldest ids are the first eligible: looking only at
    the oldest ``batch_size`` (a primary-key range) bounds the work without an index on
    ``published_at``.
    """
    async with sessions() as session, session.begin():
        oldest = (
            await session.execute(
                select(OutboxEvent.id, OutboxEvent.published_at)
                .order_by(OutboxEvent.id)
                .limit(batch_size)
            )
        ).all()
        eligible = [row.id for row in oldest if row.published_at and row.published_at < cutoff]
        if eligible:
            await session.execute(delete(OutboxEvent).where(OutboxEvent.id.in_(eligible)))
    return len(eligible), len(eligible) == batch_size


async def _prune_processed_batch(
    sessions: async_sessionmaker[AsyncSession], cutoff: datetime, batch_size: int
) -> int:
    async with sessions() as session, session.begin():
        keys = (
            select(ProcessedEvent.consumer_group, ProcessedEvent.event_id)
            .where(ProcessedEvent.processed_at < cutoff)
            .order_by(ProcessedEvent.processed_at)
            .limit(batch_size)
        )
        result = await session.execute(
            delete(ProcessedEvent).where(
                tuple_(ProcessedEvent.consumer_group, ProcessedEvent.event_id).in_(keys)
            )
        )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def prune(
    sessions: async_sessionmaker[AsyncSession], *, cutoff: datetime, batch_size: int
) -> Pruned:
    """Delete published outbox rows and processed-event records older than ``cutoff``."""
    outbox = 0
    while True:
        deleted, more = await _prune_outbox_batch(sessions, cutoff, batch_size)
        outbox += deleted
        if not more:
            break
    processed = 0
    while True:
        deleted = await _prune_processed_batch(sessions, cutoff, batch_size)
        processed += deleted
        if deleted < batch_size:
            break
    if outbox or processed:
        log.info("pruned", extra={"outbox": outbox, "processed_events": processed})
    return Pruned(outbox, processed)
