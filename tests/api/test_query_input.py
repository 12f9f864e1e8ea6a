"""Tampered and extreme query input: a 422 naming the parameter, never a 5xx; nothing written.

The edge cases found by hand are pinned on both backends; hypothesis then throws arbitrary
strings at every query parameter of the list, occurrences and history endpoints, and arbitrary
bytes and JSON at the cursor codec.
"""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote_from_bytes

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.tasks.cursors import decode_cursor, encode_cursor, sort_value
from app.tasks.errors import InvalidTaskInput
from tests.api.conftest import Api

SORTS = ("due_date", "priority", "title", "created_at")
TASK_ID = str(uuid.uuid4())


def _cursor(payload: Any) -> str:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


EDGE_CASES = [
    ({"due_before": "9999-12-31T23:59:59-14:00"}, "due_before"),  # year 10000 in UTC
    ({"due_after": "0001-01-01T00:00:00+14:00"}, "due_after"),  # year 0 in UTC
    ({"due_before": "2031-01-01T00:00:00"}, "due_before"),  # no offset
    ({"due_before": "123"}, "due_before"),  # a number: pydantic alone reads a Unix time
    ({"due_after": "-1.5"}, "due_after"),
    ({"sort": "priority", "cursor": _cursor(["priority", "asc", True, TASK_ID])}, "cursor"),
    ({"sort": "priority", "cursor": _cursor(["priority", "asc", 10**30, TASK_ID])}, "cursor"),
    ({"sort": "priority", "cursor": _cursor(["priority", "asc", 1e308, TASK_ID])}, "cursor"),
    ({"cursor": _cursor(b"[" * 5000 + b"]" * 5000)}, "cursor"),  # deep nesting
    ({"cursor": _cursor(b"[" * 700 + b"]" * 700)}, "cursor"),  # deep but short
    ({"sort": "title", "cursor": _cursor(["title", "asc", "a\x00b", TASK_ID])}, "cursor"),
    (
        {
            "sort": "title",
            "cursor": _cursor(b'["title", "asc", "\\ud800", "%s"]' % TASK_ID.encode()),
        },
        "cursor",
    ),
    (
        {
            "sort": "due_date",
            "cursor": _cursor(["due_date", "asc", "0001-01-01T00:00:00+05:00", TASK_ID]),
        },
        "cursor",
    ),
    ({"cursor": _cursor(["created_at", "asc", "9999-12-31T23:59:59-05:00", TASK_ID])}, "cursor"),
    ({"cursor": _cursor(["created_at", "asc", "2030-01-01T00:00:00Z", True])}, "cursor"),
    ({"cursor": _cursor({"created_at": "asc"})}, "cursor"),
    ({"cursor": _cursor(b'["priority","asc",NaN,"x"]')}, "cursor"),
    ({"q": "a\x00b"}, "q"),
    ({"tag": "work\x00"}, "tag"),
]


@pytest.mark.parametrize(("params", "field"), EDGE_CASES)
async def test_edge_input_is_a_422_naming_the_parameter_and_writes_nothing(
    api: Api, user: dict[str, str], params: dict[str, str], field: str
) -> None:
    before = await api.counts()
    response = await api.client.get("/tasks", params=params, headers=user)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == field
    assert await api.counts() == before


async def test_the_far_ends_of_the_date_range_are_valid_filters(
    api: Api, user: dict[str, str]
) -> None:
    task = await api.create_task(user, due_date="2031-01-01T09:00:00Z")
    for params in (
        {"due_before": "9999-12-31T23:59:59Z"},
        {"due_after": "0001-01-01T00:00:00Z"},
        {"due_before": "9999-12-31T23:59:59Z", "due_after": "0001-01-01T00:00:00Z"},
    ):
        response = await api.client.get("/tasks", params=params, headers=user)
        assert response.status_code == 200, response.text
        assert [item["id"] for item in response.json()["items"]] == [task["id"]]


# --- the cursor codec, directly -------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(), children),
    max_leaves=20,
)


def _decodes_or_is_a_422(cursor: str, sort: str) -> None:
    """Decodes, or is refused as the task service's invalid ``cursor`` (the API's 422)."""
    refused: InvalidTaskInput | None = None
    try:
        decode_cursor(cursor, sort, "asc")  # type: ignore[arg-type]
    except InvalidTaskInput as caught:
        refused = caught
    assert refused is None or refused.field == "cursor"


@settings(max_examples=300, deadline=None)
@given(raw=st.binary(max_size=300), sort=st.sampled_from(SORTS))
def test_any_bytes_decode_or_are_refused_with_a_422(raw: bytes, sort: str) -> None:
    _decodes_or_is_a_422(_cursor(raw), sort)


@settings(max_examples=300, deadline=None)
@given(
    sort=st.sampled_from(SORTS),
    value=JSON | st.datetimes(timezones=st.timezones()).map(datetime.isoformat),
    task_id=st.uuids().map(str) | JSON,
)
def test_any_json_in_the_cursor_shape_decodes_or_is_refused(
    sort: str, value: Any, task_id: Any
) -> None:
    _decodes_or_is_a_422(_cursor([sort, "asc", value, task_id]), sort)


@settings(max_examples=200, deadline=None)
@given(
    sort=st.sampled_from(SORTS),
    due=st.none() | st.datetimes(timezones=st.just(UTC)),
    priority=st.sampled_from(("high", "medium", "low")),
    title=st.text(min_size=1, max_size=200).filter(lambda t: "\x00" not in t),
    created=st.datetimes(timezones=st.just(UTC)),
    task_id=st.uuids(),
)
def test_every_cursor_the_api_makes_decodes_to_what_it_encoded(
    sort: str,
    due: datetime | None,
    priority: str,
    title: str,
    created: datetime,
    task_id: uuid.UUID,
) -> None:
    try:
        title.encode("utf-8")
    except UnicodeEncodeError:
        return  # not a title the API stores (the body validator refuses it)
    value = sort_value(sort, due, priority, title, created)  # type: ignore[arg-type]
    cursor = encode_cursor(sort, "desc", value, task_id)  # type: ignore[arg-type]
    decoded_value, decoded_id = decode_cursor(cursor, sort, "desc")  # type: ignore[arg-type]
    assert decoded_id == task_id
    expected = {
        "due_date": due,
        "priority": ("high", "medium", "low").index(priority),
        "title": title,
        "created_at": created,
    }[sort]
    assert decoded_value == expected


# --- every query parameter, through HTTP ----------------------------------------------------

QUERY_PARAMETERS = {
    "/tasks": [
        "completed",
        "priority",
        "due_before",
        "due_after",
        "overdue",
        "tag",
        "q",
        "sort",
        "order",
        "limit",
        "cursor",
    ],
    "/tasks/{id}/occurrences": ["limit"],
    "/tasks/{id}/history": ["limit", "after"],
}


async def test_any_string_in_any_query_parameter_is_a_page_or_a_422(
    api: Api, user: dict[str, str]
) -> None:
    task = await api.create_task(
        user, due_date="2031-01-01T09:00:00Z", recurrence="weekly", tags=["work"]
    )
    before = await api.counts()
    seen: dict[int, int] = {}

    @settings(
        max_examples=60,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    @given(data=st.data())
    def one(data: st.DataObject) -> None:
        path = data.draw(st.sampled_from(sorted(QUERY_PARAMETERS)))
        name = data.draw(st.sampled_from(QUERY_PARAMETERS[path]))
        value = data.draw(
            st.text(max_size=60).map(lambda text: text.encode("utf-8", "surrogatepass"))
            | st.from_regex(rb"\A[0-9:+TZ.-]{0,40}\Z")
            | st.binary(max_size=40)
        )
        target = path.replace("{id}", task["id"])
        requests.append(f"{target}?{name}={quote_from_bytes(value)}")

    requests: list[str] = []
    one()
    for url in requests:
        response = await api.client.get(url, headers=user)
        assert response.status_code in (200, 422), (url, response.text)
        if response.status_code == 422:
            assert response.headers["content-type"] == "application/problem+json"
        seen[response.status_code] = seen.get(response.status_code, 0) + 1
    assert await api.counts() == before
    assert sum(seen.values()) == len(requests) >= 60
