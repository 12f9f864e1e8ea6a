"""Edits that used to fail or grow without bound (issue 10: 10.1, 10.5), on both databases.

- Adding a recurrence to an existing task, or changing its rule, answered 500: the task row was
  updated to point at a series row not inserted yet (a foreign-key violation).
- Replacing the reminders of a task whose reminders had fired kept every sent one, so each edit
  added rows past the limit of 10.
- The occurrences of a task deep in a long series were found by walking the series from its
  first occurrence, on the event loop.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from app.core.db.models import Reminder, Task, TaskRecurrence
from app.domain.recurrence import Occurrence, occurrences_from
from app.domain.reminders import MAX_REMINDERS
from app.tasks import schedule
from tests.api.conftest import Api


async def _series(api: Api, series_id: str) -> TaskRecurrence:
    async with api.sessions() as session:
        series = await session.get(TaskRecurrence, uuid.UUID(series_id))
        assert series is not None
        return series


async def test_adding_a_recurrence_to_an_existing_task_starts_its_series(
    api: Api, user: dict[str, str]
) -> None:
    task = await api.create_task(user, title="water", due_date="2031-06-02T07:00:00Z")
    assert task["series_id"] is None
    response = await api.client.patch(
        f"/tasks/{task['id']}", headers=user, json={"recurrence": {"freq": "weekly"}}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["occurrence_index"], body["recurrence"]["freq"], body["version"]) == (
        0,
        "weekly",
        2,
    )
    series = await _series(api, body["series_id"])
    assert (series.active, series.series_start) == (True, datetime(2031, 6, 2, 7, tzinfo=UTC))
    occurrences = await api.client.get(f"/tasks/{task['id']}/occurrences?limit=2", headers=user)
    assert [o["due_date"] for o in occurrences.json()["occurrences"]] == [
        "2031-06-02T07:00:00Z",
        "2031-06-09T07:00:00Z",
    ]
    updated = [e for e in await api.events_for(task["id"]) if e.event_type == "task.updated"]
    assert len(updated) == 1
    assert updated[0].payload["data"]["series_id"] == body["series_id"]


async def test_changing_the_rule_starts_a_new_series_and_ends_the_old_one(
    api: Api, user: dict[str, str]
) -> None:
    task = await api.create_task(
        user, title="run", due_date="2031-06-02T07:00:00Z", recurrence="daily"
    )
    response = await api.client.patch(
        f"/tasks/{task['id']}",
        headers=user,
        json={"recurrence": {"freq": "weekly", "interval": 2}, "title": "run far"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["series_id"] != task["series_id"]
    assert (body["recurrence_text"], body["title"], body["version"]) == (
        "every 2 weeks",
        "run far",
        2,
    )
    assert (await _series(api, task["series_id"])).active is False
    assert (await _series(api, body["series_id"])).active is True


async def test_changing_the_rule_of_a_completed_occurrence_is_refused(
    api: Api, user: dict[str, str]
) -> None:
    task = await api.create_task(
        user, title="done", due_date="2031-06-02T07:00:00Z", recurrence="daily"
    )
    await api.client.post(f"/tasks/{task['id']}/complete", headers=user)
    before = await api.counts()
    for rule in ({"freq": "weekly"}, None):
        response = await api.client.patch(
            f"/tasks/{task['id']}", headers=user, json={"recurrence": rule}
        )
        assert response.status_code == 422, response.text
        assert response.json()["errors"] == [
            {
                "field": "recurrence",
                "message": "this occurrence is completed; change the rule on the open occurrence",
            }
        ]
    assert await api.counts() == before
    assert (await _series(api, task["series_id"])).active is True


async def test_repeated_reminder_edits_keep_at_most_the_limit(
    api: Api, user: dict[str, str]
) -> None:
    ten = [{"before": f"PT{minutes}M"} for minutes in range(1, MAX_REMINDERS + 1)]
    task = await api.create_task(user, title="meds", due_date="2031-06-02T07:00:00Z", reminders=ten)
    task_id = uuid.UUID(task["id"])
    for edit in range(3):
        # Every reminder fires (what the notifier records), then the user sets ten new ones.
        async with api.sessions() as session, session.begin():
            await session.execute(
                update(Reminder)
                .where(Reminder.task_id == task_id, Reminder.pending())
                .values(sent_at=datetime(2031, 6, 1, tzinfo=UTC) + timedelta(hours=edit))
            )
        response = await api.client.patch(
            f"/tasks/{task['id']}", headers=user, json={"reminders": ten}
        )
        assert response.status_code == 200, response.text
        reminders = response.json()["reminders"]
        assert len(reminders) == MAX_REMINDERS
        assert sum(r["sent_at"] is None for r in reminders) == MAX_REMINDERS
    async with api.sessions() as session:
        stored = await session.scalar(
            select(func.count()).select_from(Reminder).where(Reminder.task_id == task_id)
        )
    assert stored == MAX_REMINDERS

    # Fewer new reminders leave room for the newest sent ones, kept as history.
    async with api.sessions() as session, session.begin():
        await session.execute(
            update(Reminder)
            .where(Reminder.task_id == task_id, Reminder.pending())
            .values(sent_at=datetime(2031, 6, 2, tzinfo=UTC))
        )
    response = await api.client.patch(
        f"/tasks/{task['id']}", headers=user, json={"reminders": ten[:4]}
    )
    reminders = response.json()["reminders"]
    assert len(reminders) == MAX_REMINDERS
    assert sum(r["sent_at"] == "2031-06-02T00:00:00Z" for r in reminders) == 6


async def test_occurrences_deep_in_a_long_series_start_at_the_task(
    api: Api, user: dict[str, str]
) -> None:
    # A daily series 100,000 occurrences long (its start moved back, as if it had run since
    # 1970), listed from a task at occurrence 99,990: only the ten from there are computed.
    task = await api.create_task(
        user, title="log", due_date="2031-06-02T09:00:00Z", recurrence="daily"
    )
    start = datetime(1970, 1, 2, 9, tzinfo=UTC)
    deep = 99_990
    async with api.sessions() as session, session.begin():
        await session.execute(
            update(TaskRecurrence)
            .where(TaskRecurrence.id == uuid.UUID(task["series_id"]))
            .values(series_start=start)
        )
        await session.execute(
            update(Task)
            .where(Task.id == uuid.UUID(task["id"]))
            .values(occurrence_index=deep, due_date=start + timedelta(days=deep))
        )
    response = await api.client.get(f"/tasks/{task['id']}/occurrences?limit=12", headers=user)
    assert response.status_code == 200, response.text
    listed = response.json()["occurrences"]
    assert [o["index"] for o in listed] == list(range(deep, deep + 12))
    assert listed[0]["due_date"] == "2243-10-08T09:00:00Z"  # 1970-01-02 + 99,990 days
    assert listed[11]["due_date"] == "2243-10-19T09:00:00Z"
    assert (listed[0]["task_id"], listed[1]["task_id"]) == (task["id"], None)
    too_many = await api.client.get(f"/tasks/{task['id']}/occurrences?limit=101", headers=user)
    assert too_many.status_code == 422


async def test_the_schedule_is_computed_off_the_event_loop(
    api: Api, user: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A rule whose matches rrule must search far for would otherwise hold every request (and
    # /healthz) of the process for as long as the search takes.
    computed_on: list[int] = []

    def recording(*args: Any) -> Iterator[Occurrence]:
        computed_on.append(threading.get_ident())
        return occurrences_from(*args)

    monkeypatch.setattr(schedule, "occurrences_from", recording)
    task = await api.create_task(
        user, title="walk", due_date="2031-06-02T09:00:00Z", recurrence="daily"
    )
    response = await api.client.get(f"/tasks/{task['id']}/occurrences?limit=3", headers=user)
    assert [o["index"] for o in response.json()["occurrences"]] == [0, 1, 2]
    assert len(computed_on) == 1
    assert computed_on[0] != threading.get_ident()  # this test runs on the event loop's thread
