"""Property-based fuzzing of the running API from its own OpenAPI schema (schemathesis).

Against the real server on real PostgreSQL, as an authenticated user:

- every operation, with data that fits the schema and data that does not (positive and
  negative generation), under every check schemathesis offers but two: no server error, status
  code / content type / headers / body as documented, invalid data rejected, missing required
  headers refused, unsupported methods answered 405, no use-after-delete, created resources
  available, authentication not ignored. Left out: response time (no timing assertions), and
  "schema-valid data accepted" -- rules a JSON schema cannot state (a deliverable e-mail domain,
  an IANA time zone, a recurrence rule that ever occurs) rightly turn schema-valid data into a
  documented 422;
- stateful sequences following the schema's OpenAPI links (app/api/openapi_links.py): create a
  task, then get / patch / complete / delete it and read its occurrences and history, with the
  same checks. The test asserts that sequences did reach the linked operations.

``SCHEMATHESIS_EXAMPLES`` (default 50 per operation and mode) and ``SCHEMATHESIS_STEPS``
(default 40 stateful scenarios) size a run; a nightly run raises both.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Flaky
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ensure_resource_availability,
    ignored_auth,
    missing_required_header,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
    use_after_free,
)

from app.main import create_app
from devtools.api_server import ApiServer
from devtools.postgres import PostgresServer
from devtools.testkit.workers_support import SmtpSink
from tests.api.conftest import api_settings

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
    missing_required_header,
    unsupported_method,
    use_after_free,
    ensure_resource_availability,
    ignored_auth,
]
EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "50"))
SCENARIOS = int(os.environ.get("SCHEMATHESIS_STEPS", "40"))
MAX_SUITES = 10


@pytest.fixture(scope="module")
def api_server(postgres: PostgresServer) -> Iterator[ApiServer]:
    # The fuzzer's failed logins all come from 127.0.0.1: with the production per-address limit
    # the logout operation's own fresh logins would be throttled (429) once the fuzzer has made
    # 20 wrong attempts. The throttle itself is tested in tests/api/test_login_throttle.py.
    # A real SMTP server takes the verification e-mails (without one the re-send is a 503).
    with SmtpSink() as smtp:
        env = {
            "LOGIN_FAILURES_PER_ADDRESS": "1000000",
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(smtp.port),
            "SMTP_FROM": "todo@example.org",
            "SMTP_SECURITY": "none",
        }
        with ApiServer(postgres.url(postgres.create_database()), env=env) as server:
            yield server


@dataclass(frozen=True)
class Account:
    email: str
    password: str

    def log_in(self, base_url: str) -> dict[str, str]:
        """A fresh token's Authorization header."""
        with httpx.Client(base_url=base_url) as client:
            token = client.post(
                "/auth/token", data={"username": self.email, "password": self.password}
            )
        assert token.status_code == 200, token.text
        return {"Authorization": f"Bearer {token.json()['access_token']}"}


@pytest.fixture(scope="module")
def account(api_server: ApiServer) -> Account:
    email, password = f"fuzz-{uuid.uuid4().hex[:8]}@example.com", secrets.token_urlsafe(12)
    with httpx.Client(base_url=api_server.url) as client:
        registered = client.post("/auth/register", json={"email": email, "password": password})
        assert registered.status_code == 201, registered.text
    return Account(email, password)


@pytest.fixture(scope="module")
def auth_headers(api_server: ApiServer, account: Account) -> dict[str, str]:
    headers = account.log_in(api_server.url)
    with httpx.Client(base_url=api_server.url) as client:
        task = client.post(
            "/tasks",
            json={"title": "seed", "due_date": "2031-01-01T09:00:00Z", "recurrence": "weekly"},
            headers=headers,
        )
        assert task.status_code == 201
    return headers


# Logging out revokes the token it is called with: it gets a token of its own every time, and
# the stateful sequences (which share one token) leave it out.
LOGOUT = "POST /auth/logout"


def _schema() -> Any:
    # The schema comes from the app itself at collection time; requests go to the live server.
    app = create_app(api_settings("sqlite+aiosqlite:///:memory:"))
    return schemathesis.openapi.from_dict(app.openapi())


OPERATIONS = [result.ok() for result in _schema().get_all_operations()]
# Negative data needs something to make invalid: a parameter or a body.
CASES = [
    pytest.param(operation, mode, id=f"{operation.label}-{mode.value}")
    for operation in OPERATIONS
    for mode in GenerationMode
    if mode is GenerationMode.POSITIVE
    or operation.definition.raw.get("parameters")
    or operation.definition.raw.get("requestBody")
]


@pytest.mark.parametrize(("operation", "mode"), CASES)
def test_no_server_error_and_no_schema_violation(
    operation: schemathesis.APIOperation,
    mode: GenerationMode,
    api_server: ApiServer,
    auth_headers: dict[str, str],
    account: Account,
) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case: schemathesis.Case) -> None:
        headers = account.log_in(api_server.url) if operation.label == LOGOUT else auth_headers
        case.call_and_validate(base_url=api_server.url, headers=headers, checks=CHECKS)

    check()


def test_stateful_sequences_along_the_links(
    api_server: ApiServer, auth_headers: dict[str, str]
) -> None:
    # The notification settings link to no task: in the walk they only take the steps that
    # should reach the tasks' links (each of their operations is fuzzed by the test above).
    schema = _schema().exclude(method="POST", path="/auth/logout").exclude(tag="notifications")
    schema.config.update(base_url=api_server.url)
    # Sequences of valid calls (invalid data is the stateless test's business).
    schema.config.generation.update(modes=[GenerationMode.POSITIVE])
    reached: Counter[tuple[str, int]] = Counter()
    failures: list[str] = []
    scenarios = [0]

    class Workflow(schema.as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            super().setup()
            scenarios[0] += 1

        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, Any]:
            return {"headers": auth_headers}

        def after_call(self, response: Any, case: schemathesis.Case) -> None:
            super().after_call(response, case)
            reached[(case.operation.label, response.status_code)] += 1

        def validate_response(self, response: Any, case: schemathesis.Case, **kwargs: Any) -> None:
            # Collected, not raised: hypothesis would replay a failing sequence to confirm it,
            # the live data has moved on, and it would report "flaky" instead of the failure.
            try:
                case.validate_response(response, checks=CHECKS)
            except Exception as failure:  # every failure is reported below
                failures.append(f"{case.operation.label} -> {response.status_code}: {failure}")

    hypothesis_settings = settings(
        max_examples=SCENARIOS,
        deadline=None,
        database=None,
        stateful_step_count=6,
        # A live server's state cannot be replayed: nothing to shrink.
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    # Which rules a step can take depends on what the server answered before; hypothesis
    # sometimes notices that as "flaky" generation and stops the suite. Start another, as
    # schemathesis' own runner does, until the scenarios are done.
    for _suite in range(MAX_SUITES):
        with contextlib.suppress(Flaky):
            Workflow.run(settings=hypothesis_settings)
        if scenarios[0] >= SCENARIOS:
            break
    assert scenarios[0] >= SCENARIOS, scenarios
    assert failures == []
    # The links were followed: operations on a task reached tasks that exist (a random id is a
    # 404), whatever each answered then (a generated If-Match or title may be refused).
    assert reached[("POST /tasks", 201)] > 0, dict(reached)
    for label in (
        "GET /tasks/{task_id}",
        "PATCH /tasks/{task_id}",
        "POST /tasks/{task_id}/complete",
        "DELETE /tasks/{task_id}",
    ):
        found = sum(n for (seen, status), n in reached.items() if seen == label and status != 404)
        assert found > 0, (label, dict(reached))
