"""The transactional outbox: events are rows written in the transaction of the change itself.

The relay (services/relay) publishes them; because the row commits or rolls back with the change,
nothing is published that was not committed and nothing committed is lost.

Each event names its process in its CloudEvents ``source``; an event whose topic that process
does not declare in the catalogue's ``records`` is refused before anything is written, so the
catalogue stays the true list of who produces what.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db.models import OutboxEvent
from app.core.events.contract import CloudEvent
from app.core.processes import by_source, check_writes

# A Core INSERT, executed at once: outbox rows are written, never read back in the transaction
# that writes them, so the ORM's unit of work (identity map, flush bookkeeping) is pure cost on
# every write request. It still runs in the session's transaction, so it commits or rolls back
# with the change.
_insert_event = insert(OutboxEvent.metadata.tables[OutboxEvent.__tablename__])


async def record(session: AsyncSession, event: CloudEvent) -> None:
    """Add ``event`` to the outbox of the session's transaction.

    On PostgreSQL a trigger on ``outbox`` NOTIFYs the relay when the transaction commits
    (migration 0001), so no writer can forget to wake it.
    """
    await record_many(session, [event])


async def record_many(session: AsyncSession, events: Sequence[CloudEvent]) -> None:
    """Add ``events`` to the outbox in one statement (one round trip for a whole batch)."""
    if not events:
        return
    for event in events:
        check_writes(by_source(event.source), [event.topic.name], outbox=True)
    await session.execute(
        _insert_event,
        [
            {
                "event_id": event.id,
                "topic": event.topic.name,
                "key": event.subject,
                "event_type": event.type.value,
                "payload": event.model_dump(mode="json"),
            }
            for event in events
        ],
    )
