"""The in-process event bus of the local run: the relay publishes, subscribed consumers apply.

It gives handlers the same contract as Kafka (decoding, dead letters, ``processed_events``
bookkeeping, retries: the same :class:`EventProcessor`), but queues live in memory: events the
relay handed over and a crash interrupted are lost. A local convenience only; every delivery
guarantee is tested on the real broker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.common.decode import DeadLetterReason, PoisonMessage, decode_event
from services.common.messages import RawMessage, Received
from services.common.metrics import ConsumerMetrics, WorkerMetrics
from services.common.processing import EventProcessor
from services.common.publisher import OutgoingMessage
from services.common.spec import ConsumerSpec

log = logging.getLogger("services.inprocess")


@dataclass(frozen=True, slots=True)
class DeadLetter:
    group: str
    message: RawMessage
    reason: DeadLetterReason
    detail: str
    attempts: int


@dataclass
class _Subscription:
    spec: ConsumerSpec
    processor: EventProcessor
    queue: asyncio.Queue[RawMessage] = field(default_factory=asyncio.Queue)
    task: asyncio.Task[None] | None = None


class _MemoryDeadLetters:
    def __init__(self, bus: InProcessBus, group: str) -> None:
        self.bus = bus
        self.group = group

    async def dead_letter(
        self, message: RawMessage, reason: DeadLetterReason, detail: str, attempts: int
    ) -> None:
        self.bus.dead_letters.append(DeadLetter(self.group, message, reason, detail, attempts))
        log.warning(
            "message dead-lettered",
            extra={"group": self.group, "reason": reason.value, "error": detail},
        )


class InProcessBus:
    """A :class:`~services.common.publisher.Publisher` that feeds subscribed consumers directly."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        metrics: WorkerMetrics | None = None,
        *,
        retry_backoff_seconds: float = 0.2,
    ) -> None:
        self.sessions = sessions
        self.metrics = metrics if metrics is not None else WorkerMetrics()
        self.retry_backoff_seconds = retry_backoff_seconds
        self.dead_letters: list[DeadLetter] = []
        self._subscriptions: list[_Subscription] = []
        self._offsets: dict[str, int] = {}

    def subscribe(self, spec: ConsumerSpec) -> None:
        if any(sub.spec.group == spec.group for sub in self._subscriptions):
            raise ValueError(f"consumer group {spec.group!r} is already subscribed")
        processor = EventProcessor(
            spec,
            self.sessions,
            _MemoryDeadLetters(self, spec.group),
            ConsumerMetrics(self.metrics, spec.group),
            retry_backoff_seconds=self.retry_backoff_seconds,
        )
        subscription = _Subscription(spec, processor)
        self._subscriptions.append(subscription)
        if self._running:
            subscription.task = asyncio.create_task(self._consume(subscription))

    @property
    def _running(self) -> bool:
        return any(sub.task is not None for sub in self._subscriptions)

    async def start(self) -> None:
        for subscription in self._subscriptions:
            if subscription.task is None:
                subscription.task = asyncio.create_task(self._consume(subscription))

    async def stop(self) -> None:
        """Apply what is queued, then stop the consumers."""
        await self.drained()
        for subscription in self._subscriptions:
            if subscription.task is not None:
                subscription.task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await subscription.task
                subscription.task = None

    async def publish(self, messages: Sequence[OutgoingMessage]) -> None:
        for message in messages:
            offset = self._offsets.get(message.topic, 0)
            self._offsets[message.topic] = offset + 1
            raw = RawMessage(
                topic=message.topic,
                partition=0,
                offset=offset,
                key=message.key.encode(),
                value=message.value,
                headers=message.headers,
            )
            for subscription in self._subscriptions:
                if message.topic in subscription.spec.topics:
                    subscription.queue.put_nowait(raw)

    async def drained(self) -> None:
        """Return once every message published so far has been applied or dead-lettered."""
        for subscription in self._subscriptions:
            await subscription.queue.join()

    async def _consume(self, subscription: _Subscription) -> None:
        while True:
            message = await subscription.queue.get()
            try:
                await self._deliver(subscription, message)
            except Exception:
                # An unexpected failure (not a handler's: those are retried and dead-lettered)
                # must not kill the local run's consumer.
                log.exception(
                    "in-process delivery failed", extra={"group": subscription.spec.group}
                )
            finally:
                subscription.queue.task_done()

    async def _deliver(self, subscription: _Subscription, message: RawMessage) -> None:
        try:
            event = decode_event(message.value)
        except PoisonMessage as poison:
            await subscription.processor.reject(message, poison)
            return
        # One event per transaction (no savepoints, which SQLite's driver cannot be trusted
        # with); the local run needs no batching.
        await subscription.processor.apply_batch([Received(message, event)])
