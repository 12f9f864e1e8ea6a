"""What the whole program ships to monitoring, per committed stack: the alert rules with links
into the runbook, the dashboards, Alertmanager's routing and its secrets; and every object of
every stack against the Kubernetes schema and the policy pack."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

import pytest

from devtools.testkit.pulumi_mocks import (
    STACKS,
    ProgramRun,
    RecordedResource,
    load_config,
    project_file,
)
from infra.k8s_schema import has_schema, schema_errors
from infra.observability import (
    EmailReceiver,
    SlackReceiver,
    alertmanager_config,
    dashboards,
    rule_groups,
)
from infra.platform.monitoring import SECRETS_DIR
from infra.policy import checks
from tests.fixtures.pulumi_stacks import StackRuns

RULE: Final = "kubernetes:monitoring.coreos.com/v1:PrometheusRule"
CONFIG_MAP: Final = "kubernetes:core/v1:ConfigMap"
SECRET: Final = "kubernetes:core/v1:Secret"
RELEASE: Final = "kubernetes:helm.sh/v3:Release"
NAMESPACE: Final = "todo-app"
DEFAULT_RUNBOOK: Final = project_file()["config"]["runbookUrl"]["default"]
DEPLOYED_RUNBOOK: Final = "https://github.com/acme/todo/blob/0123abc/docs/runbook.md"
DASHBOARDS: Final = {"dashboard-todo-task-operations", "dashboard-todo-system-health"}
MODES: Final = [pytest.param(False, id="up"), pytest.param(True, id="preview")]

SLACK_WEBHOOK: Final = "https://hooks.slack.com/services/T0/B0/stack-webhook"
SMTP_PASSWORD: Final = "relay-pass-7731"
RECEIVER_SETTINGS: Final = {
    "alertEmailTo": "oncall@example.com",
    "alertSmtpSmarthost": "smtp.example.com:587",
    "alertSmtpFrom": "alerts@example.com",
    "alertSmtpUsername": "alerts",
}
RECEIVER_SECRETS: Final = {"alertSmtpPassword": SMTP_PASSWORD, "alertSlackWebhook": SLACK_WEBHOOK}


def k8s_name(resource: RecordedResource) -> str:
    return str(resource.inputs["metadata"]["name"])


def kube_prometheus_stack(run: ProgramRun) -> RecordedResource:
    (release,) = [r for r in run.of_type(RELEASE) if r.input("name") == "kube-prometheus-stack"]
    return release


def dashboard_maps(run: ProgramRun) -> list[RecordedResource]:
    return [
        r
        for r in run.of_type(CONFIG_MAP)
        if r.inputs["metadata"].get("labels", {}).get("grafana_dashboard") == "1"
    ]


def rule_links(run: ProgramRun) -> list[str]:
    (rule,) = run.of_type(RULE)
    return [
        alert["annotations"]["runbook_url"]
        for group in rule.input("spec.groups")
        for alert in group["rules"]
    ]


@pytest.mark.parametrize("preview", MODES)
@pytest.mark.parametrize("stack", STACKS)
def test_every_stack_ships_the_alert_rules_and_dashboards(
    committed_run: StackRuns, stack: str, preview: bool
) -> None:
    run = committed_run(stack, preview).ok()
    rules = run.of_type(RULE)
    assert [k8s_name(r) for r in rules] == ["todo-rules"]
    (rule,) = rules
    assert rule.input("metadata.namespace") == "monitoring"
    assert rule.input("spec.groups") == rule_groups(
        namespace=NAMESPACE, runbook_url=DEFAULT_RUNBOOK
    )
    assert [group["name"] for group in rule.input("spec.groups")] == [
        "todo-http",
        "todo-kubernetes",
        "todo-database",
        "todo-events",
        "todo-reminders",
    ]
    # The PrometheusRule CRD comes with the chart.
    assert kube_prometheus_stack(run).urn in rule.dependencies

    maps = dashboard_maps(run)
    assert len(maps) == 2
    assert {k8s_name(m) for m in maps} == DASHBOARDS
    expected = dashboards(namespace=NAMESPACE)
    for config_map in maps:
        assert config_map.input("metadata.namespace") == "monitoring"
        board = k8s_name(config_map).removeprefix("dashboard-")
        assert config_map.inputs["data"] == {f"{board}.json": expected[board]}


@pytest.mark.parametrize("stack", STACKS)
def test_alerts_link_to_their_sections_of_the_projects_runbook(
    committed_run: StackRuns, stack: str
) -> None:
    links = rule_links(committed_run(stack, False).ok())
    assert len(links) == 10
    assert len(set(links)) == 10
    assert all(link.startswith(f"{DEFAULT_RUNBOOK}#todo") for link in links), links


def test_a_deploy_links_the_runbook_of_the_deployed_commit(
    run_stack: Callable[..., ProgramRun],
) -> None:
    run = run_stack("aks", settings={"runbookUrl": DEPLOYED_RUNBOOK}).ok()
    links = rule_links(run)
    assert len(links) == 10
    assert all(link.startswith(f"{DEPLOYED_RUNBOOK}#todo") for link in links), links


@pytest.mark.parametrize("stack", STACKS)
def test_committed_stacks_route_alerts_without_notifying_anyone(
    committed_run: StackRuns, stack: str
) -> None:
    run = committed_run(stack, False).ok()
    values = kube_prometheus_stack(run).input("values")
    assert values["alertmanager"]["config"] == alertmanager_config()
    assert "secrets" not in values["alertmanager"]["alertmanagerSpec"]
    assert [k8s_name(r) for r in run.of_type(SECRET) if "alertmanager" in k8s_name(r)] == []


def plain_text_inputs(run: ProgramRun) -> str:
    """Every input of every resource that was not registered as a secret, as one text."""
    return json.dumps(
        [
            {key: value for key, value in r.inputs.items() if key not in r.secret_inputs}
            for r in run.resources
        ],
        default=str,  # values unknown in a preview
    )


@pytest.mark.parametrize("preview", MODES)
def test_configured_receivers_get_the_observability_routing_and_secret_files(
    run_stack: Callable[..., ProgramRun], preview: bool
) -> None:
    run = run_stack(
        "aks", preview=preview, settings=RECEIVER_SETTINGS, secrets=RECEIVER_SECRETS
    ).ok()
    values = kube_prometheus_stack(run).input("values")
    assert values["alertmanager"]["config"] == alertmanager_config(
        email=EmailReceiver(
            to="oncall@example.com",
            sender="alerts@example.com",
            smarthost="smtp.example.com:587",
            username="alerts",
            password_file=f"{SECRETS_DIR}/smtp-password",
        ),
        slack=SlackReceiver(f"{SECRETS_DIR}/slack-webhook"),
    )
    assert values["alertmanager"]["alertmanagerSpec"]["secrets"] == ["alertmanager-receivers"]
    (receivers,) = [r for r in run.of_type(SECRET) if k8s_name(r) == "alertmanager-receivers"]
    assert receivers.input("metadata.namespace") == "monitoring"
    assert receivers.secret_inputs == {"stringData"}
    assert receivers.inputs["stringData"] == {
        "smtp-password": SMTP_PASSWORD,
        "slack-webhook": SLACK_WEBHOOK,
    }
    # Neither secret is anywhere in plain text: not in the Helm values, nor in any output.
    text = plain_text_inputs(run)
    assert SMTP_PASSWORD not in text
    assert "stack-webhook" not in text
    assert all(
        SMTP_PASSWORD not in json.dumps(out.value, default=str) for out in run.outputs.values()
    )


def test_alert_email_through_a_relay_without_login_needs_no_secret(
    run_stack: Callable[..., ProgramRun],
) -> None:
    settings = {
        **RECEIVER_SETTINGS,
        "alertSmtpSmarthost": "mail.internal:25",
        "alertSmtpUsername": None,
    }
    run = run_stack("gke", settings=settings).ok()
    values = kube_prometheus_stack(run).input("values")
    assert values["alertmanager"]["config"] == alertmanager_config(
        email=EmailReceiver("oncall@example.com", "alerts@example.com", "mail.internal:25")
    )
    assert [r for r in run.of_type(SECRET) if k8s_name(r) == "alertmanager-receivers"] == []


@pytest.mark.parametrize("stack", STACKS)
def test_every_object_of_the_stack_is_schema_valid_and_passes_the_policy_pack(
    committed_run: StackRuns, tmp_path: Path, stack: str
) -> None:
    run = committed_run(stack, False).ok()
    version = load_config(stack, tmp_path).kubernetes_version
    manifests: list[dict[str, Any]] = [
        r.inputs
        for r in run.resources
        if r.type.startswith("kubernetes:")
        and not r.type.startswith(("kubernetes:helm.sh/", "kubernetes:yaml/"))
    ]
    built_in = [m for m in manifests if has_schema(m, version)]
    assert {m["kind"] for m in built_in} >= {"ConfigMap", "Deployment", "Secret", "Job"}
    assert [error for m in built_in for error in schema_errors(m, version)] == []
    assert checks.violations([(r.type, r.inputs) for r in run.resources]) == []
