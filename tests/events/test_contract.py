"""The event contract: committed schemas match the models, every producer's output validates,
every consumer accepts every committed example."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from sqlalchemy import select

from app.api.schemas import ReminderIn, TaskCreate, TaskUpdate
from app.core.db.event_models import AuditLog
from app.core.db.models import OutboxEvent, User
from app.core.events.contract import TOPIC_OF, EventType
from app.core.events.schema_files import EXAMPLE_DIR, NOTICE_SCHEMA, SCHEMA_DIR, stale_files
from app.tasks import commands
from services.audit.worker import WORKER as AUDIT
from services.common import ConsumerSpec, Worker, WorkerContext, WorkerMetrics, decode_event
from services.notifier.worker import WORKER as NOTIFIER
from services.recurring.worker import WORKER as RECURRING
from services.relay.notices import task_update_notice
from tests.services.workers_support import Database, sqlite_database


def validator(name: str) -> Draft202012Validator:
    schema = json.loads((SCHEMA_DIR / name).read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=FormatChecker())


def assert_valid(document: dict[str, Any]) -> None:
    errors = [
        f"{'/'.join(map(str, error.path))}: {error.message}"
        for error in validator(f"{document['type']}.schema.json").iter_errors(document)
    ]
    assert errors == [], document["type"]


def examples() -> dict[EventType, dict[str, Any]]:
    return {t: json.loads((EXAMPLE_DIR / f"{t.value}.json").read_text()) for t in EventType}


def test_the_committed_files_are_what_the_models_generate() -> None:
    assert stale_files() == [], "run: uv run python -m app.core.events.schema_files"


@pytest.mark.parametrize("event_type", list(EventType), ids=str)
def test_each_example_validates_against_its_schema(event_type: EventType) -> None:
    assert_valid(examples()[event_type])


@pytest.mark.parametrize("event_type", list(EventType), ids=str)
def test_the_schema_refuses_what_consumers_refuse(event_type: EventType) -> None:
    example = examples()[event_type]
    schema = validator(f"{event_type.value}.schema.json")
    for broken in (
        {**example, "schemaversion": "2"},
        {**example, "type": "task.exploded"},
        {**example, "data": {**example["data"], "unexpected": 1}},
        {key: value for key, value in example.items() if key != "subject"},
    ):
        assert not schema.is_valid(broken)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    async with sqlite_database(tmp_path / "local.db") as database:
        yield database


async def test_what_the_api_emits_validates(db: Database) -> None:
    owner = uuid.uuid4()
    due = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    async with db.sessions() as session, session.begin():
        session.add(User(id=owner, email=f"{owner.hex}@example.com", password_hash="-"))
    async with db.sessions() as session, session.begin():
        task = await commands.create_task(
            session,
            owner,
            TaskCreate(
                title="Contract",
                due_date=due,
                timezone="Europe/Berlin",
                recurrence="weekly",
                reminders=[ReminderIn(before=timedelta(hours=1)), ReminderIn(at=due)],
            ),
            traceparent="00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        )
    async with db.sessions() as session, session.begin():
        task = await commands.get_task(session, owner, task.id)
        await commands.update_task(session, task, TaskUpdate(title="Renamed", tags=["a"]))
    async with db.sessions() as session, session.begin():
        await commands.complete_task(session, owner, task.id)
    async with db.sessions() as session, session.begin():
        await commands.delete_task(session, await commands.get_task(session, owner, task.id))

    async with db.sessions() as session:
        payloads = [row.payload for row in await session.scalars(select(OutboxEvent))]
    emitted = {payload["type"] for payload in payloads}
    assert {"task.created", "task.updated", "task.completed", "task.deleted"} <= emitted
    assert "reminder.scheduled" in emitted
    for payload in payloads:
        assert_valid(payload)
        assert decode_event(json.dumps(payload).encode()).type.value == payload["type"]
        notice = task_update_notice(TOPIC_OF[EventType(payload["type"])].name, payload)
        if payload["type"].startswith("task."):
            assert notice is not None
            assert validator(NOTICE_SCHEMA).is_valid(json.loads(notice.value))


async def consumer_specs(db: Database) -> list[ConsumerSpec]:
    """Every consumer the services run, built the way their processes build them."""
    specs: list[ConsumerSpec] = []
    workers: tuple[Worker[Any], ...] = (AUDIT, RECURRING, NOTIFIER)
    for worker in workers:
        context = WorkerContext(worker.name, worker.settings_type(), db.sessions, WorkerMetrics())
        parts = await worker.build(context)
        specs.extend(parts.consumers)
        for hook in parts.on_stop:
            await hook()
    return specs


async def test_every_consumer_accepts_every_example_it_reads(db: Database) -> None:
    specs = await consumer_specs(db)
    assert {spec.group for spec in specs} == {"audit", "recurring", "notifier-delivery"}
    for spec in specs:
        readable = [t for t in EventType if TOPIC_OF[t].name in spec.topics]
        handled = spec.event_types if spec.event_types is not None else frozenset(readable)
        assert handled <= set(readable), f"{spec.group} handles types its topics never carry"
        for event_type in readable:
            event = decode_event(json.dumps(examples()[event_type]).encode())
            assert spec.wants(event) == (event_type in handled)


async def test_the_audit_consumer_records_every_example_of_task_events(db: Database) -> None:
    (spec,) = [s for s in await consumer_specs(db) if s.group == "audit"]
    readable = [t for t in EventType if TOPIC_OF[t].name in spec.topics]
    for event_type in readable:
        async with db.sessions() as session, session.begin():
            await spec.handler(decode_event(json.dumps(examples()[event_type]).encode()), session)
    async with db.sessions() as session:
        recorded = [row.event_type for row in await session.scalars(select(AuditLog))]
    assert sorted(recorded) == sorted(t.value for t in readable)
