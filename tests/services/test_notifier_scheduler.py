"""The reminder scheduler on the real PostgreSQL: woken by NOTIFY, following changes, and
firing each reminder exactly once with two replicas and a concurrent cron sweep."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from starlette.applications import Starlette

from app.api.schemas import TaskCreate, TaskUpdate
from app.core.db.models import OutboxEvent, Reminder, Task
from app.core.db.notify import REMINDERS_CHANNEL
from app.core.events.contract import EventType
from app.tasks import commands
from devtools.postgres import PostgresServer
from services.common.listen import Listener
from services.common.metrics import WorkerMetrics
from services.common.worker import WorkerContext
from services.notifier.scheduler import ReminderScheduler
from services.notifier.settings import NotifierSettings
from services.notifier.worker import build
from tests.services.workers_support import Database, eventually, migrated_database

pytestmark = pytest.mark.postgres

DEADLINE_S = 15.0


@pytest.fixture
async def db(postgres: PostgresServer) -> AsyncIterator[Database]:
    # A database per test: the schedule sees every pending reminder of the database.
    async with migrated_database(postgres) as database:
        yield database


def _now() -> datetime:
    return datetime.now(UTC)


@asynccontextmanager
async def _notifier(
    db: Database, *, listen: bool = True, poll_seconds: float = 3600
) -> AsyncIterator[ReminderScheduler]:
    """A running scheduler; with the default poll of an hour only NOTIFY can wake it."""
    scheduler = ReminderScheduler(db.sessions, poll_seconds=poll_seconds, batch_size=25)
    tasks = [asyncio.create_task(scheduler.run())]
    if listen:
        listener = Listener(db.url, REMINDERS_CHANNEL, scheduler.changed)
        tasks.append(asyncio.create_task(listener.run()))
        await asyncio.wait_for(listener.connected.wait(), DEADLINE_S)
    try:
        yield scheduler
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _create(db: Database, owner: uuid.UUID, **body: Any) -> Task:
    body.setdefault("title", "stand-up")
    async with db.sessions() as session, session.begin():
        return await commands.create_task(session, owner, TaskCreate.model_validate(body))


async def _count(db: Database, statement: Any) -> int:
    async with db.sessions() as session:
        return int(await session.scalar(statement) or 0)


def _sent(task_ids: list[uuid.UUID] | None = None) -> Any:
    statement = select(func.count()).select_from(Reminder).where(Reminder.sent_at.is_not(None))
    if task_ids is not None:
        statement = statement.where(Reminder.task_id.in_(task_ids))
    return statement


def _due_events() -> Any:
    return (
        select(func.count(func.distinct(OutboxEvent.payload[("data", "reminder_id")].as_string())))
        .select_from(OutboxEvent)
        .where(OutboxEvent.event_type == EventType.REMINDER_DUE.value)
    )


def _count_is(db: Database, statement: Any, expected: int) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return await _count(db, statement) == expected

    return check


async def test_a_new_reminder_fires_after_notify_without_waiting_for_the_poll(
    db: Database,
) -> None:
    owner = await db.new_user()
    async with _notifier(db) as scheduler:
        assert scheduler.next_due is None
        at = _now() + timedelta(seconds=1)
        task = await _create(db, owner, reminders=[{"at": at.isoformat()}])
        await eventually(lambda: scheduler.next_due == at, within=DEADLINE_S, what="scheduled")
        await eventually(
            _count_is(db, _sent([task.id]), 1),
            within=DEADLINE_S,
            what="the reminder sent",
        )
    async with db.sessions() as session:
        stored = await session.get(Task, task.id)
        assert stored is not None
        assert stored.reminder_sent is True


async def test_the_schedule_follows_moved_and_cancelled_reminders(db: Database) -> None:
    owner = await db.new_user()
    due = (_now() + timedelta(hours=1)).replace(microsecond=0)
    task = await _create(db, owner, due_date=due.isoformat(), reminders=[{"before": "PT10M"}])
    async with _notifier(db) as scheduler:
        await eventually(
            lambda: scheduler.next_due == due - timedelta(minutes=10),
            within=DEADLINE_S,
            what="the reminder in the schedule",
        )
        async with db.sessions() as session, session.begin():
            stored = await commands.get_task(session, owner, task.id)
            await commands.update_task(
                session, stored, TaskUpdate(due_date=due + timedelta(hours=1))
            )
        await eventually(
            lambda: scheduler.next_due == due + timedelta(minutes=50),
            within=DEADLINE_S,
            what="the reminder moved with the due date",
        )
        async with db.sessions() as session, session.begin():
            await commands.complete_task(session, owner, task.id)
        await eventually(
            lambda: scheduler.next_due is None, within=DEADLINE_S, what="the reminder cancelled"
        )


async def _many_due_soon(db: Database, tasks: int, per_task: int) -> list[uuid.UUID]:
    owner = await db.new_user()
    start = _now() + timedelta(seconds=1)
    created = []
    for number in range(tasks):
        reminders = [
            {"at": (start + timedelta(milliseconds=37 * (number * per_task + k))).isoformat()}
            for k in range(per_task)
        ]
        created.append((await _create(db, owner, reminders=reminders)).id)
    return created


async def test_two_replicas_fire_every_reminder_exactly_once(db: Database) -> None:
    # Each reminder once: 60 distinct reminder.due events and no more (both replicas claim).
    async with _notifier(db), _notifier(db):
        task_ids = await _many_due_soon(db, tasks=20, per_task=3)
        await eventually(
            _count_is(db, _sent(task_ids), 60),
            within=DEADLINE_S,
            what="60 reminders sent",
        )
    assert await _count(db, _due_events()) == 60
    assert (
        await _count(
            db,
            select(func.count())
            .select_from(OutboxEvent)
            .where(OutboxEvent.event_type == EventType.REMINDER_DUE.value),
        )
        == 60
    )
    assert await _count(db, select(func.count()).select_from(Task).where(Task.reminder_sent)) == 20


async def test_without_listen_the_poll_still_fires_reminders(db: Database) -> None:
    async with _notifier(db, listen=False, poll_seconds=0.2):
        task_ids = await _many_due_soon(db, tasks=2, per_task=2)
        await eventually(
            _count_is(db, _sent(task_ids), 4),
            within=DEADLINE_S,
            what="4 reminders sent by the poll",
        )


async def test_reminder_check_route_sweeps_once_even_when_called_concurrently(
    db: Database,
) -> None:
    settings = NotifierSettings(database_url=db.url, notifier_channels="log")
    parts = await build(WorkerContext("notifier", settings, db.sessions, WorkerMetrics()))
    owner = await db.new_user()
    past = _now() - timedelta(minutes=5)
    for _ in range(30):
        await _create(db, owner, reminders=[{"at": past.isoformat()}])

    app = Starlette(routes=list(parts.routes))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://notifier") as client:
        probe = await client.options("/reminder-check")
        assert probe.status_code == 405  # the Dapr cron binding's start-up probe: 2xx or 405
        first, second = await asyncio.gather(
            client.post("/reminder-check"), client.post("/reminder-check")
        )
        third = await client.post("/reminder-check")
    for hook in parts.on_stop:
        await hook()

    assert first.status_code == second.status_code == third.status_code == 200
    assert first.json()["sent"] + second.json()["sent"] == 30
    assert third.json() == {"sent": 0, "suppressed": 0}
    assert await _count(db, _due_events()) == 30
