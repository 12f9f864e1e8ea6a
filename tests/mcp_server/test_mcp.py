"""The MCP server through the SDK's own client, over both transports: streamable HTTP mounted
in the running API process, and stdio (`python -m app.mcp_server` as a subprocess), on the
session's PostgreSQL.

Every tool's happy path; bad arguments are a tool error naming the field and write nothing;
another user's task is invisible; a revoked token is refused; a read-only token cannot write;
a user holds at most 50 live tokens and lists only their own.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.shared.exceptions import MCPError
from mcp_types import CallToolResult, TextContent

from devtools.api_server import ApiServer
from devtools.postgres import PostgresServer

pytestmark = pytest.mark.postgres

TOOLS = {
    "add_task",
    "list_tasks",
    "update_task",
    "complete_task",
    "delete_task",
    "task_occurrences",
    "task_history",
}


@pytest.fixture(scope="module")
def api_server(postgres: PostgresServer) -> Iterator[ApiServer]:
    with ApiServer(postgres.url(postgres.create_database())) as server:
        yield server


class Account:
    def __init__(self, api: ApiServer) -> None:
        self.api = api
        self.http = httpx.Client(base_url=api.url, timeout=30)
        email, password = f"mcp-{uuid.uuid4().hex[:8]}@example.com", secrets.token_urlsafe(12)
        assert self.http.post("/auth/register", json={"email": email, "password": password})
        token = self.http.post("/auth/token", data={"username": email, "password": password})
        self.headers = {"Authorization": f"Bearer {token.json()['access_token']}"}

    def new_token(self, scopes: list[str] | None = None) -> tuple[str, str]:
        body: dict[str, Any] = {"name": "desktop assistant"}
        if scopes is not None:
            body["scopes"] = scopes
        made = self.http.post("/me/tokens", json=body, headers=self.headers)
        assert made.status_code == 201, made.text
        return made.json()["id"], made.json()["token"]

    def tasks(self) -> list[dict[str, Any]]:
        listed = self.http.get("/tasks", headers=self.headers)
        assert listed.status_code == 200, listed.text
        return listed.json()["items"]


@asynccontextmanager
async def over_http(api: ApiServer, token: str) -> AsyncIterator[Client]:
    http_client = create_mcp_http_client(headers={"Authorization": f"Bearer {token}"})
    async with (
        http_client,
        Client(streamable_http_client(f"{api.url}/mcp", http_client=http_client)) as client,
    ):
        yield client


@asynccontextmanager
async def over_stdio(api: ApiServer, token: str) -> AsyncIterator[Client]:
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "app.mcp_server"],
        env={
            "PATH": os.environ.get("PATH", ""),
            "DATABASE_URL": api.database_url,
            "TODO_MCP_TOKEN": token,
        },
    )
    async with Client(params) as client:
        yield client


CONNECTIONS = {"http": over_http, "stdio": over_stdio}


def payload(result: CallToolResult) -> Any:
    assert not result.is_error, result.content
    [content] = result.content
    assert isinstance(content, TextContent)
    return json.loads(content.text)


def error_text(result: CallToolResult) -> str:
    """The tool error's message, without the SDK's "Error executing tool NAME: " prefix."""
    assert result.is_error
    text = " ".join(c.text for c in result.content if isinstance(c, TextContent))
    return re.sub(r"^Error executing tool \w+: ", "", text)


@pytest.mark.parametrize("transport", ["http", "stdio"])
async def test_every_tool_over_the_transport(api_server: ApiServer, transport: str) -> None:
    account = Account(api_server)
    _, token = account.new_token()
    async with CONNECTIONS[transport](api_server, token) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        assert set(tools) == TOOLS
        assert "title" in json.dumps(tools["add_task"].input_schema)

        added = payload(
            await client.call_tool(
                "add_task",
                {
                    "task": {
                        "title": "Water the plants",
                        "tags": ["home"],
                        "due_date": "2031-03-03T09:00:00+01:00",
                        "timezone": "Europe/Berlin",
                        "recurrence": "daily",
                        "reminders": [{"before": "PT15M"}],
                    }
                },
            )
        )
        assert (added["title"], added["recurrence_text"], added["tags"]) == (
            "Water the plants",
            "daily",
            ["home"],
        )
        task_id = added["id"]
        assert [t["id"] for t in account.tasks()] == [task_id]

        listed = payload(await client.call_tool("list_tasks", {"tag": "home"}))
        assert [t["id"] for t in listed["tasks"]] == [task_id]
        nothing = payload(await client.call_tool("list_tasks", {"text": "nothing such"}))
        assert nothing == {"tasks": []}

        changed = payload(
            await client.call_tool(
                "update_task", {"task_id": task_id, "changes": {"priority": "high"}}
            )
        )
        assert (changed["priority"], changed["version"]) == ("high", 2)

        upcoming = payload(
            await client.call_tool("task_occurrences", {"task_id": task_id, "limit": 3})
        )
        assert [o["due_date"] for o in upcoming["occurrences"]] == [
            "2031-03-03T08:00:00Z",
            "2031-03-04T08:00:00Z",
            "2031-03-05T08:00:00Z",
        ]
        history = payload(await client.call_tool("task_history", {"task_id": task_id}))
        assert history["task_id"] == task_id  # entries arrive once the audit service runs

        [open_list] = (await client.read_resource("tasks://open")).contents
        assert [t["id"] for t in json.loads(open_list.text)] == [task_id]  # type: ignore[union-attr]

        done = payload(await client.call_tool("complete_task", {"task_id": task_id}))
        assert done["completed"] is True

        resource = await client.read_resource(f"task://{task_id}")
        [contents] = resource.contents
        assert json.loads(contents.text)["completed"] is True  # type: ignore[union-attr]

        gone = payload(await client.call_tool("delete_task", {"task_id": task_id}))
        assert gone == {"deleted": task_id}
        assert account.tasks() == []


@pytest.mark.parametrize("transport", ["http", "stdio"])
async def test_bad_arguments_name_the_field_and_write_nothing(
    api_server: ApiServer, transport: str
) -> None:
    account = Account(api_server)
    _, token = account.new_token()
    async with CONNECTIONS[transport](api_server, token) as client:
        no_title = await client.call_tool("add_task", {"task": {"title": ""}})
        assert "task.title" in error_text(no_title)
        bad_rule = await client.call_tool(
            "add_task",
            {"task": {"title": "x", "recurrence": {"freq": "daily", "interval": 0}}},
        )
        assert "interval" in error_text(bad_rule)
        needs_due = await client.call_tool(
            "add_task", {"task": {"title": "x", "recurrence": "daily"}}
        )
        assert error_text(needs_due) == (
            "recurrence: a recurring task needs a due_date to start its series"
        )
        bad_id = await client.call_tool("complete_task", {"task_id": "not-a-uuid"})
        assert "task_id" in error_text(bad_id)
    assert account.tasks() == []


@pytest.mark.parametrize("transport", ["http", "stdio"])
async def test_another_users_task_is_invisible(api_server: ApiServer, transport: str) -> None:
    owner, intruder = Account(api_server), Account(api_server)
    theirs = owner.http.post("/tasks", json={"title": "private"}, headers=owner.headers).json()[
        "id"
    ]
    _, token = intruder.new_token()
    async with CONNECTIONS[transport](api_server, token) as client:
        assert payload(await client.call_tool("list_tasks", {})) == {"tasks": []}
        for tool in ("complete_task", "delete_task", "task_history"):
            refused = await client.call_tool(tool, {"task_id": theirs})
            assert error_text(refused) == "no such task", tool
        changed = await client.call_tool(
            "update_task", {"task_id": theirs, "changes": {"title": "mine now"}}
        )
        assert error_text(changed) == "no such task"
    [task] = owner.tasks()
    assert (task["title"], task["version"], task["completed"]) == ("private", 1, False)


@pytest.mark.parametrize("transport", ["http", "stdio"])
async def test_a_revoked_token_is_refused(api_server: ApiServer, transport: str) -> None:
    account = Account(api_server)
    token_id, token = account.new_token()
    async with CONNECTIONS[transport](api_server, token) as client:
        assert payload(await client.call_tool("list_tasks", {})) == {"tasks": []}
        revoked = account.http.delete(f"/me/tokens/{token_id}", headers=account.headers)
        assert revoked.status_code == 204
        if transport == "stdio":
            refused = await client.call_tool("add_task", {"task": {"title": "late"}})
            assert error_text(refused) == "the access token is unknown or revoked"
    if transport == "http":
        async with httpx.AsyncClient() as raw:
            response = await raw.post(
                f"{api_server.url}/mcp",
                json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            )
        assert response.status_code == 401
    assert account.tasks() == []


async def test_scopes_bound_what_a_token_may_do(api_server: ApiServer) -> None:
    account = Account(api_server)
    _, reader = account.new_token(["tasks:read"])
    async with over_http(api_server, reader) as client:
        assert payload(await client.call_tool("list_tasks", {})) == {"tasks": []}
        refused = await client.call_tool("add_task", {"task": {"title": "x"}})
        assert error_text(refused) == "this access token lacks the tasks:write scope"
    assert account.tasks() == []
    _, writer = account.new_token(["tasks:write"])
    async with over_http(api_server, writer) as client:
        added = payload(await client.call_tool("add_task", {"task": {"title": "blind"}}))
        refused = await client.call_tool("list_tasks", {})
        assert error_text(refused) == "this access token lacks the tasks:read scope"
        with pytest.raises(MCPError, match="lacks the tasks:read scope"):
            await client.read_resource(f"task://{added['id']}")
    assert [t["title"] for t in account.tasks()] == ["blind"]


def test_tokens_are_hashed_at_rest_listed_and_scoped(api_server: ApiServer) -> None:
    account = Account(api_server)
    token_id, token = account.new_token(["tasks:read"])
    assert token.startswith("todo_pat_")
    listed = account.http.get("/me/tokens", headers=account.headers).json()
    assert [(t["id"], t["scopes"], t["revoked_at"]) for t in listed] == [
        (token_id, ["tasks:read"], None)
    ]
    assert token not in json.dumps(listed)
    other = Account(api_server)
    refused = other.http.delete(f"/me/tokens/{token_id}", headers=other.headers)
    assert refused.status_code == 404
    bad = account.http.post(
        "/me/tokens", json={"name": "x", "scopes": ["admin"]}, headers=account.headers
    )
    assert bad.status_code == 422
    no_auth = httpx.post(f"{api_server.url}/mcp", json={})
    assert no_auth.status_code == 401


def test_a_user_holds_at_most_fifty_live_tokens_and_sees_only_their_own(
    api_server: ApiServer,
) -> None:
    account, other = Account(api_server), Account(api_server)
    other_id, _ = other.new_token()
    ids = [account.new_token()[0] for _ in range(50)]
    refused = account.http.post("/me/tokens", json={"name": "one more"}, headers=account.headers)
    assert refused.status_code == 409
    assert refused.json()["detail"] == "at most 50 tokens; revoke one first"
    # The other user's token neither counts against this user nor shows in their list.
    listed = account.http.get("/me/tokens", headers=account.headers).json()
    assert [t["id"] for t in listed] == ids
    assert other_id not in {t["id"] for t in listed}
    # A revoked token stays listed (as revoked) but no longer counts.
    assert account.http.delete(f"/me/tokens/{ids[0]}", headers=account.headers).status_code == 204
    made_id, _ = account.new_token()
    listed = account.http.get("/me/tokens", headers=account.headers).json()
    assert [t["id"] for t in listed] == [*ids, made_id]
    assert [t["id"] for t in listed if t["revoked_at"] is not None] == [ids[0]]
    assert [t["id"] for t in other.http.get("/me/tokens", headers=other.headers).json()] == [
        other_id
    ]


def test_only_the_mcp_path_is_the_mcp_apps(api_server: ApiServer) -> None:
    """The MCP app is one route: other unknown paths keep the API's problem+json 404."""
    response = httpx.get(f"{api_server.url}/no-such-path")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
