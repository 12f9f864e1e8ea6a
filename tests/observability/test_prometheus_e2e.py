"""A real Prometheus scrapes the running API and workers, stores their series and evaluates our
alert rules.

The processes run against their own PostgreSQL database (and the session's Kafka broker);
Prometheus (Debian's package) scrapes them every second with the labels the ServiceMonitor
gives our pods, and loads the rule groups of ``infra.observability``. Two faults, two alerts:

- the database goes away under the API: user requests fail with 5xx and the HTTP error-ratio
  alert turns pending;
- the audit consumer's writes become slow while events keep coming: its lag crosses the
  threshold and the consumer-lag alert turns pending; once writes are fast again the lag drains
  and the alert goes away.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Final

import asyncpg
import httpx
import pytest

from app.core.events.contract import EventType
from app.core.events.topics import TASK_EVENTS
from devtools.api_server import ApiServer
from devtools.kafka import KafkaBroker
from devtools.postgres import PostgresServer
from devtools.testkit.events_support import encode, produce, task_event
from devtools.testkit.worker_process import WorkerProcess
from infra.observability import rule_groups
from infra.observability.alerts import Thresholds
from tests.observability.alert_cases import NAMESPACE, RUNBOOK_URL
from tests.observability.servers import Prometheus

API, RELAY, AUDIT = "todo-api", "todo-relay", "todo-audit"
CREATED = 5
FAILED = 30


def _prometheus_config(targets: Mapping[str, str]) -> dict[str, object]:
    """Scrape each ``{service: url}`` every second, as the ServiceMonitor's target would be."""
    return {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [
            {
                "job_name": service,
                "static_configs": [
                    # The target labels a ServiceMonitor puts on our pods' series.
                    {
                        "targets": [url.removeprefix("http://")],
                        "labels": {
                            "namespace": NAMESPACE,
                            "service": service,
                            "pod": f"{service}-0",
                        },
                    }
                ],
            }
            for service, url in targets.items()
        ],
    }


async def _connect(url: str) -> asyncpg.Connection:
    connection: asyncpg.Connection = await asyncpg.connect(url)
    return connection


def _sql(url: str, *statements: str) -> None:
    """Run ``statements`` on the database at ``url`` (a plain ``postgresql://`` URL)."""

    async def execute() -> None:
        connection = await _connect(url)
        try:
            for statement in statements:
                await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(execute())


def _scalar(url: str, query: str, *args: object) -> Any:
    async def fetch() -> Any:
        connection = await _connect(url)
        try:
            return await connection.fetchval(query, *args)
        finally:
            await connection.close()

    return asyncio.run(fetch())


@pytest.fixture
def database(postgres: PostgresServer) -> Iterator[str]:
    name = postgres.create_database()
    yield name
    postgres.drop_database(name)


def _login(client: httpx.Client) -> dict[str, str]:
    """Register an account through the API; its Authorization header."""
    account = {
        "email": f"ops-{uuid.uuid4().hex[:8]}@example.com",
        "password": "correct horse battery",
    }
    assert client.post("/auth/register", json=account).status_code == 201
    token = client.post(
        "/auth/token", data={"username": account["email"], "password": account["password"]}
    ).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.postgres
def test_prometheus_scrapes_the_api_and_the_error_ratio_alert_turns_pending(
    postgres: PostgresServer, database: str
) -> None:
    groups = rule_groups(namespace=NAMESPACE, runbook_url=RUNBOOK_URL)
    with (
        ApiServer(postgres.url(database)) as api,
        Prometheus(_prometheus_config({API: api.url}), groups) as prometheus,
        httpx.Client(base_url=api.url, timeout=10) as client,
    ):
        auth = _login(client)
        for number in range(CREATED):
            response = client.post("/tasks", json={"title": f"task {number}"}, headers=auth)
            assert response.status_code == 201, response.text

        created = (
            f'sum(http_requests_total{{namespace="{NAMESPACE}", service="{API}", '
            'route="/tasks", method="POST", status="201"})'
        )
        prometheus.settles(created, lambda: prometheus.value(created), CREATED)

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
        admin = postgres.url(driver="postgresql")
        _sql(
            admin,
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
        prometheus.settles(failed, lambda: prometheus.value(failed), 1)
        statuses += [client.get("/tasks", headers=closing).status_code for _ in range(FAILED - 1)]
        assert all(status >= 500 for status in statuses), statuses
        assert client.get("/readyz", headers={"Connection": "close"}).status_code == 503

        prometheus.wait_for(
            lambda: bool(prometheus.alerts("TodoHighHttpErrorRatio")),
            "TodoHighHttpErrorRatio pending",
        )
        [alert] = prometheus.alerts("TodoHighHttpErrorRatio")
        assert alert["state"] == "pending"
        assert alert["labels"] == {
            "alertname": "TodoHighHttpErrorRatio",
            "namespace": NAMESPACE,
            "service": API,
            "severity": "critical",
            "component": "http",
        }
        assert alert["annotations"]["runbook_url"] == f"{RUNBOOK_URL}#todohighhttperrorratio"
        prometheus.settles(failed, lambda: prometheus.value(failed), FAILED)
        _sql(admin, f'ALTER DATABASE "{database}" WITH ALLOW_CONNECTIONS true')


# --- the workers, and the consumer-lag alert --------------------------------------------------

AUDIT_GROUP: Final = "audit"
LAG_ALERT: Final = "TodoKafkaConsumerLagHigh"
LAG_THRESHOLD: Final = 20
# Events the test adds to task-events while the audit consumer is slow. At one event per
# SLOW_WRITE_S, they would keep it over the threshold for about a minute: far longer than
# Prometheus needs to see it (seconds), so the alert's turn to pending does not race the drain.
BURST: Final = 300
SLOW_WRITE_S: Final = 0.2
# Each audit_log insert sleeps first, as on an overloaded database; the trigger's existence is
# the switch. Row-level, so each event pays it; the worker then handles one event per batch
# (CONSUMER_BATCH_SIZE=1) and reports its lag between them. Slow, not stuck: the runtime
# measures lag between batches, so a handler that never returns (one blocked on a held lock)
# leaves the gauge at its last value.
SLOW_AUDIT_WRITES: Final = f"""
CREATE FUNCTION slow_audit_write() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_sleep({SLOW_WRITE_S});
    RETURN NEW;
END $$;
CREATE TRIGGER slow_audit_write BEFORE INSERT ON audit_log
    FOR EACH ROW EXECUTE FUNCTION slow_audit_write();
"""
FAST_AUDIT_WRITES: Final = "DROP TRIGGER slow_audit_write ON audit_log"

# The audit consumer's view of task-events: one series per partition.
AUDIT_LAG: Final = (
    f'todo_consumer_lag{{namespace="{NAMESPACE}", service="{AUDIT}", group="{AUDIT_GROUP}", '
    f'topic="{TASK_EVENTS.name}"}}'
)
AUDIT_PROCESSED: Final = (
    f'sum by (type) (todo_events_processed_total{{namespace="{NAMESPACE}", service="{AUDIT}", '
    f'group="{AUDIT_GROUP}"}})'
)


def _lag_by_partition(prometheus: Prometheus) -> dict[str, float]:
    return prometheus.by_label(AUDIT_LAG, "partition")


def _caught_up() -> dict[str, float]:
    return {str(p): 0.0 for p in range(TASK_EVENTS.partitions)}


def _plus(counts: Mapping[str, float], added: Mapping[str, int]) -> dict[str, float]:
    return {t: counts.get(t, 0.0) + added.get(t, 0) for t in {*counts, *added}}


@pytest.mark.postgres
@pytest.mark.kafka
def test_prometheus_scrapes_the_workers_and_the_lag_alert_follows_a_slow_consumer(
    postgres: PostgresServer, kafka: KafkaBroker, database: str, tmp_path: Path
) -> None:
    thresholds = Thresholds(consumer_lag_messages=LAG_THRESHOLD, consumer_lag_minutes=1)
    groups = rule_groups(namespace=NAMESPACE, runbook_url=RUNBOOK_URL, thresholds=thresholds)
    db = postgres.url(database, driver="postgresql")

    def worker(name: str, env: Mapping[str, str] | None = None) -> WorkerProcess:
        return WorkerProcess(
            name,
            database_url=postgres.url(database),
            bootstrap=kafka.bootstrap,
            log_dir=tmp_path,
            env=env,
        )

    with (
        ApiServer(postgres.url(database), log_dir=tmp_path) as api,
        worker("relay") as relay,
        # One event per batch: the consumer reports its lag between batches.
        worker("audit", {"CONSUMER_BATCH_SIZE": "1"}) as audit,
        Prometheus(
            _prometheus_config({API: api.url, RELAY: relay.url, AUDIT: audit.url}), groups
        ) as prometheus,
        httpx.Client(base_url=api.url, timeout=10) as client,
    ):
        prometheus.settles(
            "targets up", lambda: prometheus.by_label("up", "service"), {API: 1, RELAY: 1, AUDIT: 1}
        )
        # The audit group is the session's: it first catches up with what earlier tests left
        # on task-events. Count from there.
        prometheus.settles("audit lag", lambda: _lag_by_partition(prometheus), _caught_up())
        before = prometheus.by_label(AUDIT_PROCESSED, "type")

        # Traffic through the API, the outbox and the relay to the audit consumer.
        auth = _login(client)
        ids = []
        for number in range(CREATED):
            response = client.post("/tasks", json={"title": f"task {number}"}, headers=auth)
            assert response.status_code == 201, response.text
            ids.append(response.json()["id"])
        assert client.post(f"/tasks/{ids[0]}/complete", headers=auth).status_code == 200
        assert client.delete(f"/tasks/{ids[1]}", headers=auth).status_code == 204

        api_series = f'namespace="{NAMESPACE}", service="{API}"'
        created = (
            f'sum(http_requests_total{{{api_series}, route="/tasks", method="POST", status="201"}})'
        )
        prometheus.settles(created, lambda: prometheus.value(created), CREATED)
        tasks = f"todo_tasks_total{{{api_series}}}"
        prometheus.settles(
            tasks,
            lambda: prometheus.by_label(tasks, "event"),
            {"created": CREATED, "updated": 0, "completed": 1, "deleted": 1},
        )
        traffic = {"task.created": CREATED, "task.completed": 1, "task.deleted": 1}
        prometheus.settles(
            AUDIT_PROCESSED,
            lambda: prometheus.by_label(AUDIT_PROCESSED, "type"),
            _plus(before, traffic),
        )
        backlog = f'todo_outbox_backlog{{namespace="{NAMESPACE}", service="{RELAY}"}}'
        prometheus.settles(backlog, lambda: prometheus.value(backlog), 0)
        prometheus.settles("audit lag", lambda: _lag_by_partition(prometheus), _caught_up())
        assert not prometheus.alerts(LAG_ALERT)

        # The audit consumer's writes become slow while events keep coming: it falls behind.
        _sql(db, SLOW_AUDIT_WRITES)
        owner = uuid.uuid4()
        burst = [task_event(EventType.TASK_CREATED, owner_id=owner) for _ in range(BURST)]
        asyncio.run(
            produce(kafka.bootstrap, TASK_EVENTS.name, [(e.subject, encode(e)) for e in burst])
        )
        prometheus.wait_for(lambda: bool(prometheus.alerts(LAG_ALERT)), f"{LAG_ALERT} pending")
        [alert] = prometheus.alerts(LAG_ALERT)
        assert alert["state"] == "pending"
        assert alert["labels"] == {
            "alertname": LAG_ALERT,
            "namespace": NAMESPACE,
            "group": AUDIT_GROUP,
            "topic": TASK_EVENTS.name,
            "severity": "warning",
            "component": "kafka",
        }
        assert LAG_THRESHOLD < float(alert["value"]) <= BURST
        assert alert["annotations"]["runbook_url"] == f"{RUNBOOK_URL}#todokafkaconsumerlaghigh"

        # Fast writes again: the lag drains, the alert goes away, and every event was handled.
        _sql(db, FAST_AUDIT_WRITES)
        prometheus.settles("audit lag", lambda: _lag_by_partition(prometheus), _caught_up())
        prometheus.wait_for(lambda: not prometheus.alerts(LAG_ALERT), f"{LAG_ALERT} resolved")
        prometheus.settles(
            AUDIT_PROCESSED,
            lambda: prometheus.by_label(AUDIT_PROCESSED, "type"),
            _plus(before, {**traffic, "task.created": CREATED + BURST}),
        )
        assert _scalar(db, "SELECT count(*) FROM audit_log WHERE owner_id = $1", owner) == BURST
