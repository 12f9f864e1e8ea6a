"""The publishing side: a message on its way to a topic, and the backends that send it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from app.core.processes import ProcessSpec, check_writes


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """One record for ``topic``; ``key`` picks the partition (task id, or owner id for notices).

    ``event_id`` is the CloudEvent id when ``value`` is a CloudEvent (the Dapr backend passes it
    on as ``metadata.cloudevent.id``), ``None`` for plain messages such as task-updates notices.
    """

    topic: str
    key: str
    value: bytes
    event_id: str | None = None
    headers: tuple[tuple[str, bytes], ...] = ()


class Publisher(Protocol):
    """Sends messages durably: ``publish`` returns only once every message is acknowledged.

    A failure raises; the caller (the relay) then keeps its rows unpublished and tries again, so
    a message may be sent twice but never lost (consumers are idempotent on the event id).
    """

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def publish(self, messages: Sequence[OutgoingMessage]) -> None: ...


class FanOut:
    """One publisher sending to several in turn (the local run: in-process bus + live feed)."""

    def __init__(self, *publishers: Publisher) -> None:
        self.publishers = publishers

    async def start(self) -> None:
        for publisher in self.publishers:
            await publisher.start()

    async def stop(self) -> None:
        for publisher in self.publishers:
            await publisher.stop()

    async def publish(self, messages: Sequence[OutgoingMessage]) -> None:
        for publisher in self.publishers:
            await publisher.publish(messages)


class DeclaredTopics:
    """``publisher`` for ``process``: a batch with a topic the catalogue does not declare in the
    process's ``produces`` is refused whole (:class:`~app.core.processes.UndeclaredTopic`)
    before any of it is sent, whichever backend (Kafka, Dapr, the in-process bus) is behind."""

    def __init__(self, process: ProcessSpec, publisher: Publisher) -> None:
        self.process = process
        self.publisher = publisher

    async def start(self) -> None:
        await self.publisher.start()

    async def stop(self) -> None:
        await self.publisher.stop()

    async def publish(self, messages: Sequence[OutgoingMessage]) -> None:
        check_writes(self.process, (message.topic for message in messages))
        await self.publisher.publish(messages)
