"""Claiming due reminders on the real PostgreSQL: once each, never for a finished task."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from app.api.schemas import TaskCreate
from app.core.db.event_models import NotificationDelivery
from app.core.db.models import OutboxEvent, Reminder, Task
from app.core.events.contract import CloudEvent, EventType, ReminderDueData
from app.core.events.topics import REMINDERS
from app.tasks import commands
from devtools.postgres import PostgresServer
from services.common.inprocess import InProcessBus
from services.common.metrics import WorkerMetrics
from services.common.publisher import OutgoingMessage
from services.common.spec import ConsumerSpec
from services.notifier.channels import LogChannel, RetryPolicy
from services.notifier.claims import SOURCE_NOTIFIER, claim_due, due_count
from services.notifier.delivery import Delivery
from services.notifier.worker import DELIVERY_GROUP
from tests.services.workers_support import Database, migrated_database, sqlite_database


@pytest.fixture(scope="module")
async def db(postgres: PostgresServer) -> AsyncIterator[Database]:
    async with migrated_database(postgres) as database:
        yield database


def _now() -> datetime:
    return datetime.now(UTC)


async def _task_with_reminders(db: Database, *at: datetime, **body: Any) -> Task:
    """A task (of a fresh owner) with absolute reminders at ``at``."""
    owner = await db.new_user()
    body.setdefault("title", "call the dentist")
    body["reminders"] = [{"at": moment.isoformat()} for moment in at]
    async with db.sessions() as session, session.begin():
        return await commands.create_task(session, owner, TaskCreate.model_validate(body))


async def _reload(db: Database, task_id: uuid.UUID) -> Task:
    async with db.sessions() as session:
        task = await session.get(Task, task_id)
        assert task is not None
        return task


async def _due_events(db: Database, task_id: uuid.UUID) -> list[CloudEvent]:
    async with db.sessions() as session:
        rows = await session.scalars(
            select(OutboxEvent)
            .where(
                OutboxEvent.key == str(task_id),
                OutboxEvent.event_type == EventType.REMINDER_DUE.value,
            )
            .order_by(OutboxEvent.id)
        )
        return [CloudEvent.model_validate(row.payload) for row in rows]


async def _claim(db: Database, now: datetime, limit: int = 100) -> tuple[int, int]:
    async with db.sessions() as session, session.begin():
        claimed = await claim_due(session, now, limit)
    return len(claimed.sent), len(claimed.suppressed)


@pytest.mark.postgres
async def test_due_reminders_are_sent_once_and_reminder_sent_follows_the_last(
    db: Database,
) -> None:
    now = _now()
    first, second, later = (
        now - timedelta(seconds=2),
        now - timedelta(seconds=1),
        now + timedelta(hours=1),
    )
    task = await _task_with_reminders(
        db, first, second, later, due_date=(now + timedelta(days=1)).isoformat()
    )

    assert await _claim(db, now) == (2, 0)
    assert await _claim(db, now) == (0, 0)

    stored = await _reload(db, task.id)
    sent = sorted((r.remind_at, r.sent_at is not None) for r in stored.reminders)
    assert sent == [(first, True), (second, True), (later, False)]
    assert stored.reminder_sent is False  # one is still to come
    assert stored.version == task.version + 1
    events = await _due_events(db, task.id)
    assert len(events) == 2
    assert {e.source for e in events} == {SOURCE_NOTIFIER}
    payloads = [ReminderDueData.model_validate(e.data) for e in events]
    assert [p.remind_at for p in payloads] == [first, second]
    assert {(p.task_id, p.owner_id, p.title) for p in payloads} == {
        (task.id, task.owner_id, "call the dentist")
    }

    assert await _claim(db, later) == (1, 0)
    assert (await _reload(db, task.id)).reminder_sent is True


@pytest.mark.postgres
async def test_a_claim_skips_what_another_claim_holds(db: Database) -> None:
    now = _now()
    task = await _task_with_reminders(db, now - timedelta(seconds=1), now - timedelta(seconds=1))
    async with db.sessions() as holder, holder.begin():
        held = await claim_due(holder, now, 100)
        assert len(held.sent) == 2
        # While the first claim is uncommitted, a second one finds nothing to take.
        assert await _claim(db, now) == (0, 0)
        async with db.sessions() as observer:
            assert await due_count(observer, now) == len(held.sent)
    assert await _claim(db, now) == (0, 0)
    assert len(await _due_events(db, task.id)) == 2


@pytest.mark.postgres
async def test_a_reminder_of_a_task_being_completed_is_suppressed(db: Database) -> None:
    now = _now()
    task = await _task_with_reminders(db, now - timedelta(seconds=1))
    async with db.sessions() as api, api.begin():
        # The API is completing the task (rows locked, not committed yet) as the reminder
        # comes due: the claim must neither wait (deadlock risk) nor send.
        await commands.complete_task(api, task.owner_id, task.id)
        assert await _claim(db, now) == (0, 0)
    assert await _claim(db, now) == (0, 0)

    stored = await _reload(db, task.id)
    assert [r.sent_at for r in stored.reminders] == [None]
    assert stored.reminders[0].cancelled_at is not None
    assert await _due_events(db, task.id) == []


@pytest.mark.postgres
async def test_a_pending_reminder_of_a_completed_task_is_suppressed_not_sent(
    db: Database,
) -> None:
    now = _now()
    task = await _task_with_reminders(db, now - timedelta(seconds=1))
    async with db.sessions() as session, session.begin():
        # Completed by a path that left the reminder pending (a bulk fix, an older release).
        stored = await session.get(Task, task.id)
        assert stored is not None
        stored.completed, stored.completed_at = True, now

    assert await _claim(db, now) == (0, 1)

    reminder = (await _reload(db, task.id)).reminders[0]
    assert (reminder.sent_at, reminder.cancelled_at) == (None, now)
    assert await _due_events(db, task.id) == []


@pytest.mark.postgres
async def test_completing_after_a_claim_keeps_the_sent_reminder_and_cancels_the_rest(
    db: Database,
) -> None:
    now = _now()
    task = await _task_with_reminders(db, now - timedelta(seconds=1), now + timedelta(hours=1))
    async with db.sessions() as notifier, notifier.begin():
        assert len((await claim_due(notifier, now, 100)).sent) == 1
    async with db.sessions() as api, api.begin():
        await commands.complete_task(api, task.owner_id, task.id)

    stored = await _reload(db, task.id)
    states = sorted(
        (r.remind_at, r.sent_at is not None, r.cancelled_at is not None) for r in stored.reminders
    )
    assert states == [
        (now - timedelta(seconds=1), True, False),
        (now + timedelta(hours=1), False, True),
    ]
    async with db.sessions() as session:
        pending = await session.scalars(
            select(Reminder.id).where(
                Reminder.task_id == task.id,
                Reminder.sent_at.is_(None),
                Reminder.cancelled_at.is_(None),
            )
        )
        assert list(pending) == []


async def test_claims_and_deliveries_work_on_sqlite_for_the_local_run(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with sqlite_database(tmp_path / "local.db") as db:
        now = _now()
        task = await _task_with_reminders(db, now - timedelta(seconds=1), now)
        assert await _claim(db, now) == (2, 0)
        assert await _claim(db, now) == (0, 0)
        assert (await _reload(db, task.id)).reminder_sent is True

        # Delivered as in the local run: the in-process bus, each event published twice.
        delivery = Delivery(db.sessions, [LogChannel()], RetryPolicy(), WorkerMetrics())
        bus = InProcessBus(db.sessions)
        bus.subscribe(
            ConsumerSpec(group=DELIVERY_GROUP, topics=(REMINDERS.name,), handler=delivery.handle)
        )
        messages = [
            OutgoingMessage(REMINDERS.name, event.subject, event.model_dump_json().encode())
            for event in await _due_events(db, task.id)
        ]
        with caplog.at_level(logging.INFO, logger="services.notifier.reminders"):
            await bus.start()
            try:
                await bus.publish([*messages, *messages])
                await bus.drained()
            finally:
                await bus.stop()
        assert bus.dead_letters == []
        assert [r.getMessage() for r in caplog.records] == ["reminder due", "reminder due"]
        async with db.sessions() as session:
            statuses = await session.scalars(select(NotificationDelivery.status))
            assert list(statuses) == ["delivered", "delivered"]
