"""A real Prometheus scrapes the running API, stores its series and evaluates our alert rules.

The API runs as a process against its own PostgreSQL database; Prometheus (Debian's package)
scrapes it every second with the labels the ServiceMonitor gives our pods, and loads the rule
groups of ``infra.observability``. Taking the database away makes user requests fail with
5xx, and the HTTP error-ratio alert turns pending.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import asyncpg
import httpx
import pytest

from devtools.api_server import ApiServer
from devtools.postgres import PostgresServer
from infra.observability import rule_groups
from tests.observability.alert_cases import NAMESPACE, RUNBOOK_URL
from tests.observability.servers import Prometheus

SERVICE = "todo-api"
CREATED = 5
FAILED = 30


def _prometheus_config(api: ApiServer) -> dict[str, object]:
    target = api.url.removeprefix("http://")
    return {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [
            {
                "job_name": SERVICE,
                "static_configs": [
                    # The target labels a ServiceMonitor puts on our pods' series.
                    {
                        "targets": [target],
                        "labels": {"namespace": NAMESPACE, "service": SERVICE, "pod": "api-0"},
                    }
                ],
            }
        ],
    }


def _sql(postgres: PostgresServer, *statements: str) -> None:
    async def execute() -> None:
        connection = await asyncpg.connect(postgres.url(driver="postgresql"))
        try:
            for statement in statements:
                await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(execute())


@pytest.fixture
def database(postgres: PostgresServer) -> Iterator[str]:
    name = postgres.create_database()
    yield name
    postgres.drop_database(name)


def _value(prometheus: Prometheus, expr: str) -> float | None:
    result = prometheus.query(expr)
    return float(result[0]["value"][1]) if result else None


@pytest.mark.postgres
def test_prometheus_scrapes_the_api_and_the_error_ratio_alert_turns_pending(
    postgres: PostgresServer, database: str
) -> None:
    groups = rule_groups(namespace=NAMESPACE, runbook_url=RUNBOOK_URL)
    with (
        ApiServer(postgres.url(database)) as api,
        Prometheus(_prometheus_config(api), groups) as prometheus,
        httpx.Client(base_url=api.url, timeout=10) as client,
    ):
        account = {"email": "ops@example.com", "password": "correct horse battery"}
        assert client.post("/auth/register", json=account).status_code == 201
        token = client.post(
            "/auth/token", data={"username": account["email"], "password": account["password"]}
        ).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        for number in range(CREATED):
            response = client.post("/tasks", json={"title": f"task {number}"}, headers=auth)
            assert response.status_code == 201, response.text

        created = (
            f'sum(http_requests_total{{namespace="{NAMESPACE}", service="{SERVICE}", '
            'route="/tasks", method="POST", status="201"})'
        )
        prometheus.wait_for(
            lambda: _value(prometheus, created) == CREATED, f"{created} == {CREATED}"
        )

        # Every rule group is loaded and every rule evaluates against live data without error.
        loaded = {group["name"]: group["rules"] for group in prometheus.rule_groups()}
        assert set(loaded) == {group["name"] for group in groups}
        prometheus.wait_for(
            lambda: all(
                rule["health"] == "ok"
                for group in prometheus.rule_groups()
                for rule in group["rules"]
            ),
            "every rule evaluated with health ok",
        )

        # The database goes away under the running API: new connections are refused and the
        # pooled ones are cut.
        _sql(
            postgres,
            f'ALTER DATABASE "{database}" WITH ALLOW_CONNECTIONS false',
            # The name is one of ours (create_database's checked identifier), not user input.
            f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{database}'",  # noqa: S608
        )
        # One connection per request: after an unhandled error uvicorn drops the connection,
        # and a reused keep-alive connection would read a reset instead of the 500.
        closing = {**auth, "Connection": "close"}
        failed = (
            f'sum(http_requests_total{{namespace="{NAMESPACE}", route="/tasks", '
            'method="GET", status=~"5.."})'
        )
        statuses = [client.get("/tasks", headers=closing).status_code]
        # rate() counts increases between scrapes: a series first scraped at its final value
        # shows none. Let Prometheus see the error series before the rest of the failures.
        prometheus.wait_for(lambda: _value(prometheus, failed) == 1, f"{failed} == 1")
        statuses += [client.get("/tasks", headers=closing).status_code for _ in range(FAILED - 1)]
        assert all(status >= 500 for status in statuses), statuses
        assert client.get("/readyz", headers={"Connection": "close"}).status_code == 503

        def pending() -> list[dict[str, Any]]:
            return [
                alert
                for alert in prometheus.alerts()
                if alert["labels"]["alertname"] == "TodoHighHttpErrorRatio"
            ]

        prometheus.wait_for(lambda: bool(pending()), "TodoHighHttpErrorRatio pending")
        [alert] = pending()
        assert alert["state"] == "pending"
        assert alert["labels"] == {
            "alertname": "TodoHighHttpErrorRatio",
            "namespace": NAMESPACE,
            "service": SERVICE,
            "severity": "critical",
            "component": "http",
        }
        assert alert["annotations"]["runbook_url"] == f"{RUNBOOK_URL}#todohighhttperrorratio"
        prometheus.wait_for(lambda: _value(prometheus, failed) == FAILED, f"{failed} == {FAILED}")
        _sql(postgres, f'ALTER DATABASE "{database}" WITH ALLOW_CONNECTIONS true')
