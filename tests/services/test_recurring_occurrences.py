"""The next occurrence of a series: created once, with the right due date and reminders.

The handler and the sweep against the real PostgreSQL (and SQLite, the local run's database,
for the dialect-specific INSERT ... ON CONFLICT), without Kafka: the event is the outbox row
the API wrote, handed to the handler the way the consumer runtime does.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from app.api.schemas import TaskCreate, TaskUpdate
from app.core.db.models import OutboxEvent, Reminder, Task, TaskRecurrence
from app.core.events.contract import CloudEvent, EventType
from app.tasks import commands
from app.tasks.occurrences import SOURCE_RECURRING
from devtools.postgres import PostgresServer
from services.recurring.occurrences import on_completed, repair_series
from tests.services.workers_support import (
    TRACEPARENT,
    Database,
    handling,
    migrated_database,
    sqlite_database,
)

DUE = datetime(2031, 3, 1, 8, 0, tzinfo=UTC)  # 09:00 in Berlin (CET)


@pytest.fixture(
    scope="module", params=[pytest.param("postgres", marks=pytest.mark.postgres), "sqlite"]
)
async def db(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Database]:
    if request.param == "postgres":
        server: PostgresServer = request.getfixturevalue("postgres")
        async with migrated_database(server) as database:
            yield database
        return
    async with sqlite_database(tmp_path_factory.mktemp("recurring") / "local.db") as database:
        yield database


async def _create(db: Database, owner: uuid.UUID, **body: Any) -> Task:
    body.setdefault("title", "water the plants")
    async with db.sessions() as session, session.begin():
        return await commands.create_task(session, owner, TaskCreate.model_validate(body))


async def _complete(db: Database, task: Task) -> CloudEvent:
    """Complete ``task`` as the API does; the task.completed event it recorded."""
    async with db.sessions() as session, session.begin():
        await commands.complete_task(session, task.owner_id, task.id, traceparent=TRACEPARENT)
    async with db.sessions() as session:
        row = await session.scalar(
            select(OutboxEvent).where(
                OutboxEvent.key == str(task.id),
                OutboxEvent.event_type == EventType.TASK_COMPLETED.value,
            )
        )
    assert row is not None
    return CloudEvent.model_validate(row.payload)


async def _deliver(db: Database, event: CloudEvent) -> None:
    async with db.sessions() as session, session.begin():
        with handling(event):
            await on_completed(event, session)


async def _series_tasks(db: Database, series_id: uuid.UUID) -> list[Task]:
    async with db.sessions() as session:
        rows = await session.scalars(
            select(Task).where(Task.series_id == series_id).order_by(Task.occurrence_index)
        )
        return list(rows)


async def _events(db: Database, task_id: uuid.UUID) -> list[OutboxEvent]:
    async with db.sessions() as session:
        rows = await session.scalars(
            select(OutboxEvent).where(OutboxEvent.key == str(task_id)).order_by(OutboxEvent.id)
        )
        return list(rows)


async def test_daily_completion_creates_the_next_day_with_shifted_reminders(db: Database) -> None:
    owner = await db.new_user()
    first = await _create(
        db,
        owner,
        due_date=DUE.isoformat(),
        timezone="Europe/Berlin",
        recurrence="daily",
        tags=["home"],
        priority="high",
        reminders=[{"before": "PT1H"}, {"at": "2031-02-28T12:00:00Z"}],
    )
    event = await _complete(db, first)

    await _deliver(db, event)

    tasks = await _series_tasks(db, first.series_id)  # type: ignore[arg-type]
    assert [(t.occurrence_index, t.completed) for t in tasks] == [(0, True), (1, False)]
    following = tasks[1]
    assert following.due_date == datetime(2031, 3, 2, 8, 0, tzinfo=UTC)
    assert (following.title, following.priority, following.tags) == (
        "water the plants",
        "high",
        ["home"],
    )
    assert following.timezone == "Europe/Berlin"
    assert following.recurrence == first.recurrence
    reminders = sorted((r.remind_at, r.offset_seconds) for r in following.reminders)
    assert reminders == [
        (datetime(2031, 3, 1, 12, 0, tzinfo=UTC), None),  # absolute: moved by one day
        (datetime(2031, 3, 2, 7, 0, tzinfo=UTC), 3600),  # relative: one hour before
    ]
    assert all(r.sent_at is None and r.cancelled_at is None for r in following.reminders)

    events = await _events(db, following.id)
    assert [e.event_type for e in events] == ["task.created", "reminder.scheduled"]
    created = CloudEvent.model_validate(events[0].payload)
    assert created.source == SOURCE_RECURRING
    assert created.traceparent == event.traceparent == TRACEPARENT  # the completion's trace
    assert created.data["occurrence_index"] == 1
    async with db.sessions() as session:
        series = await session.get(TaskRecurrence, first.series_id)
    assert series is not None
    assert series.next_due_date == following.due_date


async def test_a_redelivered_or_concurrent_completion_creates_one_occurrence(db: Database) -> None:
    owner = await db.new_user()
    first = await _create(db, owner, due_date=DUE.isoformat(), recurrence="weekly")
    event = await _complete(db, first)

    # Twice in sequence, then three at once (SQLite serialises writers; PostgreSQL makes the
    # later inserts wait on the first one's unique key and then do nothing).
    await _deliver(db, event)
    await _deliver(db, event)
    if db.url.startswith("postgresql"):
        await asyncio.gather(*(_deliver(db, event) for _ in range(3)))

    tasks = await _series_tasks(db, first.series_id)  # type: ignore[arg-type]
    assert [t.occurrence_index for t in tasks] == [0, 1]
    assert tasks[1].due_date == DUE + timedelta(weeks=1)
    assert [e.event_type for e in await _events(db, tasks[1].id)] == ["task.created"]


async def test_monthly_on_the_31st_lands_on_the_last_day_of_february(db: Database) -> None:
    owner = await db.new_user()
    first = await _create(
        db, owner, due_date="2031-01-31T17:00:00Z", recurrence="monthly", timezone="UTC"
    )
    await _deliver(db, await _complete(db, first))
    tasks = await _series_tasks(db, first.series_id)  # type: ignore[arg-type]
    assert [t.due_date for t in tasks] == [
        datetime(2031, 1, 31, 17, 0, tzinfo=UTC),
        datetime(2031, 2, 28, 17, 0, tzinfo=UTC),
    ]


async def test_the_last_occurrence_ends_the_series(db: Database) -> None:
    owner = await db.new_user()
    first = await _create(
        db, owner, due_date=DUE.isoformat(), recurrence={"freq": "daily", "count": 2}
    )
    await _deliver(db, await _complete(db, first))
    second = (await _series_tasks(db, first.series_id))[1]  # type: ignore[arg-type]
    await _deliver(db, await _complete(db, second))

    assert len(await _series_tasks(db, first.series_id)) == 2  # type: ignore[arg-type]
    async with db.sessions() as session:
        series = await session.get(TaskRecurrence, first.series_id)
    assert series is not None
    assert (series.active, series.next_due_date) == (False, None)


async def test_no_occurrence_once_the_recurrence_was_removed(db: Database) -> None:
    owner = await db.new_user()
    first = await _create(db, owner, due_date=DUE.isoformat(), recurrence="daily")
    async with db.sessions() as session, session.begin():
        task = await commands.get_task(session, owner, first.id)
        await commands.update_task(session, task, TaskUpdate(recurrence=None))
    await _deliver(db, await _complete(db, first))
    assert len(await _series_tasks(db, first.series_id)) == 1  # type: ignore[arg-type]


async def test_a_deleted_completed_task_still_gets_its_successor_from_the_event(
    db: Database,
) -> None:
    owner = await db.new_user()
    first = await _create(db, owner, due_date=DUE.isoformat(), recurrence="daily")
    event = await _complete(db, first)
    async with db.sessions() as session, session.begin():
        await commands.delete_task(session, await commands.get_task(session, owner, first.id))

    await _deliver(db, event)

    tasks = await _series_tasks(db, first.series_id)  # type: ignore[arg-type]
    assert [(t.occurrence_index, t.due_date) for t in tasks] == [(1, DUE + timedelta(days=1))]


async def test_the_sweep_repairs_a_series_whose_event_was_lost_exactly_once(db: Database) -> None:
    owner = await db.new_user()
    first = await _create(
        db, owner, due_date=DUE.isoformat(), recurrence="daily", reminders=[{"before": "PT5M"}]
    )
    event = await _complete(db, first)  # ... and the event never reaches the consumer

    recent = await repair_series(db.sessions, grace=timedelta(hours=1), batch_size=10)
    assert recent.created == 0  # too recent: the consumer's to handle
    sweeps = [repair_series(db.sessions, grace=timedelta(0), batch_size=10) for _ in range(2)]
    results = await asyncio.gather(*sweeps)
    again = await repair_series(db.sessions, grace=timedelta(0), batch_size=10)
    await _deliver(db, event)  # late after all: changes nothing

    assert sum(result.created for result in results) == 1
    assert (again.created, again.failed) == (0, 0)
    tasks = await _series_tasks(db, first.series_id)  # type: ignore[arg-type]
    assert [t.occurrence_index for t in tasks] == [0, 1]
    assert [r.remind_at for r in tasks[1].reminders] == [
        DUE + timedelta(days=1) - timedelta(minutes=5)
    ]
    async with db.sessions() as session:
        reminders = await session.scalar(
            select(func.count()).select_from(Reminder).where(Reminder.task_id == tasks[1].id)
        )
    assert reminders == 1
