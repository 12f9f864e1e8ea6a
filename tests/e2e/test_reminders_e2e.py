"""Reminders end to end: the real API, relay, Kafka and ``python -m services.notifier``,
delivering to a webhook receiver on 127.0.0.1 that checks every signature.

Counts are checked once the delivery group has consumed all of ``reminders``, so a duplicate
would show; hooks are matched by task, since the topic may hold other tests' reminders.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Select, func, select

from app.core.db.event_models import NotificationDelivery
from app.core.db.models import OutboxEvent, Reminder
from app.core.events.contract import EventType
from app.core.events.topics import REMINDERS
from devtools.testkit.events_support import ServiceProcess
from devtools.testkit.workers_stack import Stack
from devtools.testkit.workers_support import Hook, WebhookReceiver, eventually
from services.notifier.worker import DELIVERY_GROUP

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]

DEADLINE_S = 60.0
SECRET = secrets.token_urlsafe(32)


@pytest.fixture(scope="module")
async def receiver() -> AsyncIterator[WebhookReceiver]:
    async with WebhookReceiver(SECRET) as hook:
        yield hook


def _notifier(stack: Stack, receiver: WebhookReceiver) -> ServiceProcess:
    return stack.service(
        "notifier",
        {
            "NOTIFIER_CHANNELS": "webhook,log",
            "WEBHOOK_URL": receiver.url,
            "WEBHOOK_SECRET": SECRET,
        },
    )


@contextlib.asynccontextmanager
async def _running(*services: ServiceProcess) -> AsyncIterator[None]:
    try:
        await asyncio.gather(*(service.start() for service in services))
        yield
    finally:
        for service in services:
            service.stop()


def _hooks_for(receiver: WebhookReceiver, task_ids: set[str]) -> list[Hook]:
    return [hook for hook in receiver.hooks if hook.body["subject"] in task_ids]


async def _count(stack: Stack, statement: Select[int]) -> int:
    async with stack.db.sessions() as session:
        return int(await session.scalar(statement) or 0)


def _due_events(task_ids: set[str]) -> Select[int]:
    return (
        select(func.count())
        .select_from(OutboxEvent)
        .where(
            OutboxEvent.event_type == EventType.REMINDER_DUE.value,
            OutboxEvent.key.in_(task_ids),
        )
    )


def _soon(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


async def test_two_reminders_due_in_seconds_arrive_signed_and_set_reminder_sent(
    stack: Stack, receiver: WebhookReceiver
) -> None:
    user = await stack.new_user()
    notifier = _notifier(stack, receiver)
    async with _running(notifier):
        task = await stack.create_task(
            user,
            title="leave for the airport",
            due_date=_soon(4),
            reminders=[{"before": "PT2S"}, {"before": "PT1S"}],
        )
        ids = {task["id"]}
        await eventually(
            lambda: len(_hooks_for(receiver, ids)) >= 2, within=DEADLINE_S, what="2 webhooks"
        )
        await stack.wait_consumed(DELIVERY_GROUP, REMINDERS.name, DEADLINE_S)

    hooks = _hooks_for(receiver, ids)
    assert len(hooks) == 2
    assert all(hook.signature_valid for hook in hooks)
    assert {hook.body["type"] for hook in hooks} == {"reminder.due"}
    reminder_ids = {r["id"] for r in task["reminders"]}
    assert {hook.body["data"]["reminder_id"] for hook in hooks} == reminder_ids
    fetched = (await stack.client.get(f"/tasks/{task['id']}", headers=user)).json()
    assert fetched["reminder_sent"] is True
    assert all(r["sent_at"] is not None for r in fetched["reminders"])
    # Hook URLs can carry tokens, and the signing key is a secret: neither reaches the log.
    log = notifier.log_path.read_text()
    assert '"reminders fired"' in log
    assert receiver.url not in log
    assert SECRET not in log


async def test_two_notifier_replicas_deliver_every_reminder_exactly_once(
    stack: Stack, receiver: WebhookReceiver
) -> None:
    user = await stack.new_user()
    async with _running(_notifier(stack, receiver), _notifier(stack, receiver)):
        tasks = [
            await stack.create_task(
                user,
                title=f"replica {n}",
                reminders=[{"at": _soon(2 + n * 0.05)}, {"at": _soon(2.5 + n * 0.05)}],
            )
            for n in range(20)
        ]
        ids = {t["id"] for t in tasks}
        await eventually(
            lambda: len(_hooks_for(receiver, ids)) >= 40, within=DEADLINE_S, what="40 webhooks"
        )
        await stack.wait_consumed(DELIVERY_GROUP, REMINDERS.name, DEADLINE_S)

    hooks = _hooks_for(receiver, ids)
    per_reminder = Counter(hook.body["data"]["reminder_id"] for hook in hooks)
    assert len(per_reminder) == 40
    assert set(per_reminder.values()) == {1}
    assert all(hook.signature_valid for hook in hooks)
    # Each request names its idempotency key (header and signed body): one per reminder.
    assert {hook.idempotency_key for hook in hooks} == {hook.body["id"] for hook in hooks}
    assert all(hook.idempotency_key == hook.body["idempotencykey"] for hook in hooks)
    assert len({hook.idempotency_key for hook in hooks}) == 40
    assert await _count(stack, _due_events(ids)) == 40


async def test_a_reminder_of_a_completed_task_is_never_delivered(
    stack: Stack, receiver: WebhookReceiver
) -> None:
    user = await stack.new_user()
    async with _running(_notifier(stack, receiver)):
        done = await stack.create_task(user, title="done early", reminders=[{"at": _soon(2)}])
        await stack.complete(user, done["id"])
        # A witness due later than the cancelled one: once it arrives, the other would have.
        witness = await stack.create_task(user, title="witness", reminders=[{"at": _soon(3)}])
        await eventually(
            lambda: len(_hooks_for(receiver, {witness["id"]})) == 1,
            within=DEADLINE_S,
            what="the witness webhook",
        )
        await stack.wait_consumed(DELIVERY_GROUP, REMINDERS.name, DEADLINE_S)

    assert _hooks_for(receiver, {done["id"]}) == []
    assert await _count(stack, _due_events({done["id"]})) == 0
    async with stack.db.sessions() as session:
        reminder = await session.scalar(
            select(Reminder).where(Reminder.task_id == uuid.UUID(done["id"]))
        )
    assert reminder is not None
    assert (reminder.sent_at, reminder.cancelled_at is not None) == (None, True)


async def test_kill_9_mid_delivery_then_restart_fires_each_reminder_once(
    stack: Stack, receiver: WebhookReceiver
) -> None:
    user = await stack.new_user()
    total = 30
    first = _notifier(stack, receiver)
    await first.start()
    tasks = [
        await stack.create_task(user, title=f"kill {n}", reminders=[{"at": _soon(2 + n * 0.1)}])
        for n in range(total)
    ]
    ids = {t["id"] for t in tasks}
    await eventually(
        lambda: len(_hooks_for(receiver, ids)) >= 1, within=DEADLINE_S, what="a first webhook"
    )
    first.kill()
    assert len(_hooks_for(receiver, ids)) < total, "all delivered before the kill"

    async with _running(_notifier(stack, receiver)):
        await eventually(
            lambda: len({h.body["id"] for h in _hooks_for(receiver, ids)}) >= total,
            within=DEADLINE_S,
            what=f"{total} distinct webhooks",
        )
        await stack.wait_consumed(DELIVERY_GROUP, REMINDERS.name, DEADLINE_S)

    # Claims are exactly-once: one reminder.due per reminder, one delivered row per reminder.
    assert await _count(stack, _due_events(ids)) == total
    hooks = _hooks_for(receiver, ids)
    per_event = Counter(hook.body["id"] for hook in hooks)
    assert len(per_event) == total
    # The webhook is at-least-once: the one request in flight at the kill may come again,
    # with the same idempotency key (the event id) for the receiver to deduplicate on.
    assert len(hooks) - total <= 1
    assert Counter(hook.idempotency_key for hook in hooks) == per_event
    async with stack.db.sessions() as session:
        delivered = await session.scalar(
            select(func.count(func.distinct(NotificationDelivery.reminder_id))).where(
                NotificationDelivery.channel == "webhook",
                NotificationDelivery.status == "delivered",
                NotificationDelivery.reminder_id.in_(
                    select(Reminder.id).where(Reminder.task_id.in_([uuid.UUID(i) for i in ids]))
                ),
            )
        )
    assert delivered == total
