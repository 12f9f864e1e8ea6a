"""Delivery of ``reminder.due`` (consumer group ``notifier-delivery``) through the channels.

On PostgreSQL each channel's delivery is its own transaction around a
``notification_deliveries`` row (unique per reminder and channel), locked while the channel
sends. The row commits "delivered" together with the ``notification.sent`` event as soon as that
channel succeeded, independently of the consumer's transaction: when a later channel fails and
the event is retried or replayed, a channel that already delivered is skipped, not sent twice.
Concurrent deliveries of the same reminder (a consumer-group rebalance) serialise on the row
lock, and the second finds it done. (SQLite, the local run, shares the consumer's transaction:
see :meth:`Delivery.handle`.)

A channel retries transient failures with backoff (:mod:`channels.retry`); when it gives up,
the row says "failed" with the error, and the handler raises :class:`PermanentError` so the
event goes to the dead-letter topic at once (the channel already did the retrying).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Final

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.db.event_models import NotificationDelivery
from app.core.events import outbox
from app.core.events.contract import CloudEvent, EventType, NotificationSentData
from app.core.observability.tracing import current_traceparent
from app.notifications import subscriptions
from app.notifications.routes import routes_of
from services.common.metrics import WorkerMetrics
from services.common.spec import PermanentError
from services.notifier.channels import (
    Channel,
    DeliveryFailed,
    Notice,
    Receipt,
    RetryPolicy,
    with_retries,
)
from services.notifier.claims import notifier_event
from services.notifier.email_gate import EMAIL, EmailGate
from services.notifier.metrics import NotifierMetrics

log = logging.getLogger("services.notifier.delivery")

DELIVERED: Final = "delivered"
FAILED: Final = "failed"
PENDING: Final = "pending"


class Delivery:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        channels: Sequence[Channel],
        policy: RetryPolicy,
        metrics: WorkerMetrics,
        *,
        emails_per_hour: int = 20,
    ) -> None:
        self._sessions = sessions
        self._channels = channels
        self._policy = policy
        self._metrics = NotifierMetrics(metrics, [channel.name for channel in channels])
        # Built whatever the channels: its counter is exported (at 0) by every notifier.
        self._email_gate = EmailGate(emails_per_hour, metrics)

    async def handle(self, event: CloudEvent, session: AsyncSession) -> None:
        """The consumer's handler: deliver one reminder.due through every channel that applies
        to its owner (their preferences, verified address, subscriptions, webhook)."""
        notice = Notice.of(event)
        routes = await routes_of(session, notice.owner_id)
        notice = replace(notice, recipient=routes.email, routes=routes)
        # SQLite (the local run) has a single writer, and the consumer's transaction already
        # holds it: there the deliveries share that transaction, so a failing channel rolls
        # back the others' records too and a retry repeats them.
        own_transactions = session.get_bind().dialect.name != "sqlite"
        failures = []
        for channel in self._channels:
            if not channel.applies(notice):
                continue
            if own_transactions:
                async with self._sessions() as own, own.begin():
                    failure = await self._deliver(own, channel, notice)
            else:
                failure = await self._deliver(session, channel, notice)
            if failure is not None:
                failures.append(f"{channel.name}: {failure}")
        if failures:
            raise PermanentError("; ".join(failures))

    async def _deliver(
        self, session: AsyncSession, channel: Channel, notice: Notice
    ) -> DeliveryFailed | None:
        """Send through ``channel`` unless already delivered, and record the outcome in the
        session's transaction; the failure, if the channel gave up. An e-mail the gate holds
        back (address not verified, hourly number reached) is not a failure."""
        if channel.name == EMAIL:
            now = datetime.now(UTC)
            if await self._email_gate.withheld(session, notice.reminder_id, notice.owner_id, now):
                return None
        if await _lock_row(session, notice, channel.name) == DELIVERED:
            return None
        attempts = 0

        async def failed_attempt(_attempt: int, _failure: DeliveryFailed) -> None:
            nonlocal attempts
            attempts += 1

        receipts: list[Receipt | None] = []

        async def send() -> None:
            receipts.append(await channel.send(notice))

        error: DeliveryFailed | None = None
        try:
            attempts += await with_retries(send, self._policy, on_failure=failed_attempt)
        except DeliveryFailed as failure:
            error = failure
            outcome: dict[str, object] = {"status": FAILED, "last_error": str(failure)}
            log.warning(
                "delivery failed",
                extra={
                    "channel": channel.name,
                    "reminder_id": str(notice.reminder_id),
                    "attempts": attempts,
                    "error": str(failure),
                },
            )
        else:
            delivered_at = datetime.now(UTC)
            outcome = {"status": DELIVERED, "last_error": None, "delivered_at": delivered_at}
            receipt = receipts[-1]
            if receipt is not None:
                # Subscriptions the push service says are gone (404/410) receive nothing again.
                await subscriptions.forget(session, receipt.gone_subscriptions)
            await _record_sent(session, notice, channel.name, delivered_at)
            self._metrics.delivered(channel.name, notice.remind_at, delivered_at)
        await session.execute(
            update(NotificationDelivery)
            .where(
                NotificationDelivery.reminder_id == notice.reminder_id,
                NotificationDelivery.channel == channel.name,
            )
            .values(attempts=NotificationDelivery.attempts + attempts, **outcome)
        )
        return error


async def _lock_row(session: AsyncSession, notice: Notice, channel: str) -> str:
    """Create the delivery row of (reminder, channel) if missing, lock it until commit, and
    return its status: one upsert, whose no-op update takes the row lock (a concurrent
    delivery of the same reminder waits here, then finds it delivered)."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(NotificationDelivery).values(
        id=uuid.uuid4(),
        reminder_id=notice.reminder_id,
        owner_id=notice.owner_id,
        channel=channel,
        status=PENDING,
        attempts=0,
    )
    status = await session.scalar(
        statement.on_conflict_do_update(
            index_elements=["reminder_id", "channel"],
            set_={"status": NotificationDelivery.__table__.c.status},
        ).returning(NotificationDelivery.status)
    )
    assert status is not None  # RETURNING yields the row, inserted or updated
    return status


async def _record_sent(
    session: AsyncSession, notice: Notice, channel: str, delivered_at: datetime
) -> None:
    data = NotificationSentData(
        reminder_id=notice.reminder_id,
        task_id=notice.task_id,
        owner_id=notice.owner_id,
        channel=channel,
        delivered_at=delivered_at,
    )
    # The handling span's context: the trace of the reminder.due being delivered.
    event = notifier_event(EventType.NOTIFICATION_SENT, data, current_traceparent())
    await outbox.record(session, event)
