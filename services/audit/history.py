"""Writing the audit history: one append-only row per task event."""

from __future__ import annotations

import uuid

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.event_models import AuditLog
from app.events.contract import CloudEvent

GROUP = "audit"


async def record_event(event: CloudEvent, session: AsyncSession) -> None:
    """Append ``event`` to the history of its task (its subject); a repeat adds nothing.

    The unique event id makes this idempotent on its own, beside the runtime's bookkeeping:
    replaying the topic into a table whose ``processed_events`` were pruned or never existed
    reproduces the history without doubling it.
    """
    data = event.data
    version = data.get("version")
    row = {
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
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    await session.execute(insert(AuditLog).values(row).on_conflict_do_nothing())
