"""Property-based fuzzing of the running API from its own OpenAPI schema (schemathesis).

Every operation gets generated requests, valid and invalid, as an authenticated user against
the real server on real PostgreSQL. No response may be a server error, and every response must
match what the schema documents: status code, content type and body.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app.main import create_app
from devtools.api_server import ApiServer
from devtools.postgres import PostgresServer
from tests.api.conftest import api_settings

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def api_server(postgres: PostgresServer) -> Iterator[ApiServer]:
    with ApiServer(postgres.url(postgres.create_database())) as server:
        yield server


@pytest.fixture(scope="module")
def auth_headers(api_server: ApiServer) -> dict[str, str]:
    email, password = f"fuzz-{uuid.uuid4().hex[:8]}@example.com", secrets.token_urlsafe(12)
    with httpx.Client(base_url=api_server.url) as client:
        client.post("/auth/register", json={"email": email, "password": password})
        token = client.post("/auth/token", data={"username": email, "password": password})
        task = client.post(
            "/tasks",
            json={"title": "seed", "due_date": "2031-01-01T09:00:00Z", "recurrence": "weekly"},
            headers={"Authorization": f"Bearer {token.json()['access_token']}"},
        )
        assert task.status_code == 201
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


def _operations() -> list[schemathesis.APIOperation]:
    # The schema comes from the app itself at collection time; requests go to the live server.
    app = create_app(api_settings("sqlite+aiosqlite:///:memory:"))
    schema = schemathesis.openapi.from_dict(app.openapi())
    return [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]


OPERATIONS = _operations()


@pytest.mark.parametrize("operation", OPERATIONS, ids=[op.label for op in OPERATIONS])
def test_no_server_error_and_no_schema_violation(
    operation: schemathesis.APIOperation, api_server: ApiServer, auth_headers: dict[str, str]
) -> None:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=40,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    def check(case: schemathesis.Case) -> None:
        case.call_and_validate(base_url=api_server.url, headers=auth_headers, checks=CHECKS)

    check()
