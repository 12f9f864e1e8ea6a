"""The seam to the monitoring component: what infra.observability renders is what
``MonitoringArgs`` accepts and what its ``PrometheusRule`` and dashboard ConfigMaps carry."""

from __future__ import annotations

import json
from typing import cast

import pulumi_kubernetes as k8s

from infra.observability import dashboards, rule_groups
from infra.platform.monitoring import MonitoringArgs, rules_manifest
from tests.observability.alert_cases import NAMESPACE, RUNBOOK_URL


def test_monitoring_args_accept_our_rules_and_dashboards() -> None:
    groups = rule_groups(namespace=NAMESPACE, runbook_url=RUNBOOK_URL)
    boards = dashboards(namespace=NAMESPACE)
    args = MonitoringArgs(
        provider=cast(k8s.Provider, None),
        storage_class=None,
        domain=None,
        grafana_admin_password="G" * 24,
        rules=groups,
        dashboards=boards,
    )
    manifest = rules_manifest(args.rules)
    assert manifest["kind"] == "PrometheusRule"
    assert manifest["spec"]["groups"] == groups
    assert {name: json.loads(body)["title"] for name, body in args.dashboards.items()} == {
        "todo-task-operations": "Task operations",
        "todo-system-health": "System health",
    }
