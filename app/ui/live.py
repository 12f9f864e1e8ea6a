"""Live updates for the web UI: change notices and due reminders, fanned out per owner.

A :class:`LiveHub` in each API process holds the open Server-Sent-Events streams of the users
connected to that process and hands every notice to the streams of its owner. Feeds fill it:

* :class:`KafkaFeed` reads ``task-updates`` (compact change notices keyed by owner) and
  ``reminders`` (``reminder.due`` CloudEvents) without a consumer group, from the end of every
  partition. Every replica must see every notice, because any replica may hold the owner's
  stream; a shared group would split the partitions between replicas, and a group per
  replica would leave a stray group behind at every restart. Reading from the end is right
  for live clients: what happened before they connected is already in the page they loaded.
* :data:`LOCAL_FEED` (the local run, no Kafka) is a publisher the in-process relay sends the
  same messages to, beside the in-process bus.

Queues are bounded: a stream that does not keep up has its backlog replaced by a single
``resync`` notice, which tells the browser to reload its list; a change notice carries no data
the browser needs beyond "something changed", so nothing is lost by folding them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal, Protocol

from aiokafka import AIOKafkaConsumer, ConsumerRecord
from aiokafka.errors import KafkaError
from pydantic import ValidationError

from app.core.events.contract import CloudEvent, EventType, ReminderDueData
from app.core.events.topics import REMINDERS, TASK_UPDATES
from app.core.settings import CommonSettings

log = logging.getLogger(__name__)

NoticeKind = Literal["change", "reminder", "resync"]

QUEUE_SIZE: Final = 64
MAX_STREAMS_PER_OWNER: Final = 16
RETRY_FIRST_S: Final = 0.5
RETRY_MAX_S: Final = 30.0


@dataclass(frozen=True, slots=True)
class LiveNotice:
    """One message for a browser: ``kind`` becomes the SSE event name, ``data`` its JSON."""

    kind: NoticeKind
    data: dict[str, Any] = field(default_factory=dict)


RESYNC: Final = LiveNotice("resync")


class TooManyStreams(Exception):
    """The owner already has the maximum number of open streams on this replica."""


class Subscription:
    """One open stream's inbox; created by :meth:`LiveHub.subscribe`."""

    def __init__(self, owner_id: uuid.UUID, size: int) -> None:
        self.owner_id = owner_id
        self._queue: asyncio.Queue[LiveNotice] = asyncio.Queue(maxsize=size)

    def offer(self, notice: LiveNotice) -> None:
        try:
            self._queue.put_nowait(notice)
        except asyncio.QueueFull:
            # Too slow a reader: drop its backlog and ask it to reload everything instead.
            while not self._queue.empty():
                self._queue.get_nowait()
            self._queue.put_nowait(RESYNC)

    async def next(self) -> LiveNotice:
        """The next notice, waiting for one (callers bound the wait with asyncio.timeout)."""
        return await self._queue.get()


class LiveHub:
    """Per-owner fan-out of notices to the open streams of this process."""

    def __init__(
        self, queue_size: int = QUEUE_SIZE, max_streams_per_owner: int = MAX_STREAMS_PER_OWNER
    ) -> None:
        self.queue_size = queue_size
        self.max_streams_per_owner = max_streams_per_owner
        self._streams: dict[uuid.UUID, set[Subscription]] = {}

    def can_add(self, owner_id: uuid.UUID) -> bool:
        return len(self._streams.get(owner_id, ())) < self.max_streams_per_owner

    def open(self, owner_id: uuid.UUID) -> Subscription:
        """Take one of the owner's stream slots (TooManyStreams over the limit); the caller
        must :meth:`close` it. Check and take happen in one step, with no await between, so
        parallel opens cannot all pass the check."""
        if not self.can_add(owner_id):
            raise TooManyStreams(f"at most {self.max_streams_per_owner} live streams per user")
        subscription = Subscription(owner_id, self.queue_size)
        self._streams.setdefault(owner_id, set()).add(subscription)
        return subscription

    def close(self, subscription: Subscription) -> None:
        streams = self._streams.get(subscription.owner_id)
        if streams is None:
            return
        streams.discard(subscription)
        if not streams:
            del self._streams[subscription.owner_id]

    @contextlib.contextmanager
    def subscribe(self, owner_id: uuid.UUID) -> Iterator[Subscription]:
        """A stream's inbox for the duration of the block; TooManyStreams over the limit."""
        subscription = self.open(owner_id)
        try:
            yield subscription
        finally:
            self.close(subscription)

    def publish(self, owner_id: uuid.UUID, notice: LiveNotice) -> int:
        """Hand ``notice`` to every stream of ``owner_id``; how many streams got it."""
        streams = self._streams.get(owner_id, ())
        for subscription in streams:
            subscription.offer(notice)
        return len(streams)

    def resync_all(self) -> None:
        """Every stream may have missed notices (a feed reconnected): make all reload."""
        for streams in self._streams.values():
            for subscription in streams:
                subscription.offer(RESYNC)

    def streams(self, owner_id: uuid.UUID | None = None) -> int:
        if owner_id is not None:
            return len(self._streams.get(owner_id, ()))
        return sum(len(streams) for streams in self._streams.values())


def change_notice(raw: bytes | str | dict[str, Any]) -> tuple[uuid.UUID, LiveNotice]:
    """Owner and notice from a ``task-updates`` message; ValueError when it is not one."""
    message = json.loads(raw) if isinstance(raw, bytes | str) else raw
    if not isinstance(message, dict):
        raise ValueError("a change notice is a JSON object")
    owner_id = uuid.UUID(str(message["owner_id"]))
    data = {
        "task_id": str(uuid.UUID(str(message["task_id"]))),
        "type": str(message["type"]),
        "version": message.get("version"),
    }
    return owner_id, LiveNotice("change", data)


def reminder_notice(raw: bytes | str | dict[str, Any]) -> tuple[uuid.UUID, LiveNotice] | None:
    """Owner and notice from a ``reminders`` message; None for its other event types."""
    event = (
        CloudEvent.model_validate_json(raw)
        if isinstance(raw, bytes | str)
        else CloudEvent.model_validate(raw)
    )
    if event.type != EventType.REMINDER_DUE:
        return None
    due = event.typed_data()
    assert isinstance(due, ReminderDueData)  # DATA_MODELS maps reminder.due to it
    data = {
        "reminder_id": str(due.reminder_id),
        "task_id": str(due.task_id),
        "title": due.title,
        "remind_at": due.remind_at.isoformat(),
        "due_date": due.due_date.isoformat() if due.due_date else None,
    }
    return due.owner_id, LiveNotice("reminder", data)


def deliver(hub: LiveHub, topic: str, raw: bytes | str | dict[str, Any]) -> None:
    """Route one message of ``topic`` to the hub; malformed messages are logged and skipped."""
    try:
        if topic == TASK_UPDATES.name:
            routed: tuple[uuid.UUID, LiveNotice] | None = change_notice(raw)
        elif topic == REMINDERS.name:
            routed = reminder_notice(raw)
        else:
            return
    except (ValueError, KeyError, TypeError, ValidationError) as exc:
        # ValidationError is a ValueError; listed for the reader. A bad message must not stop
        # the feed: live updates are a convenience, the database stays the truth.
        log.warning("live: skipped a malformed message", extra={"topic": topic, "error": str(exc)})
        return
    if routed is not None:
        hub.publish(*routed)


class KafkaFeed:
    """Reads the live topics from Kafka into a hub, from their end, reconnecting on failure."""

    TOPICS: Final = (TASK_UPDATES.name, REMINDERS.name)

    def __init__(self, bootstrap: str, hub: LiveHub) -> None:
        self.bootstrap = bootstrap
        self.hub = hub
        self.assigned = asyncio.Event()  # set once partitions are assigned and positioned

    async def run(self) -> None:
        delay = RETRY_FIRST_S
        while True:
            try:
                await self._consume()
            except KafkaError as exc:
                log.warning(
                    "live: Kafka feed failed; reconnecting",
                    extra={"error": repr(exc), "retry_in_s": delay},
                )
            self.assigned.clear()
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX_S)

    async def _consume(self) -> None:
        # No consumer group: the consumer then takes every partition of its topics itself, so
        # each replica sees every notice, and it leaves nothing behind in the broker.
        consumer = AIOKafkaConsumer(
            *self.TOPICS,
            bootstrap_servers=self.bootstrap,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="latest",
            client_id=f"api-live-{socket.gethostname()}-{os.getpid()}",
        )
        await consumer.start()
        try:
            assigned = consumer.assignment()
            missing = set(self.TOPICS) - {partition.topic for partition in assigned}
            if missing:
                raise KafkaError(f"topics not found: {', '.join(sorted(missing))}")
            # Positions resolve lazily; resolve them now so "from the end" means now.
            for partition in assigned:
                await consumer.position(partition)
            self.assigned.set()
            # Anything published while we were away is unknown: make every stream reload.
            self.hub.resync_all()
            async for record in consumer:
                self._deliver(record)
        finally:
            await consumer.stop()

    def _deliver(self, record: ConsumerRecord[bytes, bytes]) -> None:
        if record.value is None:
            return  # a compaction tombstone
        deliver(self.hub, record.topic, record.value)


class Message(Protocol):
    """What a publisher hands over: services.common.publisher.OutgoingMessage fits."""

    @property
    def topic(self) -> str: ...

    @property
    def value(self) -> bytes: ...


class LocalFeed:
    """The feed of the local run (no Kafka): a publisher the in-process relay also sends to.

    It has the shape of ``services.common.publisher.Publisher``, so the local run can publish
    to the in-process bus and to this in one go; every hub of the process attached here (the
    API's, while its lifespan runs) receives the live topics' messages.
    """

    def __init__(self) -> None:
        self._hubs: set[LiveHub] = set()

    async def start(self) -> None:
        """Nothing to connect: part of the publisher shape."""

    async def stop(self) -> None:
        """Nothing to release: part of the publisher shape."""

    async def publish(self, messages: Sequence[Message]) -> None:
        for message in messages:
            for hub in self._hubs:
                deliver(hub, message.topic, message.value)

    @contextlib.contextmanager
    def attached(self, hub: LiveHub) -> Iterator[LiveHub]:
        self._hubs.add(hub)
        try:
            yield hub
        finally:
            self._hubs.discard(hub)


# One per process: the local run's relay and the API's lifespan meet here.
LOCAL_FEED: Final = LocalFeed()


@contextlib.asynccontextmanager
async def feeds(settings: CommonSettings) -> AsyncIterator[LiveHub]:
    """A hub fed for the lifetime of the block: from Kafka when ``KAFKA_BOOTSTRAP`` is set,
    else from :data:`LOCAL_FEED`, which the local run's relay publishes to."""
    hub = LiveHub()
    if settings.kafka_bootstrap is None:
        with LOCAL_FEED.attached(hub):
            yield hub
        return
    runner = asyncio.create_task(KafkaFeed(settings.kafka_bootstrap, hub).run(), name="live-feed")
    try:
        yield hub
    finally:
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await runner
