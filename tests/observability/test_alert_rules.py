"""The alert rules: valid for Prometheus, and each one fires exactly when it should.

Every alert is unit-tested with ``promtool test rules``: one scenario that fires it (with its
exact labels and rendered annotations) and at least one that must not (alert_cases.py).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.observability import Thresholds, rule_groups
from infra.observability.alerts import SEVERITIES, alerts
from tests.devtools.subprocesses import output, run
from tests.observability.alert_cases import CASES, NAMESPACE, RUNBOOK_URL, Scenario
from tests.observability.tools import debian_tool

ALERTS = {alert.name: alert for alert in alerts(NAMESPACE)}


@pytest.fixture(scope="module")
def promtool() -> str:
    return debian_tool("promtool", "prometheus")


@pytest.fixture(scope="module")
def rules_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("rules") / "rules.yml"
    groups = rule_groups(namespace=NAMESPACE, runbook_url=RUNBOOK_URL)
    path.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False))
    return path


def _all_rules() -> list[dict[str, Any]]:
    groups = rule_groups(namespace=NAMESPACE, runbook_url=RUNBOOK_URL)
    return [rule for group in groups for rule in group["rules"]]


def test_promtool_accepts_every_rule(promtool: str, rules_file: Path) -> None:
    result = run([promtool, "check", "rules", str(rules_file)])
    assert result.returncode == 0, output(result)
    assert f"SUCCESS: {len(ALERTS)} rules found" in result.stdout, output(result)


def test_every_alert_has_a_firing_and_a_quiet_case() -> None:
    assert set(CASES) == set(ALERTS)
    assert all(case.quiet for case in CASES.values())


def test_every_rule_carries_severity_component_summary_description_and_runbook() -> None:
    rules = _all_rules()
    assert len(rules) == len(ALERTS) == 10
    for rule in rules:
        assert set(rule["labels"]) == {"severity", "component"}, rule["alert"]
        assert rule["labels"]["severity"] in SEVERITIES, rule["alert"]
        assert set(rule["annotations"]) == {"summary", "description", "runbook_url"}
        assert rule["annotations"]["runbook_url"] == f"{RUNBOOK_URL}#{rule['alert'].lower()}"


def test_group_names_are_unique_and_every_rule_is_in_one() -> None:
    groups = rule_groups(namespace=NAMESPACE, runbook_url=RUNBOOK_URL)
    names = [group["name"] for group in groups]
    assert names == [
        "todo-http",
        "todo-kubernetes",
        "todo-database",
        "todo-events",
        "todo-reminders",
    ]
    assert sum(len(group["rules"]) for group in groups) == len(ALERTS)


def test_every_expression_is_scoped_to_the_app_namespace() -> None:
    for alert in ALERTS.values():
        selectors = re.findall(r"\{([^}]*)\}", alert.expr)
        assert selectors, alert.name
        assert all(f'namespace="{NAMESPACE}"' in selector for selector in selectors), alert.name


def _promtool_test(rules_file: Path, alertname: str, scenario: Scenario, firing: bool) -> str:
    expected: list[dict[str, Any]] = []
    if firing:
        alert = ALERTS[alertname]
        expected.append(
            {
                "exp_labels": {
                    **scenario.labels,
                    "severity": alert.severity,
                    "component": alert.component,
                },
                "exp_annotations": {
                    **scenario.annotations,
                    "runbook_url": f"{RUNBOOK_URL}#{alert.anchor}",
                },
            }
        )
    test = {
        "rule_files": [str(rules_file)],
        "evaluation_interval": "1m",
        "tests": [
            {
                "name": f"{alertname}: {scenario.what}",
                "interval": "1m",
                "input_series": [
                    {"series": series, "values": values}
                    for series, values in scenario.series.items()
                ],
                "alert_rule_test": [
                    {
                        "eval_time": scenario.eval_time,
                        "alertname": alertname,
                        "exp_alerts": expected,
                    }
                ],
            }
        ],
    }
    return yaml.safe_dump(test, sort_keys=False)


SCENARIOS = [
    pytest.param(name, case.firing, True, id=f"{name}-fires") for name, case in CASES.items()
] + [
    pytest.param(name, quiet, False, id=f"{name}-quiet-{index}")
    for name, case in CASES.items()
    for index, quiet in enumerate(case.quiet, 1)
]


@pytest.mark.parametrize(("alertname", "scenario", "firing"), SCENARIOS)
def test_alert_scenario(
    promtool: str,
    rules_file: Path,
    tmp_path: Path,
    alertname: str,
    scenario: Scenario,
    firing: bool,
) -> None:
    # A quiet scenario proves something only if it feeds the metrics the alert reads.
    series_names = {series.split("{", 1)[0] for series in scenario.series}
    assert any(name in ALERTS[alertname].expr for name in series_names), scenario.what
    test_file = tmp_path / "test.yml"
    test_file.write_text(_promtool_test(rules_file, alertname, scenario, firing))
    result = run([promtool, "test", "rules", str(test_file)])
    assert result.returncode == 0, output(result)
    assert "SUCCESS" in result.stdout, output(result)


def test_promtool_catches_a_wrong_expectation(
    promtool: str, rules_file: Path, tmp_path: Path
) -> None:
    """The harness itself: a firing scenario declared quiet must fail."""
    case = CASES["TodoOutboxStalled"]
    test_file = tmp_path / "test.yml"
    test_file.write_text(_promtool_test(rules_file, "TodoOutboxStalled", case.firing, False))
    result = run([promtool, "test", "rules", str(test_file)])
    assert result.returncode == 1, output(result)
    assert "TodoOutboxStalled" in result.stdout + result.stderr


def test_thresholds_shape_the_expressions() -> None:
    custom = {
        alert.name: alert
        for alert in alerts(
            NAMESPACE, Thresholds(consumer_lag_messages=5000, consumer_lag_minutes=30)
        )
    }
    lag = custom["TodoKafkaConsumerLagHigh"]
    assert lag.expr.endswith("> 5000")
    assert lag.for_ == "30m"
    assert "5000 messages behind" in lag.description


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"http_error_ratio": 1.5}, "http_error_ratio must be between 0 and 1, got 1.5"),
        ({"consumer_lag_messages": 0}, "consumer_lag_messages must be positive, got 0"),
        ({"outbox_stalled_seconds": -1}, "outbox_stalled_seconds must be positive, got -1"),
    ],
)
def test_bad_thresholds_are_refused_by_name(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        Thresholds(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"namespace": "Todo_App"}, "namespace 'Todo_App' must be a lowercase DNS label"),
        ({"runbook_url": "http://x.example/runbook.md"}, "runbook_url must be an https URL"),
        ({"runbook_url": f"{RUNBOOK_URL}#top"}, "runbook_url must be an https URL"),
    ],
)
def test_bad_arguments_are_refused_by_name(kwargs: dict[str, str], message: str) -> None:
    arguments = {"namespace": NAMESPACE, "runbook_url": RUNBOOK_URL, **kwargs}
    with pytest.raises(ValueError, match=re.escape(message)):
        rule_groups(namespace=arguments["namespace"], runbook_url=arguments["runbook_url"])
