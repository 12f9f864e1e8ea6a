"""Every task endpoint's happy path, concurrency controls and the events each change records."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from app.core.db.models import Task
from app.core.events.contract import CloudEvent
from app.tasks.occurrences import create_next_occurrence
from tests.api.conftest import Api


def _iso(moment: datetime) -> str:
    return moment.isoformat()


async def test_create_get_and_its_event(api: Api, user: dict[str, str]) -> None:
    due = datetime(2031, 3, 1, 9, 0, tzinfo=UTC)
    created = await api.create_task(
        user,
        title="  File taxes  ",
        description="with receipts",
        priority="high",
        tags=["Home", "money", "home"],
        due_date=_iso(due),
        timezone="Europe/Berlin",
        reminders=[{"before": "PT1H"}, {"at": "2031-02-28T12:00:00Z"}],
    )
    assert created["title"] == "File taxes"
    assert created["tags"] == ["home", "money"]
    assert created["priority"] == "high"
    assert created["version"] == 1
    assert [r["remind_at"] for r in created["reminders"]] == [
        "2031-02-28T12:00:00Z",
        "2031-03-01T08:00:00Z",
    ]

    fetched = await api.client.get(f"/tasks/{created['id']}", headers=user)
    assert fetched.status_code == 200
    assert fetched.headers["ETag"] == '"1"'
    assert fetched.json() == created

    events = await api.events_for(created["id"])
    assert [e.event_type for e in events] == ["task.created", "reminder.scheduled"]
    envelope = CloudEvent.model_validate(events[0].payload)
    assert envelope.subject == created["id"]
    assert envelope.schemaversion == "1"
    assert envelope.data["title"] == "File taxes"
    assert events[0].topic == "task-events"
    assert events[0].key == created["id"]
    assert len({e.event_id for e in events}) == 2


async def test_patch_changes_fields_bumps_version_and_records_update(
    api: Api, user: dict[str, str]
) -> None:
    task = await api.create_task(user, title="draft")
    response = await api.client.patch(
        f"/tasks/{task['id']}",
        json={"title": "final", "priority": "low", "tags": ["work"]},
        headers={**user, "If-Match": '"1"'},
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["title"], body["priority"], body["tags"], body["version"]) == (
        "final",
        "low",
        ["work"],
        2,
    )
    assert response.headers["ETag"] == '"2"'
    assert [e.event_type for e in await api.events_for(task["id"])] == [
        "task.created",
        "task.updated",
    ]


async def test_patch_with_stale_if_match_is_412_and_changes_nothing(
    api: Api, user: dict[str, str]
) -> None:
    task = await api.create_task(user, title="v1")
    await api.client.patch(f"/tasks/{task['id']}", json={"title": "v2"}, headers=user)
    before = await api.counts()
    stale = await api.client.patch(
        f"/tasks/{task['id']}", json={"title": "lost update"}, headers={**user, "If-Match": '"1"'}
    )
    assert stale.status_code == 412
    assert stale.json()["current_version"] == 2
    assert await api.counts() == before
    current = await api.client.get(f"/tasks/{task['id']}", headers=user)
    assert current.json()["title"] == "v2"


async def test_moving_the_due_date_moves_relative_reminders_only(
    api: Api, user: dict[str, str]
) -> None:
    task = await api.create_task(
        user,
        title="call",
        due_date="2031-05-10T10:00:00Z",
        reminders=[{"before": "PT30M"}, {"at": "2031-05-01T08:00:00Z"}],
    )
    moved = await api.client.patch(
        f"/tasks/{task['id']}", json={"due_date": "2031-05-12T15:00:00Z"}, headers=user
    )
    assert moved.status_code == 200
    assert sorted(r["remind_at"] for r in moved.json()["reminders"]) == [
        "2031-05-01T08:00:00Z",
        "2031-05-12T14:30:00Z",
    ]
    types = [e.event_type for e in await api.events_for(task["id"])]
    assert types == ["task.created", "reminder.scheduled", "task.updated", "reminder.scheduled"]


async def test_delete_removes_and_records_deleted(api: Api, user: dict[str, str]) -> None:
    task = await api.create_task(
        user, title="gone soon", reminders=[{"at": "2031-01-01T00:00:00Z"}]
    )
    deleted = await api.client.delete(f"/tasks/{task['id']}", headers=user)
    assert deleted.status_code == 204
    assert (await api.client.get(f"/tasks/{task['id']}", headers=user)).status_code == 404
    types = [e.event_type for e in await api.events_for(task["id"])]
    assert types[-1] == "task.deleted"
    assert (await api.client.delete(f"/tasks/{task['id']}", headers=user)).status_code == 404


async def test_complete_is_idempotent_and_emits_one_event(api: Api, user: dict[str, str]) -> None:
    task = await api.create_task(
        user, title="once", due_date="2031-01-01T09:00:00Z", reminders=[{"before": "PT1H"}]
    )
    first = await api.client.post(f"/tasks/{task['id']}/complete", headers=user)
    retry = await api.client.post(f"/tasks/{task['id']}/complete", headers=user)
    assert first.status_code == retry.status_code == 200
    assert first.json()["completed"] is True
    assert first.json() == retry.json()
    # Completing cancels the pending reminder.
    assert first.json()["reminders"][0]["cancelled_at"] is not None
    completed = [e for e in await api.events_for(task["id"]) if e.event_type == "task.completed"]
    assert len(completed) == 1
    assert completed[0].payload["data"]["completed"] is True


async def test_concurrent_completions_emit_exactly_one_event(
    api: Api, user: dict[str, str]
) -> None:
    task = await api.create_task(user, title="raced")
    responses = await asyncio.gather(
        *(api.client.post(f"/tasks/{task['id']}/complete", headers=user) for _ in range(8))
    )
    assert {r.status_code for r in responses} == {200}
    completed = [e for e in await api.events_for(task["id"]) if e.event_type == "task.completed"]
    assert len(completed) == 1


async def test_idempotency_key_replays_the_first_response(api: Api, user: dict[str, str]) -> None:
    key = {"Idempotency-Key": uuid.uuid4().hex}
    before = await api.counts()
    first = await api.client.post("/tasks", json={"title": "pay rent"}, headers={**user, **key})
    retry = await api.client.post("/tasks", json={"title": "pay rent"}, headers={**user, **key})
    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert await api.counts() == (before[0] + 1, before[1] + 1)

    reused = await api.client.post("/tasks", json={"title": "other"}, headers={**user, **key})
    assert reused.status_code == 422
    assert reused.json()["errors"][0]["field"] == "Idempotency-Key"
    # The same key from another user is that user's own key.
    other = await api.new_user()
    theirs = await api.client.post("/tasks", json={"title": "pay rent"}, headers={**other, **key})
    assert theirs.status_code == 201
    assert theirs.json()["id"] != first.json()["id"]


async def test_recurring_task_and_its_occurrences(api: Api, user: dict[str, str]) -> None:
    task = await api.create_task(
        user,
        title="standup",
        due_date="2031-03-03T08:00:00Z",  # a Monday, 09:00 in Berlin (CET)
        timezone="Europe/Berlin",
        recurrence={"freq": "weekly", "weekdays": [0, 3]},
    )
    assert task["series_id"] is not None
    assert task["occurrence_index"] == 0
    assert task["recurrence_text"]
    response = await api.client.get(f"/tasks/{task['id']}/occurrences?limit=4", headers=user)
    assert response.status_code == 200
    body = response.json()
    assert [o["due_date"] for o in body["occurrences"]] == [
        "2031-03-03T08:00:00Z",
        "2031-03-06T08:00:00Z",
        "2031-03-10T08:00:00Z",
        "2031-03-13T08:00:00Z",
    ]
    assert body["occurrences"][0]["task_id"] == task["id"]
    assert body["occurrences"][1]["task_id"] is None
    # 09:00 Berlin stays 09:00 across the switch to summer time (2031-03-30): 07:00 UTC.
    later = await api.client.get(f"/tasks/{task['id']}/occurrences?limit=10", headers=user)
    assert later.json()["occurrences"][-1]["due_date"] == "2031-04-03T07:00:00Z"

    plain = await api.create_task(user, title="no series")
    missing = await api.client.get(f"/tasks/{plain['id']}/occurrences", headers=user)
    assert missing.status_code == 404


async def test_occurrences_start_at_the_task_and_link_the_tasks_created_so_far(
    api: Api, user: dict[str, str]
) -> None:
    first = await api.create_task(
        user, title="gym", due_date="2031-05-05T17:00:00Z", recurrence={"freq": "daily"}
    )
    await api.client.post(f"/tasks/{first['id']}/complete", headers=user)
    async with api.sessions() as session, session.begin():  # what the recurring service does
        completed = await session.get(Task, uuid.UUID(first["id"]))
        assert completed is not None
        second = (await create_next_occurrence(session, completed)).task
        assert second is not None

    def listing(body: dict[str, Any]) -> list[tuple[int, str, str | None, bool | None]]:
        return [
            (o["index"], o["due_date"][:10], o["task_id"], o["completed"])
            for o in body["occurrences"]
        ]

    from_first = await api.client.get(f"/tasks/{first['id']}/occurrences?limit=3", headers=user)
    assert listing(from_first.json()) == [
        (0, "2031-05-05", first["id"], True),
        (1, "2031-05-06", str(second.id), False),
        (2, "2031-05-07", None, None),
    ]
    from_second = await api.client.get(f"/tasks/{second.id}/occurrences?limit=2", headers=user)
    assert listing(from_second.json()) == [
        (1, "2031-05-06", str(second.id), False),
        (2, "2031-05-07", None, None),
    ]


async def test_shorthand_recurrence_is_accepted(api: Api, user: dict[str, str]) -> None:
    task = await api.create_task(
        user, title="water plants", due_date="2031-01-31T18:00:00Z", recurrence="monthly"
    )
    assert task["recurrence"]["freq"] == "monthly"
    occurrences = (
        await api.client.get(f"/tasks/{task['id']}/occurrences?limit=3", headers=user)
    ).json()["occurrences"]
    # The 31st clamps to the end of February and returns to the 31st in March.
    assert [o["due_date"][:10] for o in occurrences] == ["2031-01-31", "2031-02-28", "2031-03-31"]


async def test_list_filters(api: Api) -> None:
    user = await api.new_user()
    now = datetime.now(UTC)
    overdue = await api.create_task(
        user, title="Overdue report", due_date=_iso(now - timedelta(days=1)), tags=["work"]
    )
    soon = await api.create_task(
        user,
        title="Buy milk",
        due_date=_iso(now + timedelta(days=1)),
        priority="high",
        tags=["home"],
        description="2% fat",
    )
    later = await api.create_task(user, title="Plan trip", due_date=_iso(now + timedelta(days=30)))
    undated = await api.create_task(user, title="Someday", priority="low")
    await api.client.post(f"/tasks/{later['id']}/complete", headers=user)

    async def ids(query: str) -> list[str]:
        response = await api.client.get(f"/tasks?{query}", headers=user)
        assert response.status_code == 200, response.text
        return [t["id"] for t in response.json()["items"]]

    assert await ids("completed=true") == [later["id"]]
    assert await ids("completed=false") == [overdue["id"], soon["id"], undated["id"]]
    assert await ids("priority=high") == [soon["id"]]
    assert await ids("overdue=true") == [overdue["id"]]
    assert await ids("tag=WORK") == [overdue["id"]]
    assert await ids("q=MILK") == [soon["id"]]
    assert await ids("q=2%25") == [soon["id"]]  # LIKE wildcards are matched literally
    before = (now + timedelta(days=2)).isoformat().replace("+00:00", "Z")
    assert await ids(f"due_before={before}") == [overdue["id"], soon["id"]]
    after = now.isoformat().replace("+00:00", "Z")
    assert await ids(f"due_after={after}&sort=due_date") == [soon["id"], later["id"]]


async def test_sorting_and_cursor_pagination_visit_every_task_once(api: Api) -> None:
    user = await api.new_user()
    base = datetime(2031, 6, 1, tzinfo=UTC)
    created = []
    for i in range(11):
        due = None if i % 4 == 0 else _iso(base + timedelta(hours=i % 3))  # ties and nulls
        created.append(
            await api.create_task(
                user,
                title=f"task {i % 5}",
                priority=("high", "medium", "low")[i % 3],
                **({"due_date": due} if due else {}),
            )
        )
    for sort in ("due_date", "priority", "title", "created_at"):
        for order in ("asc", "desc"):
            seen: list[dict[str, Any]] = []
            cursor = None
            for _ in range(10):
                query = f"sort={sort}&order={order}&limit=3" + (
                    f"&cursor={cursor}" if cursor else ""
                )
                page = (await api.client.get(f"/tasks?{query}", headers=user)).json()
                seen.extend(page["items"])
                cursor = page["next_cursor"]
                if cursor is None:
                    break
            assert sorted(t["id"] for t in seen) == sorted(t["id"] for t in created), (sort, order)
            values = [t[sort] for t in seen]
            present = [v for v in values if v is not None]
            if sort == "priority":
                present = [("high", "medium", "low").index(v) for v in present]
            assert present == sorted(present, reverse=order == "desc"), (sort, order)
            assert values[len(present) :] == [None] * (len(values) - len(present))  # nulls last


async def test_list_items_are_the_tasks_as_get_returns_them(api: Api) -> None:
    """The list reads plain rows, not ORM entities (app/tasks/records.py): each item must still
    be the task exactly as GET /tasks/{id} returns it, reminders (relative and absolute, in
    time order) and rule included, on every page."""
    user, other = await api.new_user(), await api.new_user()
    await api.create_task(other, title="not mine", reminders=[{"at": "2031-01-01T00:00:00Z"}])
    due = "2031-03-01T09:00:00Z"
    created = [
        await api.create_task(user, title="plain"),
        await api.create_task(
            user,
            title="reminded",
            due_date=due,
            reminders=[{"before": "PT1H"}, {"at": "2031-02-28T12:00:00Z"}],
        ),
        await api.create_task(user, title="weekly", due_date=due, recurrence="weekly"),
        await api.create_task(user, title="one reminder", reminders=[{"at": due}]),
        await api.create_task(user, title="tagged", tags=["b", "a"], description="d"),
    ]
    listed: list[dict[str, Any]] = []
    cursor = ""
    for _ in range(3):
        page = (await api.client.get(f"/tasks?limit=2{cursor}", headers=user)).json()
        listed.extend(page["items"])
        if page["next_cursor"] is None:
            break
        cursor = f"&cursor={page['next_cursor']}"
    fetched = [
        (await api.client.get(f"/tasks/{task['id']}", headers=user)).json() for task in created
    ]
    assert listed == fetched
    assert [len(t["reminders"]) for t in listed] == [0, 2, 0, 1, 0]
    assert [r["before"] for r in listed[1]["reminders"]] == [None, "PT1H"]
    assert listed[2]["recurrence_text"] == "weekly"


async def test_page_size_is_capped(api: Api) -> None:
    user = await api.new_user()
    for i in range(3):
        await api.create_task(user, title=f"t{i}")
    response = await api.client.get("/tasks?limit=100000", headers=user)
    assert response.status_code == 200
    assert len(response.json()["items"]) == 3
    assert api.settings.max_page_size == 100


async def test_another_users_task_is_404_and_never_leaks(api: Api) -> None:
    owner, intruder = await api.new_user(), await api.new_user()
    task = await api.create_task(
        owner, title="private", due_date="2031-01-01T00:00:00Z", recurrence="daily"
    )
    before = await api.counts()
    path = f"/tasks/{task['id']}"
    for method, url, body in (
        ("GET", path, None),
        ("PATCH", path, {"title": "hijacked"}),
        ("DELETE", path, None),
        ("POST", f"{path}/complete", None),
        ("GET", f"{path}/occurrences", None),
    ):
        response = await api.client.request(method, url, json=body, headers=intruder)
        assert response.status_code == 404, (method, url)
        assert "private" not in response.text
    listed = await api.client.get("/tasks", headers=intruder)
    assert listed.json()["items"] == []
    assert await api.counts() == before
    assert (await api.client.get(path, headers=owner)).json()["title"] == "private"


async def test_health_ready_and_metrics(api: Api, user: dict[str, str]) -> None:
    assert (await api.client.get("/healthz")).json() == {"status": "ok"}
    assert (await api.client.get("/readyz")).json() == {"status": "ready"}
    task = await api.create_task(user, title="metered")
    await api.client.get(f"/tasks/{task['id']}", headers=user)
    metrics = (await api.client.get("/metrics")).text
    assert 'http_requests_total{method="GET",route="/tasks/{task_id}",status="200"}' in metrics
    assert task["id"] not in metrics  # route templates, never raw paths


async def test_a_series_rule_changed_twice(api: Api, user: dict[str, str]) -> None:
    """Each new rule starts a new series the task then points at; the series row must be
    written first (found through the chat's "move standup to 10am" and its undo)."""
    task = await api.create_task(
        user, due_date="2031-03-03T09:00:00Z", timezone="Europe/Berlin", recurrence="daily"
    )
    series = {task["series_id"]}
    for due, rule in (("2031-03-03T10:00:00Z", "weekly"), ("2031-03-03T09:00:00Z", "daily")):
        response = await api.client.patch(
            f"/tasks/{task['id']}", json={"due_date": due, "recurrence": rule}, headers=user
        )
        assert response.status_code == 200, response.text
        assert response.json()["recurrence"]["freq"] == rule
        series.add(response.json()["series_id"])
    assert len(series) == 3
