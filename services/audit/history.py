"""Writing the audit history: one append-only row per task event."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db.event_models import AuditLog
from app.core.events.contract import CloudEvent
from services.common.sql import upsert_into

GROUP = "audit"


async def record_event(event: CloudEvent, session: AsyncSession) -> None:
    """Append ``event`` to the history of its task (its subject); a repeat adds nothing.

    The unique event id makes this idempotent on its own, beside the runtime's bookkeeping:
    replaying the topic into a table whose ``processed_events`` were pruned or never existed
    reproduces the history without doubling it.
    """
    await record_events([event], session)


async def record_events(events: Sequence[CloudEvent], session: AsyncSession) -> None:
    """:func:`record_event` for several events, in one statement."""
    # executemany form: one cached statement, batched into multi-row VALUES by SQLAlchemy.
    rows = [_row(event) for event in events]
    await session.execute(upsert_into(session, AuditLog).on_conflict_do_nothing(), rows)


def _row(event: CloudEvent) -> dict[str, Any]:
    data = event.data
    version = data.get("version")
    return {
        "event_id": event.id,
        "task_id": uuid.UUID(event.subject),
        "owner_id": uuid.UUID(str(data["owner_id"])),
        "event_type": event.type.value,
        "event_time": event.time,
        "source": event.source,
        "task_version": version if isinstance(version, int) else None,
        "traceparent": event.traceparent,
        "data": data,
    }
