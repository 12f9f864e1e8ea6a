"""Recurring tasks end to end: the real API, relay, Kafka and ``python -m services.recurring``.

Every assertion counts: exactly one next occurrence per completion, checked once the
``recurring`` group has consumed everything on ``task-events`` (so a late duplicate would show).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from app.core.db.models import OutboxEvent, Task
from app.core.events.contract import CloudEvent, EventType
from app.core.events.topics import TASK_EVENTS
from devtools.process import ComponentError
from devtools.testkit.events_support import (
    ServiceProcess,
    encode,
    produce,
)
from devtools.testkit.workers_stack import Stack
from devtools.testkit.workers_support import eventually
from services.recurring.worker import GROUP

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]

DEADLINE_S = 60.0


@pytest.fixture
async def recurring(stack: Stack) -> AsyncIterator[ServiceProcess]:
    worker = stack.service("recurring", {"RECURRING_SWEEP_SECONDS": "0"})
    await worker.start()
    try:
        yield worker
    finally:
        worker.stop()


async def _series(stack: Stack, series_id: str) -> list[tuple[int | None, datetime | None]]:
    async with stack.db.sessions() as session:
        rows = await session.execute(
            select(Task.occurrence_index, Task.due_date)
            .where(Task.series_id == uuid.UUID(series_id))
            .order_by(Task.occurrence_index)
        )
        return [(index, due) for index, due in rows]


async def test_daily_weekly_monthly_completions_each_create_exactly_one_next_occurrence(
    stack: Stack, recurring: ServiceProcess
) -> None:
    user = await stack.new_user()
    cases = {
        # 09:00 Berlin is 08:00 UTC in winter and 07:00 UTC once summer time starts (Mar 30).
        "daily": ("2031-03-29T08:00:00Z", "Europe/Berlin", datetime(2031, 3, 30, 7, tzinfo=UTC)),
        "weekly": ("2031-03-04T17:30:00Z", "UTC", datetime(2031, 3, 11, 17, 30, tzinfo=UTC)),
        "monthly": ("2031-01-31T12:00:00Z", "UTC", datetime(2031, 2, 28, 12, tzinfo=UTC)),
    }
    tasks = {}
    for freq, (due, zone, _expected) in cases.items():
        task = await stack.create_task(
            user, title=f"{freq} chore", due_date=due, timezone=zone, recurrence=freq
        )
        await stack.complete(user, task["id"])
        tasks[freq] = task

    async def every_series_has_two() -> bool:
        lengths = [len(await _series(stack, t["series_id"])) for t in tasks.values()]
        return lengths == [2, 2, 2]

    await eventually(every_series_has_two, within=DEADLINE_S, what="3 next occurrences")
    await stack.wait_consumed(GROUP, TASK_EVENTS.name, DEADLINE_S)

    for freq, (_due, _zone, expected) in cases.items():
        series = await _series(stack, tasks[freq]["series_id"])
        assert series[1] == (1, expected), freq
    assert await recurring.metric("todo_tasks_total", event="created") == 3


async def test_duplicate_task_completed_events_create_one_occurrence(
    stack: Stack, recurring: ServiceProcess
) -> None:
    user = await stack.new_user()
    task = await stack.create_task(
        user, due_date="2031-05-01T09:00:00Z", recurrence="daily", title="dupes"
    )
    await stack.complete(user, task["id"])
    await eventually(
        lambda: _has_length(stack, task["series_id"], 2),
        within=DEADLINE_S,
        what="the next occurrence",
    )
    async with stack.db.sessions() as session:
        row = await session.scalar(
            select(OutboxEvent).where(
                OutboxEvent.key == task["id"],
                OutboxEvent.event_type == EventType.TASK_COMPLETED.value,
            )
        )
    assert row is not None
    completed = CloudEvent.model_validate(row.payload)
    # The same event redelivered twice, and the same completion under a new event id.
    again = completed.model_copy(update={"id": uuid.uuid4()})
    records = [(task["id"], encode(completed)), (task["id"], encode(completed))]
    await produce(stack.bootstrap, TASK_EVENTS.name, [*records, (task["id"], encode(again))])
    await stack.wait_consumed(GROUP, TASK_EVENTS.name, DEADLINE_S)

    assert await _series(stack, task["series_id"]) == [
        (0, datetime(2031, 5, 1, 9, tzinfo=UTC)),
        (1, datetime(2031, 5, 2, 9, tzinfo=UTC)),
    ]
    # Four deliveries handled (the original, the same event twice, the new id), one task made.
    handled = await recurring.metric(
        "todo_events_processed_total", group=GROUP, type="task.completed"
    )
    assert handled == 4
    assert await recurring.metric("todo_tasks_total", event="created") == 1


async def _has_length(stack: Stack, series_id: str, length: int) -> bool:
    return len(await _series(stack, series_id)) == length


async def test_kill_9_mid_stream_then_restart_creates_exactly_one_occurrence_each(
    stack: Stack,
) -> None:
    user = await stack.new_user()
    total = 50
    series_ids = []
    for number in range(total):
        task = await stack.create_task(
            user, title=f"k{number}", due_date="2031-06-01T06:00:00Z", recurrence="weekly"
        )
        series_ids.append(uuid.UUID(task["series_id"]))
        await stack.complete(user, task["id"])
    await stack.wait_published()

    async def created() -> int:
        async with stack.db.sessions() as session:
            count = await session.scalar(
                select(func.count())
                .select_from(Task)
                .where(Task.series_id.in_(series_ids), Task.occurrence_index == 1)
            )
        return int(count or 0)

    # One event per batch and transaction, so the kill lands between commits.
    env = {"RECURRING_SWEEP_SECONDS": "0", "CONSUMER_BATCH_SIZE": "1"}
    first = stack.service("recurring", env)
    # Not waiting for /readyz: the kill must land while the backlog is being worked off.
    starting = asyncio.create_task(first.start())
    await eventually(lambda: _at_least(created, 1), within=DEADLINE_S, what="a first occurrence")
    first.kill()
    starting.cancel()
    with contextlib.suppress(asyncio.CancelledError, ComponentError):
        await starting
    at_kill = await created()
    assert at_kill < total, "the worker finished before the kill: the test proved nothing"

    second = stack.service("recurring", env)
    await second.start()
    try:
        await eventually(
            lambda: _at_least(created, total), within=DEADLINE_S, what=f"{total} occurrences"
        )
        await stack.wait_consumed(GROUP, TASK_EVENTS.name, DEADLINE_S)
    finally:
        second.stop()

    assert await created() == total
    async with stack.db.sessions() as session:
        per_series = await session.execute(
            select(Task.series_id, func.count())
            .where(Task.series_id.in_(series_ids))
            .group_by(Task.series_id)
        )
        assert sorted(count for _series_id, count in per_series) == [2] * total


async def _at_least(count: Callable[[], Awaitable[int]], wanted: int) -> bool:
    return await count() >= wanted
