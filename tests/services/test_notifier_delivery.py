"""The delivery consumer's handler on the real PostgreSQL: one send per reminder and channel,
however often reminder.due arrives, and failures recorded and dead-lettered."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import func, select

from app.core.db.event_models import NotificationDelivery
from app.core.db.models import OutboxEvent, User
from app.core.events.contract import CloudEvent, EventType, NotificationSentData
from app.core.mail import SmtpRelay
from devtools.postgres import PostgresServer
from devtools.testkit.workers_support import (
    TRACEPARENT,
    Database,
    SmtpSink,
    WebhookReceiver,
    handling,
    migrated_database,
    reminder_due_event,
)
from services.common.metrics import WorkerMetrics
from services.common.spec import PermanentError
from services.notifier.channels import Channel, EmailChannel, RetryPolicy, WebhookChannel
from services.notifier.delivery import Delivery

pytestmark = pytest.mark.postgres

SECRET = secrets.token_urlsafe(32)
FAST = RetryPolicy(max_attempts=2, backoff_seconds=0.01, backoff_max_seconds=0.02)


@pytest.fixture(scope="module")
async def db(postgres: PostgresServer) -> AsyncIterator[Database]:
    async with migrated_database(postgres) as database:
        yield database


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    async with WebhookReceiver(SECRET) as hook:
        yield hook


@pytest.fixture
async def channels(receiver: WebhookReceiver, smtp: SmtpSink) -> AsyncIterator[list[Channel]]:
    async with httpx.AsyncClient(timeout=5) as client:
        yield [
            WebhookChannel(receiver.url, SecretStr(SECRET), client),
            EmailChannel(
                SmtpRelay(
                    host="127.0.0.1", port=smtp.port, sender="todo@example.com", security="none"
                )
            ),
        ]


async def _reminder_due(db: Database) -> tuple[CloudEvent, str]:
    owner = await db.new_user()
    async with db.sessions() as session:
        email = await session.scalar(select(User.email).where(User.id == owner))
    assert email is not None
    return reminder_due_event(owner, traceparent=TRACEPARENT), email


async def _handle(delivery: Delivery, db: Database, event: CloudEvent) -> None:
    """As the consumer runtime calls it: inside a transaction it commits afterwards."""
    async with db.sessions() as session, session.begin():
        with handling(event):
            await delivery.handle(event, session)


def _sent(metrics: WorkerMetrics, channel: str) -> tuple[float | None, float | None]:
    """Reminders counted as sent through ``channel``, and lateness observations."""
    labels = {"channel": channel}
    return (
        metrics.registry.get_sample_value("todo_reminders_sent_total", labels),
        metrics.registry.get_sample_value("todo_reminder_lateness_seconds_count", labels),
    )


async def _rows(db: Database, reminder_id: uuid.UUID) -> dict[str, tuple[str, int]]:
    async with db.sessions() as session:
        rows = await session.scalars(
            select(NotificationDelivery).where(NotificationDelivery.reminder_id == reminder_id)
        )
        return {row.channel: (row.status, row.attempts) for row in rows}


async def _sent_events(db: Database, reminder_id: uuid.UUID) -> list[str]:
    """The channels of the reminder's notification.sent events (each in the reminder's trace)."""
    async with db.sessions() as session:
        rows = await session.scalars(
            select(OutboxEvent).where(OutboxEvent.event_type == EventType.NOTIFICATION_SENT.value)
        )
        events = [CloudEvent.model_validate(row.payload) for row in rows]
    mine = [
        e for e in events if NotificationSentData.model_validate(e.data).reminder_id == reminder_id
    ]
    assert [event.traceparent for event in mine] == [TRACEPARENT] * len(mine)
    return sorted(NotificationSentData.model_validate(e.data).channel for e in mine)


async def test_each_channel_delivers_once_however_often_the_event_arrives(
    db: Database, channels: list[Channel], receiver: WebhookReceiver, smtp: SmtpSink
) -> None:
    metrics = WorkerMetrics()
    delivery = Delivery(db.sessions, channels, FAST, metrics)
    assert _sent(metrics, "webhook") == _sent(metrics, "email") == (0, 0)  # from the start
    event, email = await _reminder_due(db)
    reminder_id = uuid.UUID(event.data["reminder_id"])

    await _handle(delivery, db, event)
    await _handle(delivery, db, event)
    await asyncio.gather(*(_handle(delivery, db, event) for _ in range(3)))

    assert len(receiver.hooks) == 1
    assert receiver.hooks[0].signature_valid
    assert receiver.hooks[0].idempotency_key == str(event.id)
    assert [m["To"] for m in smtp.messages] == [email]
    assert await _rows(db, reminder_id) == {"webhook": ("delivered", 1), "email": ("delivered", 1)}
    assert await _sent_events(db, reminder_id) == ["email", "webhook"]
    assert _sent(metrics, "webhook") == _sent(metrics, "email") == (1, 1)


async def test_a_failing_channel_is_recorded_dead_lettered_and_later_completed_alone(
    db: Database, channels: list[Channel], receiver: WebhookReceiver, smtp: SmtpSink
) -> None:
    metrics = WorkerMetrics()
    delivery = Delivery(db.sessions, channels, FAST, metrics)
    event, _email = await _reminder_due(db)
    reminder_id = uuid.UUID(event.data["reminder_id"])
    receiver.fail_next(2, status=502)

    with pytest.raises(PermanentError, match="webhook: webhook answered HTTP 502"):
        await _handle(delivery, db, event)

    assert receiver.attempts == 2  # FAST allows two attempts
    assert await _rows(db, reminder_id) == {"webhook": ("failed", 2), "email": ("delivered", 1)}
    assert (_sent(metrics, "webhook"), _sent(metrics, "email")) == ((0, 0), (1, 1))

    # Replayed from the dead-letter topic once the receiver is back: only the webhook is sent.
    await _handle(delivery, db, event)
    assert len(receiver.valid) == 1
    assert len(smtp.messages) == 1
    assert await _rows(db, reminder_id) == {"webhook": ("delivered", 3), "email": ("delivered", 1)}
    assert _sent(metrics, "webhook") == _sent(metrics, "email") == (1, 1)
    async with db.sessions() as session:
        errors = await session.scalar(
            select(func.count())
            .select_from(NotificationDelivery)
            .where(
                NotificationDelivery.reminder_id == reminder_id,
                NotificationDelivery.last_error.is_not(None),
            )
        )
    assert errors == 0
