"""Applying events exactly once: the effect and its ``processed_events`` row in one transaction.

Shared by the Kafka runtime and the in-process bus, so both give handlers the same contract.
A batch is applied in one transaction with a savepoint per event (one commit per batch, not per
event). The first event whose handler raises ends that fast path: the events before it commit,
it is retried on its own and dead-lettered if it keeps failing, and the batch goes on after it
-- in order, so one task's events keep their order.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Sequence
from dataclasses import KW_ONLY, dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import SpanKind
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.db.event_models import ProcessedEvent
from app.core.events.contract import CloudEvent
from app.core.observability.logs import correlation_id
from app.core.observability.tracing import SpanStart, continue_trace, spans_for_each, trace_id_of
from services.common.decode import DeadLetterReason, PoisonMessage
from services.common.messages import DeadLetterSink, RawMessage, Received
from services.common.metrics import INVALID_MESSAGE, ConsumerMetrics
from services.common.spec import ConsumerSpec, PermanentError
from services.common.sql import upsert_into
from services.common.waiting import wait_set

log = logging.getLogger("services.consumer")

# Pause between tries while the database is unreachable.
_OUTAGE_RETRY_S = 1.0


class EventOutcome(StrEnum):
    APPLIED = "applied"  # the handler ran and its effect committed
    DUPLICATE = "duplicate"  # the group had already applied this event
    SKIPPED = "skipped"  # a type the consumer does not handle
    DEAD_LETTERED = "dead-lettered"


class Stopping(Exception):
    """Shutdown was requested while an event waited for the database to come back."""

    def __init__(self) -> None:
        super().__init__("stopping during a database outage")
        # Outcomes of the events before the one that was waiting (they are durable).
        self.done: list[EventOutcome] = []


def is_outage(exc: BaseException) -> bool:
    """Whether ``exc`` means the database is unreachable, not that this event is bad.

    An outage is retried for as long as it lasts, never counted against the event: a database
    restart must not send healthy events to the dead-letter topic.
    """
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(
        exc,
        sa_exc.OperationalError
        | sa_exc.InterfaceError
        | sa_exc.TimeoutError
        | ConnectionError
        | TimeoutError,
    )


def _insert_processed(session: AsyncSession) -> Any:
    return upsert_into(session, ProcessedEvent).on_conflict_do_nothing()


async def claim_many(
    session: AsyncSession, group: str, event_ids: Sequence[uuid.UUID]
) -> set[uuid.UUID]:
    """Record every event as processed by ``group`` in one statement; the ids that were new."""
    now = datetime.now(UTC)
    rows: list[dict[str, object]] = [
        {"consumer_group": group, "event_id": event_id, "processed_at": now}
        for event_id in event_ids
    ]
    # executemany form: one cached statement, batched into multi-row VALUES by SQLAlchemy.
    statement = _insert_processed(session).returning(ProcessedEvent.event_id)
    return set(await session.scalars(statement, rows))


async def claim(session: AsyncSession, group: str, event_id: uuid.UUID) -> bool:
    """Record the event as processed by ``group``; False when it already was.

    INSERT ... ON CONFLICT DO NOTHING, so two consumers racing on one event serialise on the
    primary key: the second waits for the first to commit, then finds the row and skips.
    """
    row: dict[str, object] = {
        "consumer_group": group,
        "event_id": event_id,
        "processed_at": datetime.now(UTC),
    }
    result = await session.execute(_insert_processed(session).values(row))
    return bool(result.rowcount)  # type: ignore[attr-defined]


@dataclass(eq=False)
class EventProcessor:
    """Applies one consumer's events exactly once; hands failures to a dead-letter sink.

    Each event is handled in a CONSUMER span that continues the event's ``traceparent``, so
    the handler's SQL, its log lines and the events it writes belong to the trace of the
    request that caused the event (with no tracer the context still passes through).
    """

    spec: ConsumerSpec
    sessions: async_sessionmaker[AsyncSession]
    dead_letters: DeadLetterSink
    metrics: ConsumerMetrics
    _: KW_ONLY
    tracer: TracerProvider | None = None
    retry_backoff_seconds: float = 0.2
    stopping: asyncio.Event = field(default_factory=asyncio.Event, init=False)

    async def reject(self, message: RawMessage, poison: PoisonMessage) -> None:
        """A message that is no valid event: straight to the dead-letter sink, counted."""
        await self.dead_letters.dead_letter(message, poison.reason, poison.detail, 0)
        self.metrics.failed(INVALID_MESSAGE)
        self.metrics.dead_lettered()

    async def apply_batch(self, batch: Sequence[Received]) -> list[EventOutcome]:
        """Apply ``batch`` in order; returns once every event is committed, skipped or DLQ'd.

        Raises :class:`Stopping` if shutdown is requested during a database outage.
        """
        outcomes: list[EventOutcome] = []
        try:
            while len(outcomes) < len(batch):
                pending = batch[len(outcomes) :]
                try:
                    applied, error = await self._apply_until_failure(pending)
                except _BatchFailed:
                    # The batch's commit itself failed: find the culprit one event at a time.
                    applied, error = await self._apply_until_failure(pending[:1])
                outcomes.extend(applied)
                if error is not None:
                    outcomes.append(await self._apply_alone(pending[len(applied)], error))
        except Stopping as stop:
            stop.done = outcomes
            raise
        return outcomes

    async def _apply_until_failure(
        self, batch: Sequence[Received]
    ) -> tuple[list[EventOutcome], Exception | None]:
        """The fast path: one transaction, a savepoint per event, stop at the first failure.

        Returns the outcomes committed, and the error of the event after them (if any). A
        single event needs no savepoint (its transaction is the unit), which also keeps
        SQLite, whose driver has no dependable savepoints, off them.
        """
        savepoints = len(batch) > 1
        if savepoints and self.spec.batch_handler is not None:
            bulk = await self._apply_in_bulk(batch)
            if bulk is not None:
                return bulk, None
        while True:
            outcomes: list[EventOutcome] = []
            error: Exception | None = None
            started = time.perf_counter()
            try:
                async with self.sessions() as session, session.begin():
                    for item in batch:
                        if not savepoints:
                            outcomes.append(await self._apply(session, item))
                            continue
                        try:
                            async with session.begin_nested():
                                outcomes.append(await self._apply(session, item))
                        except Exception as exc:
                            if is_outage(exc):
                                raise
                            self._count_failure(item.event, exc, attempt=1)
                            error = exc
                            break
            except Exception as exc:
                if is_outage(exc):
                    await self._wait_out_outage(exc)
                    continue
                if savepoints:
                    raise _BatchFailed from exc
                self._count_failure(batch[0].event, exc, attempt=1)
                return [], exc
            self._observe(batch[: len(outcomes)], outcomes, time.perf_counter() - started)
            return outcomes, error

    async def _apply_in_bulk(self, batch: Sequence[Received]) -> list[EventOutcome] | None:
        """The fastest path: one claim statement and one batch-handler call for the batch.

        None when the batch handler failed (the caller then goes event by event).
        """
        assert self.spec.batch_handler is not None
        while True:
            started = time.perf_counter()
            try:
                async with self.sessions() as session, session.begin():
                    wanted = [item.event.id for item in batch if self.spec.wants(item.event)]
                    fresh = await claim_many(session, self.spec.group, list(dict.fromkeys(wanted)))
                    outcomes: list[EventOutcome] = []
                    todo: list[Received] = []
                    for item in batch:
                        if not self.spec.wants(item.event):
                            outcomes.append(EventOutcome.SKIPPED)
                        elif item.event.id in fresh:
                            fresh.discard(item.event.id)  # a repeat within the batch: duplicate
                            todo.append(item)
                            outcomes.append(EventOutcome.APPLIED)
                        else:
                            outcomes.append(EventOutcome.DUPLICATE)
                    if todo:
                        spans = [self._span(item) for item in todo]
                        with spans_for_each(self.tracer, SpanKind.CONSUMER, spans):
                            await self.spec.batch_handler([item.event for item in todo], session)
            except Exception as exc:
                if is_outage(exc):
                    await self._wait_out_outage(exc)
                    continue
                log.warning(
                    "batch handler failed, applying the batch event by event",
                    extra={"group": self.spec.group, "error": _describe(exc)},
                )
                return None
            self._observe(batch, outcomes, time.perf_counter() - started)
            return outcomes

    async def _apply_alone(self, item: Received, first_error: Exception) -> EventOutcome:
        """The slow path: attempts 2..N of one event in its own transactions, then the DLQ."""
        attempt, error = 1, first_error
        while attempt < self.spec.max_attempts and not isinstance(error, PermanentError):
            # Backoff between attempts is short and bounded: shutdown lets it finish.
            await asyncio.sleep(self.retry_backoff_seconds * 2 ** (attempt - 1))
            started = time.perf_counter()
            try:
                async with self.sessions() as session, session.begin():
                    outcome = await self._apply(session, item)
            except Exception as exc:
                if is_outage(exc):  # says nothing about the event: not an attempt
                    await self._wait_out_outage(exc)
                    continue
                attempt += 1
                error = exc
                self._count_failure(item.event, exc, attempt)
                continue
            self._observe([item], [outcome], time.perf_counter() - started)
            return outcome
        reason = DeadLetterReason.HANDLER_FAILED
        await self.dead_letters.dead_letter(item.message, reason, _describe(error), attempt)
        self.metrics.dead_lettered()
        return EventOutcome.DEAD_LETTERED

    async def _apply(self, session: AsyncSession, item: Received) -> EventOutcome:
        event = item.event
        if not self.spec.wants(event):
            return EventOutcome.SKIPPED
        token = correlation_id.set(str(event.id))
        span = self._span(item)
        try:
            with continue_trace(
                self.tracer,
                span.name,
                span.traceparent,
                kind=SpanKind.CONSUMER,
                attributes=span.attributes,
            ):
                if not await claim(session, self.spec.group, event.id):
                    return EventOutcome.DUPLICATE
                await self.spec.handler(event, session)
                return EventOutcome.APPLIED
        finally:
            correlation_id.reset(token)

    def _span(self, item: Received) -> SpanStart:
        """The CONSUMER span of one event (OpenTelemetry messaging conventions)."""
        return SpanStart(
            f"process {item.message.topic}",
            item.event.traceparent,
            {
                "messaging.operation.type": "process",
                "messaging.destination.name": item.message.topic,
                "messaging.consumer.group.name": self.spec.group,
                "messaging.message.id": str(item.event.id),
                "cloudevents.event_type": item.event.type.value,
            },
        )

    def _count_failure(self, event: CloudEvent, exc: BaseException, attempt: int) -> None:
        self.metrics.failed(type(exc).__name__)
        details: dict[str, object] = {
            "group": self.spec.group,
            "event_id": str(event.id),
            "event_type": event.type.value,
            "attempt": attempt,
            "max_attempts": self.spec.max_attempts,
            "error": _describe(exc),
        }
        # Logged after the event's span ended: name its trace, as the lines inside it do.
        if (trace_id := trace_id_of(event.traceparent)) is not None:
            details["trace_id"] = trace_id
        log.warning("handler failed", extra=details)

    def _observe(
        self, batch: Sequence[Received], outcomes: Sequence[EventOutcome], elapsed: float
    ) -> None:
        if not batch:
            return
        # One commit serves the whole batch: each event is charged its share of it.
        share = elapsed / len(batch)
        for item, outcome in zip(batch, outcomes, strict=True):
            # Types the group does not handle are not its events: not counted.
            if outcome in (EventOutcome.APPLIED, EventOutcome.DUPLICATE):
                self.metrics.processed(item.event.type.value)
            if outcome is EventOutcome.APPLIED:
                self.metrics.handled_in(share)

    async def _wait_out_outage(self, exc: BaseException) -> None:
        log.warning(
            "database unavailable, retrying",
            extra={"group": self.spec.group, "error": _describe(exc)},
        )
        # An outage can last: shutdown does not wait for it (nothing after this commits).
        if self.stopping.is_set():
            raise Stopping
        if not await wait_set(self.stopping, _OUTAGE_RETRY_S):
            return
        raise Stopping


class _BatchFailed(Exception):
    """A multi-event transaction failed as a whole (not in one event's savepoint)."""


def _describe(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= 1000 else text[:997] + "..."
