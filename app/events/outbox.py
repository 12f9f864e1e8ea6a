"""The transactional outbox: events are rows written in the transaction of the change itself.

The relay (services/relay) publishes them; because the row commits or rolls back with the change,
nothing is published that was not committed and nothing committed is lost.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import OutboxEvent
from app.events.contract import CloudEvent


async def record(session: AsyncSession, event: CloudEvent) -> OutboxEvent:
    """Add ``event`` to the outbox of the session's transaction.

    On PostgreSQL a trigger on ``outbox`` NOTIFYs the relay when the transaction commits
    (migration 0001), so no writer can forget to wake it.
    """
    row = OutboxEvent(
        event_id=event.id,
        topic=event.topic.name,
        key=event.subject,
        event_type=event.type.value,
        payload=event.model_dump(mode="json"),
    )
    session.add(row)
    return row
