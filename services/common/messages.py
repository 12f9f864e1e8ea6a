"""A message as a consumer received it, before and after decoding."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from app.core.events.contract import CloudEvent
from services.common.decode import DeadLetterReason


@dataclass(frozen=True, slots=True)
class RawMessage:
    """One record as it came off its topic (Kafka or the in-process bus)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...] = ()


@dataclass(frozen=True, slots=True)
class Received:
    """A record that decoded into a valid CloudEvent."""

    message: RawMessage
    event: CloudEvent


class DeadLetterSink(Protocol):
    """Where a consumer's poison messages go (``<group>.dlq`` on Kafka).

    Returns once the message is stored durably; raising keeps the message unacknowledged.
    """

    async def dead_letter(
        self, message: RawMessage, reason: DeadLetterReason, detail: str, attempts: int
    ) -> None: ...
