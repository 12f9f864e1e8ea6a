"""The outbox takes only what the process catalogue declares: an event's ``source`` names its
process, and that process must declare the event's topic in ``records`` (on the local run's
SQLite, the database the outbox code sees first)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from app.core.db.models import OutboxEvent
from app.core.events import outbox
from app.core.events.contract import CloudEvent, EventType
from app.core.processes import NOTIFIER, RECURRING, UndeclaredTopic
from devtools.testkit.events_support import task_event
from devtools.testkit.workers_support import Database, reminder_due_event, sqlite_database


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    async with sqlite_database(tmp_path / "outbox.db") as database:
        yield database


async def _outbox_rows(db: Database) -> list[tuple[str, str]]:
    async with db.sessions() as session:
        rows = await session.execute(
            select(OutboxEvent.topic, OutboxEvent.event_type).order_by(OutboxEvent.id)
        )
        return [(topic, event_type) for topic, event_type in rows]


def _from(event: CloudEvent, source: str) -> CloudEvent:
    return event.model_copy(update={"source": source})


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (
            NOTIFIER.source,
            "process 'notifier' may not write task-events: its 'records' in "
            "app/core/processes.py declares reminders",
        ),
        ("/todo-platform/audit", "process 'audit' may not write task-events: its 'records'"),
        ("/somebody/else", "no process of the catalogue has the event source '/somebody/else'"),
    ],
)
async def test_an_event_its_process_does_not_record_is_refused_with_its_batch(
    db: Database, source: str, message: str
) -> None:
    stray = _from(task_event(EventType.TASK_UPDATED, task_id=uuid.uuid4(), version=2), source)
    with pytest.raises(LookupError) as refused:  # UndeclaredTopic is a LookupError
        async with db.sessions() as session, session.begin():
            await outbox.record_many(session, [task_event(), stray])
    assert message in str(refused.value)
    assert await _outbox_rows(db) == []


async def test_each_process_records_the_topics_it_declares(db: Database) -> None:
    events = [
        task_event(),  # the API's
        _from(task_event(), RECURRING.source),
        _from(reminder_due_event(uuid.uuid4()), NOTIFIER.source),
    ]
    async with db.sessions() as session, session.begin():
        await outbox.record_many(session, events)
    assert await _outbox_rows(db) == [
        ("task-events", "task.created"),
        ("task-events", "task.created"),
        ("reminders", "reminder.due"),
    ]
    with pytest.raises(UndeclaredTopic):
        async with db.sessions() as session, session.begin():
            await outbox.record(session, _from(reminder_due_event(uuid.uuid4()), RECURRING.source))
    assert len(await _outbox_rows(db)) == 3
