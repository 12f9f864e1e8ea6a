"""Reminder e-mails go only to verified addresses and at most REMINDER_EMAILS_PER_HOUR per user:
the delivery handler against the real SMTP server (aiosmtpd), on PostgreSQL and SQLite. What is
held back is recorded once and counted, and the other channels still deliver it."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from app.core.db.event_models import NotificationDelivery, WithheldReminderEmail
from app.core.db.models import User
from app.core.events.contract import CloudEvent
from app.core.mail import SmtpRelay
from devtools.postgres import PostgresServer
from devtools.testkit.workers_support import (
    Database,
    SmtpSink,
    handling,
    migrated_database,
    reminder_due_event,
    sqlite_database,
)
from services.common.metrics import WorkerMetrics
from services.notifier.channels import Channel, EmailChannel, LogChannel, RetryPolicy
from services.notifier.delivery import Delivery

FAST = RetryPolicy(max_attempts=2, backoff_seconds=0.01, backoff_max_seconds=0.02)
PER_HOUR = 2


@pytest.fixture(params=["postgres", "sqlite"])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    if request.param == "postgres":
        server: PostgresServer = request.getfixturevalue("postgres")
        context = migrated_database(server)
    else:
        context = sqlite_database(tmp_path / "gate.db")
    async with context as database:
        yield database


def _delivery(db: Database, smtp: SmtpSink, metrics: WorkerMetrics) -> Delivery:
    relay = SmtpRelay(host="127.0.0.1", port=smtp.port, sender="todo@example.com", security="none")
    channels: list[Channel] = [EmailChannel(relay), LogChannel()]
    return Delivery(db.sessions, channels, FAST, metrics, emails_per_hour=PER_HOUR)


async def _handle(delivery: Delivery, db: Database, event: CloudEvent) -> None:
    async with db.sessions() as session, session.begin():
        with handling(event):
            await delivery.handle(event, session)


def _withheld_metric(metrics: WorkerMetrics, reason: str) -> float | None:
    return metrics.registry.get_sample_value(
        "todo_reminder_emails_withheld_total", {"reason": reason}
    )


async def _withheld_rows(db: Database, owner: uuid.UUID) -> list[str]:
    async with db.sessions() as session:
        rows = await session.scalars(
            select(WithheldReminderEmail.reason).where(WithheldReminderEmail.owner_id == owner)
        )
        return sorted(rows)


async def _delivered(db: Database, reminder_id: uuid.UUID) -> list[str]:
    async with db.sessions() as session:
        rows = await session.scalars(
            select(NotificationDelivery.channel).where(
                NotificationDelivery.reminder_id == reminder_id,
                NotificationDelivery.status == "delivered",
            )
        )
        return sorted(rows)


async def _address(db: Database, owner: uuid.UUID) -> str:
    async with db.sessions() as session:
        email = await session.scalar(select(User.email).where(User.id == owner))
    assert email is not None
    return email


async def test_no_reminder_is_emailed_to_an_unverified_address(
    db: Database, smtp: SmtpSink
) -> None:
    metrics = WorkerMetrics()
    delivery = _delivery(db, smtp, metrics)
    assert _withheld_metric(metrics, "unverified") == _withheld_metric(metrics, "volume") == 0
    owner = await db.new_user(verified=False)
    event = reminder_due_event(owner)

    await _handle(delivery, db, event)
    await _handle(delivery, db, event)  # redelivered: recorded and counted once

    assert smtp.messages == []
    assert await _withheld_rows(db, owner) == ["unverified"]
    assert _withheld_metric(metrics, "unverified") == 1
    # The reminder is not lost: the log channel (and the app's live list) still has it.
    assert await _delivered(db, uuid.UUID(event.data["reminder_id"])) == ["log"]


async def test_reminder_emails_per_user_are_bounded_per_hour(db: Database, smtp: SmtpSink) -> None:
    metrics = WorkerMetrics()
    delivery = _delivery(db, smtp, metrics)
    busy, other = await db.new_user(), await db.new_user()
    events = [reminder_due_event(busy) for _ in range(PER_HOUR + 3)]
    for event in events:
        await _handle(delivery, db, event)
    await _handle(delivery, db, reminder_due_event(other))  # another user's bound is their own
    await _handle(delivery, db, events[0])  # an e-mailed reminder redelivered: not sent again

    busy_address, other_address = await _address(db, busy), await _address(db, other)
    assert [m["To"] for m in smtp.messages].count(busy_address) == PER_HOUR
    assert [m["To"] for m in smtp.messages].count(other_address) == 1
    assert await _withheld_rows(db, busy) == ["volume"] * 3
    assert _withheld_metric(metrics, "volume") == 3
    for event in events:
        assert "log" in await _delivered(db, uuid.UUID(event.data["reminder_id"]))


@pytest.mark.postgres
async def test_parallel_deliveries_of_one_user_stay_within_the_bound(
    postgres: PostgresServer, smtp: SmtpSink
) -> None:
    # Two replicas delivering at once: the owner's row lock makes the count and the send one step.
    async with migrated_database(postgres) as db:
        metrics = WorkerMetrics()
        delivery = _delivery(db, smtp, metrics)
        owner = await db.new_user()
        events = [reminder_due_event(owner) for _ in range(8)]
        await asyncio.gather(*(_handle(delivery, db, event) for event in events))
        assert len(smtp.messages) == PER_HOUR
        assert await _withheld_rows(db, owner) == ["volume"] * (len(events) - PER_HOUR)
