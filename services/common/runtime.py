"""The Kafka consumer runtime: one consumer group, exactly-once effects, dead letters.

Per batch (one ``getmany``): decode every record (poison -> ``<group>.dlq``), apply the events
(see :mod:`services.common.processing`: effect + ``processed_events`` row, one DB transaction),
and only then commit the offsets. A crash anywhere in between redelivers the batch, and the
``processed_events`` rows turn the redelivery into no-ops: at-least-once delivery, exactly-once
effects. Offsets are committed by hand (``enable_auto_commit=False``; aiokafka's default would
commit on a timer, before the effect is durable).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import (
    CommitFailedError,
    ConsumerStoppedError,
    IllegalStateError,
    KafkaError,
)
from aiokafka.structs import ConsumerRecord
from opentelemetry.sdk.trace import TracerProvider
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.common.decode import DeadLetterReason, PoisonMessage, decode_event
from services.common.kafka import durable_producer, send_all
from services.common.messages import RawMessage, Received
from services.common.metrics import ConsumerMetrics, WorkerMetrics
from services.common.processing import EventProcessor, Stopping
from services.common.publisher import OutgoingMessage
from services.common.spec import ConsumerSpec
from services.common.waiting import wait_set

log = logging.getLogger("services.consumer")

# Pause before a batch is retried after Kafka itself failed (commit or dead-letter send).
_KAFKA_RETRY_S = 1.0
_MAX_HEADER = 1000
_LAG_INTERVAL_S = 1.0

Fetched = dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]


class KafkaDeadLetters:
    """Sends poison messages to ``<group>.dlq``: original key, value and headers, plus why.

    Headers ``dlq.reason`` (a :class:`DeadLetterReason`), ``dlq.error``, ``dlq.attempts``,
    ``dlq.group``, ``dlq.topic``, ``dlq.partition``, ``dlq.offset`` and ``dlq.time``.
    """

    def __init__(self, producer: AIOKafkaProducer, group: str, topic: str) -> None:
        self.producer = producer
        self.group = group
        self.topic = topic

    async def dead_letter(
        self, message: RawMessage, reason: DeadLetterReason, detail: str, attempts: int
    ) -> None:
        why = {
            "dlq.reason": reason.value,
            "dlq.error": detail[:_MAX_HEADER],
            "dlq.attempts": str(attempts),
            "dlq.group": self.group,
            "dlq.topic": message.topic,
            "dlq.partition": str(message.partition),
            "dlq.offset": str(message.offset),
            "dlq.time": datetime.now(UTC).isoformat(),
        }
        original = tuple((k, v) for k, v in message.headers if not k.startswith("dlq."))
        await send_all(
            self.producer,
            [
                OutgoingMessage(
                    topic=self.topic,
                    key=(message.key or b"").decode(errors="replace"),
                    value=message.value or b"",
                    headers=original + tuple((k, v.encode()) for k, v in why.items()),
                )
            ],
        )
        log.warning(
            "message dead-lettered",
            extra={"group": self.group, "reason": reason.value, "error": detail, **why},
        )


class _WaitForBatch(ConsumerRebalanceListener):
    """Hold a rebalance until the in-flight batch has committed its offsets.

    Without it, partitions could move to another member between our DB commit and our offset
    commit; the new owner would then redo the batch (harmless, but avoidable work).
    """

    def __init__(self, runtime: KafkaConsumerRuntime) -> None:
        self.runtime = runtime

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        async with self.runtime.batch_lock:
            for tp in revoked:
                self.runtime.forget_partition(tp)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        log.info(
            "partitions assigned",
            extra={
                "group": self.runtime.spec.group,
                "partitions": sorted(f"{tp.topic}/{tp.partition}" for tp in assigned),
            },
        )
        self.runtime.assigned.set()


class KafkaConsumerRuntime:
    """Runs one :class:`ConsumerSpec` on Kafka until :meth:`stop`."""

    def __init__(
        self,
        spec: ConsumerSpec,
        *,
        bootstrap: str,
        sessions: async_sessionmaker[AsyncSession],
        metrics: WorkerMetrics | None = None,
        tracer: TracerProvider | None = None,
        client_id: str = "todo-platform",
        batch_size: int = 100,
        retry_backoff_seconds: float = 0.2,
        session_timeout_ms: int = 10_000,
    ) -> None:
        self.spec = spec
        self.metrics = ConsumerMetrics(metrics or WorkerMetrics(), spec.group)
        self.batch_lock = asyncio.Lock()
        self.assigned = asyncio.Event()
        self._stop_requested = asyncio.Event()
        self._batch_size = batch_size
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            client_id=f"{client_id}-{spec.group}",
            group_id=spec.group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=batch_size,
            session_timeout_ms=session_timeout_ms,
            heartbeat_interval_ms=max(1000, session_timeout_ms // 3),
            # No value_deserializer: decoding errors must reach our code (see decode.py).
        )
        self._producer = durable_producer(bootstrap, f"{client_id}-{spec.group}-dlq")
        self._dead_letters = KafkaDeadLetters(self._producer, spec.group, spec.dead_letter_topic)
        self._processor = EventProcessor(
            spec,
            sessions,
            self._dead_letters,
            self.metrics,
            tracer=tracer,
            retry_backoff_seconds=retry_backoff_seconds,
        )
        self._started = False

    @property
    def ready(self) -> bool:
        """Started and holding partitions (or at least having joined the group once)."""
        return self._started and self.assigned.is_set()

    async def start(self) -> None:
        await self._producer.start()
        try:
            await self._consumer.start()
        except BaseException:
            await self._producer.stop()
            raise
        self._consumer.subscribe(list(self.spec.topics), listener=_WaitForBatch(self))
        self._started = True
        log.info("consumer started", extra={"group": self.spec.group, "topics": self.spec.topics})

    async def run(self) -> None:
        """Consume until :meth:`stop` is called; the batch in flight then completes first."""
        # Lag is measured beside the consumer loop, not between batches: a handler that hangs
        # is exactly when the lag must keep growing on the dashboard and fire its alert.
        lag_reporter = asyncio.create_task(self._report_lag_periodically())
        try:
            await self._consume()
        finally:
            lag_reporter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await lag_reporter

    async def _consume(self) -> None:
        while not self._stop_requested.is_set():
            try:
                fetched = await self._consumer.getmany(timeout_ms=500, max_records=self._batch_size)
            except ConsumerStoppedError:
                return
            if not fetched:
                continue
            async with self.batch_lock:
                try:
                    await self._handle(fetched)
                except Stopping:
                    return
                except KafkaError as exc:
                    # The DLQ send or the commit failed: nothing after the last commit counts.
                    log.warning(
                        "batch not acknowledged, retrying",
                        extra={"group": self.spec.group, "error": repr(exc)},
                    )
                    self._rewind(fetched)
                    await self._pause(_KAFKA_RETRY_S)

    async def stop(self) -> None:
        """Finish the in-flight batch, commit it, leave the group, close the clients."""
        self._stop_requested.set()
        self._processor.stopping.set()
        async with self.batch_lock:
            await self._consumer.stop()  # leaves the group; nothing auto-commits
            await self._producer.stop()
        self._started = False

    def forget_partition(self, tp: TopicPartition) -> None:
        self.metrics.forget_lag(tp.topic, tp.partition)

    async def _handle(
        self, fetched: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]
    ) -> None:
        ordered: list[RawMessage] = []
        batch: list[Received] = []
        positions: list[int] = []  # index in ``ordered`` of each event in ``batch``
        for records in fetched.values():
            for record in records:
                message = RawMessage(
                    topic=record.topic,
                    partition=record.partition,
                    offset=record.offset,
                    key=record.key,
                    value=record.value,
                    headers=tuple(record.headers),
                )
                ordered.append(message)
                try:
                    event = decode_event(record.value)
                except PoisonMessage as poison:
                    await self._processor.reject(message, poison)
                    continue
                positions.append(len(ordered) - 1)
                batch.append(Received(message, event))
        try:
            await self._processor.apply_batch(batch)
        except Stopping as stop:
            # Acknowledge what is durable: everything before the event that was waiting.
            done = positions[len(stop.done)] if len(stop.done) < len(batch) else len(ordered)
            await self._commit(ordered[:done])
            raise
        await self._commit(ordered)

    async def _commit(self, messages: Sequence[RawMessage]) -> None:
        offsets: dict[TopicPartition, int] = {}
        for message in messages:
            offsets[TopicPartition(message.topic, message.partition)] = message.offset + 1
        if not offsets:
            return
        try:
            await self._consumer.commit(offsets)
        except CommitFailedError as exc:
            # The group rebalanced: the new owner redelivers, processed_events dedupes.
            log.warning("offset commit lost to a rebalance", extra={"error": str(exc)})

    async def _report_lag_periodically(self) -> None:
        while not self._stop_requested.is_set():
            try:
                await self._report_lag()
            except (IllegalStateError, KafkaError) as exc:  # a rebalance or broker blip
                log.debug("lag not measured", extra={"group": self.spec.group, "error": repr(exc)})
            await self._pause(_LAG_INTERVAL_S)

    async def _report_lag(self) -> None:
        """Lag per assigned partition: records between the log's end and the group's committed
        offset, as the broker sees them (what KEDA and kafka-exporter measure too).

        Reported while idle too, so a dashboard sees the lag of a partition with no traffic.
        """
        partitions = sorted(self._consumer.assignment())
        if not partitions:
            return
        ends = await self._consumer.end_offsets(partitions)
        starts: dict[TopicPartition, int] | None = None
        for tp in partitions:
            committed = await self._consumer.committed(tp)
            if committed is None:  # nothing committed yet: everything since the log start
                starts = starts or await self._consumer.beginning_offsets(partitions)
                committed = starts[tp]
            self.metrics.lag(tp.topic, tp.partition, max(0, ends[tp] - committed))

    def _rewind(self, fetched: Fetched) -> None:
        for tp, records in fetched.items():
            if records and tp in self._consumer.assignment():
                self._consumer.seek(tp, records[0].offset)

    async def _pause(self, seconds: float) -> None:
        await wait_set(self._stop_requested, seconds)
