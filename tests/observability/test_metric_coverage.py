"""The metric catalog against its two sides: the expressions that read metrics (alerts and
dashboards) and the processes that export them.

Every metric an expression selects is in the catalog or on the documented list of external
metrics; every catalog metric is read somewhere; the API's collectors match the catalog; and a
running API really serves its catalog metrics on /metrics.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from app.core.db.migrate import upgrade
from app.core.observability import metric_catalog as m
from app.core.observability.http import HttpMetrics
from devtools.api_server import ApiServer
from devtools.kafka import KafkaBroker
from devtools.postgres import PostgresServer
from devtools.testkit.worker_process import WorkerProcess
from infra.observability import dashboards
from infra.observability.alerts import alerts
from infra.observability.external_metrics import EXTERNAL_METRICS
from tests.observability.alert_cases import NAMESPACE
from tests.observability.promql import Selector, grafana_to_promql, selectors

# Labels Prometheus adds to every series it scrapes from our pods (ServiceMonitor targets).
TARGET_LABELS = frozenset(
    {"namespace", "service", "pod", "container", "endpoint", "job", "instance"}
)
# Labels whose values are unbounded: never a label of ours.
UNBOUNDED = frozenset(
    {"user", "user_id", "task", "task_id", "id", "path", "url", "email", "event_id"}
)
_SNAKE = re.compile(r"^[a-z][a-z0-9_]*$")


def _expression_selectors() -> dict[str, list[Selector]]:
    """Every alert and dashboard query, by where it comes from."""
    found = {f"alert {a.name}": selectors(a.expr) for a in alerts(NAMESPACE)}
    for name, body in dashboards(namespace=NAMESPACE).items():
        for panel in json.loads(body)["panels"]:
            for target in panel.get("targets", []):
                where = f"dashboard {name} / {panel['title']} / {target['refId']}"
                found[where] = selectors(grafana_to_promql(target["expr"], NAMESPACE))
    return found


def _ours(series_name: str) -> m.Metric | None:
    return next((metric for metric in m.CATALOG if series_name in metric.series_names), None)


def test_catalog_names_and_labels_are_well_formed() -> None:
    names = [metric.name for metric in m.CATALOG]
    assert len(names) == len(set(names)) == 19
    for metric in m.CATALOG:
        assert _SNAKE.match(metric.name), metric.name
        assert metric.name.startswith(("todo_", "http_")), metric.name
        assert metric.help.strip(), metric.name
        assert all(_SNAKE.match(label) for label in metric.labels), metric.name
        assert not set(metric.labels) & UNBOUNDED, metric.name
        assert not set(metric.labels) & TARGET_LABELS, f"{metric.name}: Prometheus sets those"


def test_catalog_rejects_inconsistent_definitions() -> None:
    with pytest.raises(ValueError, match="counter 'todo_x' must end in _total"):
        m.Metric("todo_x", "counter", "help", (), frozenset({"api"}))
    with pytest.raises(ValueError, match="histograms need them"):
        m.Metric("todo_x_seconds", "histogram", "help", (), frozenset({"api"}))
    with pytest.raises(ValueError, match="exported by no process"):
        m.Metric("todo_x", "gauge", "help", (), frozenset())


def test_every_metric_an_expression_reads_is_ours_or_documented_external() -> None:
    unknown = {
        where: sorted(
            s.metric for s in found if _ours(s.metric) is None and s.metric not in EXTERNAL_METRICS
        )
        for where, found in _expression_selectors().items()
    }
    assert {where: names for where, names in unknown.items() if names} == {}


def test_selectors_on_our_metrics_match_only_labels_they_have() -> None:
    for where, found in _expression_selectors().items():
        for selector in found:
            metric = _ours(selector.metric)
            if metric is None:
                continue
            allowed = set(metric.labels) | TARGET_LABELS | ({"le"} if metric.buckets else set())
            assert selector.labels <= allowed, f"{where}: {selector}"


def test_every_catalog_metric_is_read_by_an_alert_or_a_dashboard() -> None:
    read = {s.metric for found in _expression_selectors().values() for s in found}
    unread = [metric.name for metric in m.CATALOG if not metric.series_names & read]
    assert unread == []


def test_every_external_metric_is_used() -> None:
    # The documented list is a contract, not a wish list: a name nothing reads goes.
    read = {s.metric for found in _expression_selectors().values() for s in found}
    assert sorted(set(EXTERNAL_METRICS) - read) == []


def test_the_api_http_collectors_match_the_catalog() -> None:
    registry = CollectorRegistry()
    HttpMetrics(registry)
    collected = {family.name: family for family in registry.collect()}
    for metric in (m.HTTP_REQUESTS, m.HTTP_REQUEST_DURATION):
        family = collected[metric.family]
        assert family.type == metric.kind
        assert family.documentation == metric.help


# --- what a running API serves ---------------------------------------------------------------


@pytest.fixture
def api(postgres: PostgresServer) -> Iterator[ApiServer]:
    with ApiServer(postgres.url(postgres.create_database())) as server:
        yield server


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback
        return str(response.read().decode())


def _assert_serves_its_catalog_metrics(process: m.Process, exposition: str) -> None:
    """``exposition`` has every family the catalog gives ``process``, each with its type and
    labels, and no family the catalog does not define."""
    families = {family.name: family for family in text_string_to_metric_families(exposition)}
    missing = [metric.name for metric in m.exported_by(process) if metric.family not in families]
    assert missing == []
    for metric in m.exported_by(process):
        family = families[metric.family]
        assert family.type == metric.kind, metric.name
        for sample in family.samples:
            labels = set(sample.labels) - {"le"}
            assert labels == set(metric.labels), f"{metric.name}: {sample}"
    # prometheus_client also exposes each counter's and histogram's creation time as
    # ``<family>_created``, which its text parser reports as a family of its own.
    known = {metric.family for metric in m.CATALOG}
    assert sorted(set(families) - known - {f"{family}_created" for family in known}) == []


@pytest.mark.postgres
def test_running_api_serves_every_catalog_metric_it_owns(api: ApiServer) -> None:
    _get(f"{api.url}/readyz")  # sets the readiness gauge, as the kubelet's probe does
    _get(f"{api.url}/healthz")
    _assert_serves_its_catalog_metrics("api", _get(f"{api.url}/metrics"))


def _requests(api: ApiServer) -> dict[tuple[str, str, str], float]:
    return {
        (s.labels["route"], s.labels["method"], s.labels["status"]): s.value
        for family in text_string_to_metric_families(_get(f"{api.url}/metrics"))
        if family.name == m.HTTP_REQUESTS.family
        for s in family.samples
        if s.name == m.HTTP_REQUESTS.name
    }


@pytest.mark.postgres
def test_running_api_labels_requests_by_route_template(api: ApiServer) -> None:
    key = ("/tasks/{task_id}", "GET", "401")
    before = _requests(api).get(key, 0.0)
    for task_id in ("3f1c", "9a2b", "77e0"):
        with pytest.raises(urllib.error.HTTPError) as caught:
            _get(f"{api.url}/tasks/{task_id}")
        assert caught.value.code == 401
    after = _requests(api)
    assert after[key] - before == 3.0
    # Three task ids, one series: the raw path never becomes a label value.
    assert not [route for route, _, _ in after if route.startswith("/tasks/") and "{" not in route]


# --- what each running worker serves ---------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.kafka
@pytest.mark.parametrize("worker", ["relay", "recurring", "notifier", "audit"])
def test_running_worker_serves_every_catalog_metric_it_owns(
    worker: m.Process, postgres: PostgresServer, kafka: KafkaBroker, tmp_path: Path
) -> None:
    database_url = postgres.url(postgres.create_database())
    upgrade(database_url)
    with WorkerProcess(
        worker,
        database_url=database_url,
        bootstrap=kafka.bootstrap,
        log_dir=tmp_path,
        env={"LOG_LEVEL": "WARNING"},
    ) as server:
        exposition = _get(f"{server.url}/metrics")
    _assert_serves_its_catalog_metrics(worker, exposition)
