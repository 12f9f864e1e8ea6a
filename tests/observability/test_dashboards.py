"""The Grafana dashboards: well-formed JSON for the sidecar, a sane layout, the panels the
issue asks for, and PromQL that Prometheus parses (promtool) over metrics that exist."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.core.observability import metric_catalog as m
from infra.observability import dashboards
from infra.observability import external_metrics as x
from infra.observability.grafana import BUILTIN_VARIABLES, GRID_WIDTH
from tests.devtools.subprocesses import output, run
from tests.observability.alert_cases import NAMESPACE
from tests.observability.promql import GRAFANA_SUBSTITUTES, grafana_to_promql, selectors
from tests.observability.tools import debian_tool

BOARDS: dict[str, dict[str, Any]] = {
    name: json.loads(body) for name, body in dashboards(namespace=NAMESPACE).items()
}


def _queries(board: dict[str, Any]) -> list[tuple[str, str]]:
    """(panel title, expression) for every query of ``board``."""
    return [
        (panel["title"], target["expr"])
        for panel in board["panels"]
        for target in panel.get("targets", [])
    ]


def _metrics(board: dict[str, Any]) -> set[str]:
    return {
        selector.metric
        for _, expr in _queries(board)
        for selector in selectors(grafana_to_promql(expr, NAMESPACE))
    }


def test_two_dashboards_named_for_configmaps() -> None:
    assert {name: board["title"] for name, board in BOARDS.items()} == {
        "todo-task-operations": "Task operations",
        "todo-system-health": "System health",
    }
    for name, board in BOARDS.items():
        assert board["uid"] == name
        assert board["schemaVersion"] >= 39
        assert [v["name"] for v in board["templating"]["list"]] == ["datasource", "namespace"]
        assert board["templating"]["list"][1]["current"]["value"] == NAMESPACE


def test_panels_have_unique_ids_and_do_not_overlap() -> None:
    for name, board in BOARDS.items():
        ids = [panel["id"] for panel in board["panels"]]
        assert len(ids) == len(set(ids)), name
        taken: set[tuple[int, int]] = set()
        for panel in board["panels"]:
            grid = panel["gridPos"]
            assert 0 <= grid["x"] <= GRID_WIDTH - grid["w"], panel["title"]
            cells = {
                (x, y)
                for x in range(grid["x"], grid["x"] + grid["w"])
                for y in range(grid["y"], grid["y"] + grid["h"])
            }
            assert not cells & taken, f"{name}: {panel['title']} overlaps another panel"
            taken |= cells


def test_every_panel_queries_through_the_datasource_variable() -> None:
    for board in BOARDS.values():
        for panel in board["panels"]:
            if panel["type"] == "row":
                continue
            assert panel["targets"], panel["title"]
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
            assert panel["description"], panel["title"]
            assert [t["refId"] for t in panel["targets"]] == [
                chr(ord("A") + i) for i in range(len(panel["targets"]))
            ]


def test_task_operations_shows_what_the_issue_asks_for() -> None:
    assert {
        m.TASK_EVENTS.name,
        m.RECURRING_SERIES_ACTIVE.name,
        m.TASKS_DUE.name,
        m.REMINDERS_SENT.name,
        f"{m.REMINDER_LATENESS.name}_bucket",
    } <= _metrics(BOARDS["todo-task-operations"])


def test_system_health_shows_what_the_issue_asks_for() -> None:
    assert {
        x.KUBE_POD_STATUS_READY,
        x.KUBE_POD_STATUS_PHASE,
        x.CONTAINER_CPU_USAGE_SECONDS_TOTAL,
        x.CONTAINER_MEMORY_WORKING_SET_BYTES,
        m.CONSUMER_LAG.name,
        x.KAFKA_CONSUMERGROUP_LAG,
        x.KUBE_POD_CONTAINER_STATUS_READY,  # the daprd containers
        x.DAPR_COMPONENT_INIT_FAIL,
        m.HTTP_REQUESTS.name,
        f"{m.HTTP_REQUEST_DURATION.name}_bucket",
    } <= _metrics(BOARDS["todo-system-health"])


def test_promtool_parses_every_panel_expression(tmp_path: Path) -> None:
    promtool = debian_tool("promtool", "prometheus")
    rules = [
        {"record": f"dashboard:{name.replace('-', '_')}:query_{index}", "expr": expr}
        for name, board in BOARDS.items()
        for index, (_, raw) in enumerate(_queries(board))
        for expr in [grafana_to_promql(raw, NAMESPACE)]
    ]
    path = tmp_path / "dashboards.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    result = run([promtool, "check", "rules", str(path)])
    assert result.returncode == 0, output(result)
    assert f"SUCCESS: {len(rules)} rules found" in result.stdout


def test_promtool_rejects_a_broken_expression(tmp_path: Path) -> None:
    """The check above can fail: an unbalanced expression does."""
    promtool = debian_tool("promtool", "prometheus")
    path = tmp_path / "broken.yml"
    rule = {"record": "dashboard:broken", "expr": "sum by (group (todo_consumer_lag)"}
    path.write_text(yaml.safe_dump({"groups": [{"name": "broken", "rules": [rule]}]}))
    result = run([promtool, "check", "rules", str(path)])
    assert result.returncode == 1, output(result)


@pytest.mark.parametrize("name", sorted(BOARDS))
def test_no_unresolved_grafana_variable_remains(name: str) -> None:
    for title, expr in _queries(BOARDS[name]):
        resolved = grafana_to_promql(expr, NAMESPACE)
        # "$1" is label_replace's capture group, not a Grafana variable.
        assert "$" not in resolved.replace('"$1"', ""), f"{title}: {resolved}"


def test_every_builtin_grafana_variable_has_a_stand_in() -> None:
    assert set(GRAFANA_SUBSTITUTES) == set(BUILTIN_VARIABLES)
