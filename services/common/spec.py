"""What a consumer is: its group, its topics and the handler that performs its effect."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.events.contract import CloudEvent, EventType
from app.core.events.topics import dead_letter_topic

Handler = Callable[[CloudEvent, AsyncSession], Awaitable[None]]
"""Performs one event's effect inside the session's open transaction.

The runtime has already recorded ``(group, event id)`` in ``processed_events`` in that same
transaction; it commits after the handler returns, and only then commits the Kafka offset. The
handler must not commit or roll back itself (use ``session.begin_nested()`` for a savepoint).
Raising rolls the whole transaction back; the runtime retries, then dead-letters the event.
"""


BatchHandler = Callable[[Sequence[CloudEvent], AsyncSession], Awaitable[None]]
"""Optional: applies several events at once, with exactly the effect of :data:`Handler` on each
in turn. The runtime uses it for a batch's fresh events (one statement instead of one per event);
if it raises, the batch is applied event by event with :data:`Handler` instead.
"""


class PermanentError(Exception):
    """Raised by a handler when retrying cannot help: the event goes to the DLQ at once."""


@dataclass(frozen=True, slots=True)
class ConsumerSpec:
    """One consumer group: the runtime (Kafka or in-process) feeds it every event of its topics.

    ``event_types`` filters known types: an event of another (known) type is acknowledged
    without calling the handler and without a ``processed_events`` row. ``None`` means all.
    """

    group: str
    topics: Sequence[str]
    handler: Handler
    event_types: frozenset[EventType] | None = None
    # Attempts of the handler per event before it is dead-lettered (1 = no retry).
    max_attempts: int = field(default=3)
    batch_handler: BatchHandler | None = None

    def __post_init__(self) -> None:
        if not self.group or not self.topics:
            raise ValueError("a consumer needs a group and at least one topic")
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")

    @property
    def dead_letter_topic(self) -> str:
        return dead_letter_topic(self.group).name

    def wants(self, event: CloudEvent) -> bool:
        return self.event_types is None or event.type in self.event_types
