"""Bad input gets a 422 problem naming the field, and nothing is written."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import Api

DUE = "2031-04-01T09:00:00Z"

CREATE_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("unknown frequency", {"due_date": DUE, "recurrence": {"freq": "hourly"}}, "recurrence"),
    (
        "zero interval",
        {"due_date": DUE, "recurrence": {"freq": "daily", "interval": 0}},
        "recurrence",
    ),
    (
        "weekdays on a daily rule",
        {"due_date": DUE, "recurrence": {"freq": "daily", "weekdays": [1]}},
        "recurrence",
    ),
    (
        "until and count together",
        {
            "due_date": DUE,
            "recurrence": {"freq": "daily", "count": 3, "until": "2032-01-01T00:00:00Z"},
        },
        "recurrence",
    ),
    ("unknown shorthand", {"due_date": DUE, "recurrence": "fortnightly"}, "recurrence"),
    ("recurrence without due date", {"recurrence": "daily"}, "recurrence"),
    (
        "until before the due date",
        {"due_date": DUE, "recurrence": {"freq": "daily", "until": "2031-03-01T00:00:00Z"}},
        "recurrence",
    ),
    ("time zone that does not exist", {"timezone": "Mars/Olympus_Mons"}, "timezone"),
    (
        "relative reminder without due date",
        {"reminders": [{"before": "PT1H"}]},
        "reminders[0].before",
    ),
    ("negative offset", {"due_date": DUE, "reminders": [{"before": "-PT1H"}]}, "reminders[0]"),
    (
        "reminder with both kinds",
        {"due_date": DUE, "reminders": [{"before": "PT1H", "at": DUE}]},
        "reminders[0]",
    ),
    ("too many reminders", {"due_date": DUE, "reminders": [{"before": "PT1M"}] * 11}, "reminders"),
    ("oversize title", {"title": "x" * 201}, "title"),
    ("blank title", {"title": "   "}, "title"),
    ("NUL in title", {"title": "a\x00b"}, "title"),
    ("unknown field", {"colour": "red"}, "colour"),
    ("unknown priority", {"priority": "urgent"}, "priority"),
    ("naive due date", {"due_date": "2031-04-01T09:00:00"}, "due_date"),
    ("due date out of range", {"due_date": "9999-12-31T23:59:59Z"}, "due_date"),
    ("bad tag", {"tags": ["no spaces allowed"]}, "tags"),
    ("too many tags", {"tags": [f"t{i}" for i in range(21)]}, "tags"),
]


@pytest.mark.parametrize(("case", "body", "field"), CREATE_CASES, ids=[c[0] for c in CREATE_CASES])
async def test_invalid_create_is_422_naming_the_field(
    api: Api, user: dict[str, str], case: str, body: dict[str, Any], field: str
) -> None:
    before = await api.counts()
    response = await api.client.post("/tasks", json={"title": "t", **body}, headers=user)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 422
    assert problem["errors"][0]["field"] == field, problem
    assert field in problem["detail"]
    assert await api.counts() == before


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b'{"title": "unterminated', "application/json"),
        (b"[1, 2]", "application/json"),
        (b"title=x", "application/x-www-form-urlencoded"),
    ],
)
async def test_malformed_body_is_422(
    api: Api, user: dict[str, str], content: bytes, content_type: str
) -> None:
    before = await api.counts()
    response = await api.client.post(
        "/tasks", content=content, headers={**user, "Content-Type": content_type}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body"
    assert await api.counts() == before


PATCH_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("null title", {"title": None}, "title"),
    ("null priority", {"priority": None}, "priority"),
    ("clearing the due date under relative reminders", {"due_date": None}, "due_date"),
    ("bad time zone", {"timezone": "Europe/Atlantis"}, "timezone"),
    ("bad recurrence", {"recurrence": {"freq": "monthly", "month_day": 32}}, "recurrence"),
    ("unknown field", {"owner_id": "someone else"}, "owner_id"),
]


@pytest.mark.parametrize(("case", "body", "field"), PATCH_CASES, ids=[c[0] for c in PATCH_CASES])
async def test_invalid_patch_is_422_and_changes_nothing(
    api: Api, user: dict[str, str], case: str, body: dict[str, Any], field: str
) -> None:
    task = await api.create_task(
        user, title="keep me", due_date=DUE, reminders=[{"before": "PT1H"}]
    )
    before = await api.counts()
    response = await api.client.patch(f"/tasks/{task['id']}", json=body, headers=user)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == field
    assert await api.counts() == before
    unchanged = (await api.client.get(f"/tasks/{task['id']}", headers=user)).json()
    assert unchanged == task


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("due_before=2031-01-01T00:00:00", "due_before"),
        ("due_after=yesterday", "due_after"),
        ("sort=colour", "sort"),
        ("order=sideways", "order"),
        ("limit=0", "limit"),
        ("cursor=bm90LWEtY3Vyc29y", "cursor"),
        ("priority=urgent", "priority"),
    ],
)
async def test_invalid_list_query_is_422(
    api: Api, user: dict[str, str], query: str, field: str
) -> None:
    response = await api.client.get(f"/tasks?{query}", headers=user)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == field


async def test_cursor_from_another_sort_is_rejected(api: Api, user: dict[str, str]) -> None:
    for i in range(3):
        await api.create_task(user, title=f"t{i}")
    page = (await api.client.get("/tasks?limit=1&sort=title", headers=user)).json()
    response = await api.client.get(
        f"/tasks?limit=1&sort=created_at&cursor={page['next_cursor']}", headers=user
    )
    assert response.status_code == 422
    assert "sort" in response.json()["detail"]


async def test_malformed_task_id_is_422(api: Api, user: dict[str, str]) -> None:
    response = await api.client.get("/tasks/not-a-uuid", headers=user)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "task_id"


@pytest.mark.parametrize("raw", [b"\xef\xbf\xbd!\xff", b"s\xd8\x9b\xff\x19"], ids=["ff", "split"])
async def test_a_body_that_is_not_utf8_is_a_422_naming_the_body(
    api: Api, user: dict[str, str], raw: bytes
) -> None:
    task = await api.create_task(user)
    before = await api.counts()
    json_headers = {**user, "content-type": "application/json"}
    for method, path in (
        ("POST", "/auth/register"),
        ("POST", "/tasks"),
        ("PATCH", f"/tasks/{task['id']}"),
    ):
        response = await api.client.request(method, path, content=raw, headers=json_headers)
        assert response.status_code == 422, (path, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["errors"] == [
            {
                "field": "body",
                "message": "could not be read: send UTF-8 JSON (or the documented form)",
            }
        ]
    assert await api.counts() == before
