"""Monitoring: kube-prometheus-stack (Prometheus, Alertmanager, Grafana), the ServiceMonitors
and PodMonitors that scrape our apps, their Dapr sidecars, the Dapr control plane, Kafka and
ingress-nginx, and the seam where alert rules and dashboards plug in (:class:`MonitoringArgs`).

kube-prometheus-stack creates its admission-webhook certificates in Helm hooks, so it is a
``helm.v3.Release`` (``helm.v4.Chart`` would drop the hooks).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import pulumi
import pulumi_kubernetes as k8s

from infra import observability
from infra.components import Outputs, child_opts
from infra.observability import EmailReceiver, SlackReceiver
from infra.platform import ingress, namespaces, sizing, versions
from infra.platform.k8s import PART_OF, PLATFORM_NAME, KubeObject, metadata, object_meta, secret
from infra.platform.release import ChartArgs, ChartComponent, Release

API_VERSION: Final = "monitoring.coreos.com/v1"
STACK: Final = Release(
    "kube-prometheus-stack", versions.KUBE_PROMETHEUS_STACK, namespaces.MONITORING
)
GRAFANA_SERVICE: Final = "grafana"
GRAFANA_ADMIN_SECRET: Final = "grafana-admin"  # noqa: S105 (a name, not a secret)
RECEIVERS_SECRET: Final = "alertmanager-receivers"  # noqa: S105 (a name, not a secret)
SECRETS_DIR: Final = f"/etc/alertmanager/secrets/{RECEIVERS_SECRET}"
# The Grafana sidecar loads every ConfigMap carrying this label as a dashboard.
DASHBOARD_LABEL: Final = {"grafana_dashboard": "1"}
PROMETHEUS_STORAGE_GI: Final = 10
_DNS_LABEL: Final = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


@dataclass(frozen=True)
class SmtpRelay:
    """The mail relay Alertmanager sends alert e-mail through."""

    smarthost: str  # "host:port"
    sender: str
    username: str | None = None
    password: pulumi.Input[str] | None = None  # secret

    def __post_init__(self) -> None:
        if (self.username is None) != (self.password is None):
            raise ValueError("alert_smtp username and password go together (or neither)")


@dataclass(frozen=True)
class MonitoringArgs(ChartArgs):
    storage_class: str | None
    domain: str | None
    alert_email_to: str | None = None
    alert_smtp: SmtpRelay | None = None
    alert_slack_webhook: pulumi.Input[str] | None = None
    grafana_admin_password: pulumi.Input[str] | None = None
    in_cluster_database: bool = False
    # PrometheusRule groups ({"name": ..., "rules": [...]}) and Grafana dashboards (name -> JSON).
    rules: Sequence[Mapping[str, Any]] = ()
    dashboards: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.grafana_admin_password is None:
            raise ValueError(
                "grafana_admin_password is required (the stack's setup step generates one)"
            )
        if self.alert_email_to and self.alert_smtp is None:
            raise ValueError(
                "alert_email_to needs alert_smtp (the relay Alertmanager sends through)"
            )
        # The receivers check addresses, host:port and the username/password pairing.
        receivers(self)
        for group in self.rules:
            if not isinstance(group.get("name"), str) or not isinstance(group.get("rules"), list):
                raise ValueError(f"each rule group needs a 'name' and a 'rules' list: {group!r}")
        names = [str(group["name"]) for group in self.rules]
        if len(set(names)) != len(names):
            raise ValueError(f"rule group names must be unique: {names}")
        for name, body in self.dashboards.items():
            if not _DNS_LABEL.match(name) or len(name) > 50:
                raise ValueError(f"dashboard name {name!r} must be a lowercase DNS label")
            try:
                parsed = json.loads(body)
            except json.JSONDecodeError as exc:
                raise ValueError(f"dashboard {name!r} is not valid JSON: {exc}") from None
            if not isinstance(parsed, dict):
                raise ValueError(f"dashboard {name!r} must be a JSON object")


def grafana_url(domain: str | None) -> str:
    """Public behind TLS with a domain; otherwise in-cluster only (reach it by port-forward)."""
    if domain:
        return f"https://grafana.{domain}"
    return f"http://{GRAFANA_SERVICE}.{namespaces.MONITORING}.svc.cluster.local"


def receivers(args: MonitoringArgs) -> tuple[EmailReceiver | None, SlackReceiver | None]:
    """The alert channels of ``args``; their secrets are files of the mounted receivers Secret
    (see :func:`_receiver_secrets`), never values in the configuration."""
    email = None
    if args.alert_email_to and args.alert_smtp:
        relay = args.alert_smtp
        email = EmailReceiver(
            to=args.alert_email_to,
            sender=relay.sender,
            smarthost=relay.smarthost,
            username=relay.username,
            password_file=f"{SECRETS_DIR}/smtp-password" if relay.password is not None else None,
        )
    slack = (
        SlackReceiver(f"{SECRETS_DIR}/slack-webhook")
        if args.alert_slack_webhook is not None
        else None
    )
    return email, slack


def alertmanager_config(args: MonitoringArgs) -> dict[str, Any]:
    """kube-prometheus-stack's ``alertmanager.config``: the routing of
    :mod:`infra.observability` with the receivers of ``args``."""
    email, slack = receivers(args)
    return observability.alertmanager_config(email=email, slack=slack)


def _grafana_values(domain: str | None) -> dict[str, Any]:
    values: dict[str, Any] = {
        "fullnameOverride": GRAFANA_SERVICE,
        "admin": {
            "existingSecret": GRAFANA_ADMIN_SECRET,
            "userKey": "admin-user",
            "passwordKey": "admin-password",
        },
        "resources": sizing.GRAFANA.resources(),
        "sidecar": {
            "resources": sizing.GRAFANA_SIDECAR.resources(),
            "dashboards": {
                "enabled": True,
                "label": next(iter(DASHBOARD_LABEL)),
                "labelValue": next(iter(DASHBOARD_LABEL.values())),
            },
        },
        "grafana.ini": {
            "server": {"root_url": grafana_url(domain)},
            "analytics": {"reporting_enabled": False, "check_for_updates": False},
            "users": {"allow_sign_up": False},
        },
    }
    if domain:
        host = f"grafana.{domain}"
        values["ingress"] = {
            "enabled": True,
            "ingressClassName": ingress.INGRESS_CLASS,
            "annotations": {"cert-manager.io/cluster-issuer": ingress.CLUSTER_ISSUER},
            "hosts": [host],
            "tls": [{"secretName": "grafana-tls", "hosts": [host]}],
        }
    return values


def stack_values(args: MonitoringArgs) -> dict[str, Any]:
    claim: dict[str, Any] = {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": f"{PROMETHEUS_STORAGE_GI}Gi"}},
    }
    if args.storage_class is not None:
        claim["storageClassName"] = args.storage_class
    alertmanager_spec: dict[str, Any] = {"resources": sizing.ALERTMANAGER.resources()}
    if _receiver_secrets(args):
        alertmanager_spec["secrets"] = [RECEIVERS_SECRET]
    return {
        "fullnameOverride": "kps",
        # Managed control planes do not expose these; scraping them only fires TargetDown.
        "kubeEtcd": {"enabled": False},
        "kubeControllerManager": {"enabled": False},
        "kubeScheduler": {"enabled": False},
        "kubeProxy": {"enabled": False},
        "prometheus": {
            "prometheusSpec": {
                # Select every ServiceMonitor/PodMonitor/rule, not only the chart's own.
                "serviceMonitorSelectorNilUsesHelmValues": False,
                "podMonitorSelectorNilUsesHelmValues": False,
                "ruleSelectorNilUsesHelmValues": False,
                "probeSelectorNilUsesHelmValues": False,
                "scrapeConfigSelectorNilUsesHelmValues": False,
                "retention": "7d",
                "retentionSize": f"{PROMETHEUS_STORAGE_GI - 1}GB",
                "resources": sizing.PROMETHEUS.resources(),
                "storageSpec": {"volumeClaimTemplate": {"spec": claim}},
            }
        },
        "alertmanager": {
            "config": alertmanager_config(args),
            "alertmanagerSpec": alertmanager_spec,
        },
        "grafana": _grafana_values(args.domain),
        "prometheusOperator": {
            "resources": sizing.PROMETHEUS_OPERATOR.resources(),
            "prometheusConfigReloader": {"resources": sizing.CONFIG_RELOADER.resources()},
        },
        "kube-state-metrics": {"resources": sizing.KUBE_STATE_METRICS.resources()},
        "prometheus-node-exporter": {"resources": sizing.NODE_EXPORTER.resources()},
    }


def _receiver_secrets(args: MonitoringArgs) -> dict[str, pulumi.Input[str]]:
    secrets: dict[str, pulumi.Input[str]] = {}
    if args.alert_slack_webhook is not None:
        secrets["slack-webhook"] = args.alert_slack_webhook
    if args.alert_email_to and args.alert_smtp and args.alert_smtp.password is not None:
        secrets["smtp-password"] = args.alert_smtp.password
    return secrets


def _monitor(kind: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": kind,
        "metadata": metadata(name, namespaces.MONITORING),
        "spec": spec,
    }


def _service_monitor(
    name: str, namespace: str, selector: dict[str, Any], port: str
) -> dict[str, Any]:
    """A ServiceMonitor of one operator's metrics Service port in its own namespace."""
    return _monitor(
        "ServiceMonitor",
        name,
        {
            "namespaceSelector": {"matchNames": [namespace]},
            "selector": selector,
            "endpoints": [{"port": port, "interval": "30s"}],
        },
    )


def _pod_monitor(
    name: str, namespace: str, labels: dict[str, str], port: str, path: str
) -> dict[str, Any]:
    """A PodMonitor of a platform part's pods, by label, in its own namespace."""
    return _monitor(
        "PodMonitor",
        name,
        {
            "namespaceSelector": {"matchNames": [namespace]},
            "selector": {"matchLabels": labels},
            "podMetricsEndpoints": [{"port": port, "path": path}],
        },
    )


def scrape_manifests(in_cluster_database: bool, with_tls: bool) -> list[dict[str, Any]]:
    """What Prometheus scrapes beyond the cluster basics the chart already covers."""
    ours = {"matchLabels": {PART_OF: PLATFORM_NAME}}
    app_ns = {"matchNames": [namespaces.APP]}
    manifests = [
        _monitor(
            "ServiceMonitor",
            "todo-apps",
            {
                "namespaceSelector": app_ns,
                "selector": ours,
                "endpoints": [{"port": "http", "path": "/metrics", "interval": "30s"}],
            },
        ),
        _monitor(
            "PodMonitor",
            "dapr-sidecars",
            {
                "namespaceSelector": app_ns,
                "selector": ours,
                "podMetricsEndpoints": [{"port": "dapr-metrics", "path": "/", "interval": "30s"}],
            },
        ),
        _pod_monitor("dapr-control-plane", namespaces.DAPR, {PART_OF: "dapr"}, "metrics", "/"),
        # Brokers and kafka-exporter (consumer-group lag) both expose `tcp-prometheus`.
        _pod_monitor(
            "kafka", namespaces.KAFKA, {"strimzi.io/kind": "Kafka"}, "tcp-prometheus", "/metrics"
        ),
        _pod_monitor(
            "strimzi-operator",
            namespaces.KAFKA,
            {"strimzi.io/kind": "cluster-operator"},
            "http",
            "/metrics",
        ),
        _service_monitor(
            "ingress-nginx",
            namespaces.INGRESS,
            {
                "matchLabels": {
                    "app.kubernetes.io/name": "ingress-nginx",
                    "app.kubernetes.io/component": "controller",
                }
            },
            "metrics",
        ),
        # The KEDA operator's and metrics server's `metrics` Service ports (the chart opens
        # them with prometheus.*.enabled).
        _service_monitor(
            "keda",
            namespaces.KEDA,
            {
                "matchExpressions": [
                    {
                        "key": "app.kubernetes.io/name",
                        "operator": "In",
                        "values": ["keda-operator", "keda-operator-metrics-apiserver"],
                    }
                ]
            },
            "metrics",
        ),
    ]
    if with_tls:
        # cert-manager's controller Service port 9402 (certificate expiry, ACME errors).
        cert_manager = {"app.kubernetes.io/name": "cert-manager"}
        manifests.append(
            _service_monitor(
                "cert-manager",
                namespaces.CERT_MANAGER,
                {"matchLabels": {**cert_manager, "app.kubernetes.io/component": "controller"}},
                "tcp-prometheus-servicemonitor",
            )
        )
    if in_cluster_database:
        manifests.append(
            _monitor(
                "PodMonitor",
                "postgres",
                {
                    "namespaceSelector": {"matchNames": [namespaces.DATABASE]},
                    "selector": {"matchLabels": {"cnpg.io/cluster": "todo-db"}},
                    "podMetricsEndpoints": [{"port": "metrics"}],
                },
            )
        )
    return manifests


def rules_manifest(groups: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": "PrometheusRule",
        "metadata": metadata("todo-rules", namespaces.MONITORING),
        "spec": {"groups": [dict(group) for group in groups]},
    }


class Monitoring(ChartComponent[MonitoringArgs]):
    TYPE = "todo:platform:Monitoring"

    grafana_url: str

    def _build(self, name: str, args: MonitoringArgs, after: list[pulumi.Resource]) -> Outputs:
        provider = args.provider
        first = child_opts(self, provider, after)
        admin_password = secret(pulumi.Output.from_input(args.grafana_admin_password or ""))
        admin = k8s.core.v1.Secret(
            GRAFANA_ADMIN_SECRET,
            metadata=object_meta(GRAFANA_ADMIN_SECRET, namespaces.MONITORING),
            string_data={"admin-user": "admin", "admin-password": admin_password},
            opts=first,
        )
        inputs: list[pulumi.Resource] = [admin]
        receiver_secrets = _receiver_secrets(args)
        if receiver_secrets:
            inputs.append(
                k8s.core.v1.Secret(
                    RECEIVERS_SECRET,
                    metadata=object_meta(RECEIVERS_SECRET, namespaces.MONITORING),
                    string_data={k: secret(v) for k, v in receiver_secrets.items()},
                    opts=first,
                )
            )
        release = self._release(
            args, STACK, stack_values(args), [*after, *inputs], timeout_seconds=900, skip_crds=True
        )
        after_crds = child_opts(self, provider, [release])
        for manifest in scrape_manifests(args.in_cluster_database, args.domain is not None):
            KubeObject(
                f"{manifest['kind'].lower()}-{manifest['metadata']['name']}", manifest, after_crds
            )
        if args.rules:
            KubeObject("prometheusrule-todo-rules", rules_manifest(args.rules), after_crds)
        for dashboard, body in args.dashboards.items():
            k8s.core.v1.ConfigMap(
                f"dashboard-{dashboard}",
                metadata=object_meta(
                    f"dashboard-{dashboard}", namespaces.MONITORING, labels=DASHBOARD_LABEL
                ),
                data={f"{dashboard}.json": body},
                opts=first,
            )
        self.admin_password = secret(admin_password)
        self.grafana_url = grafana_url(args.domain)
        self.ready = [release]
        return {"grafana_url": self.grafana_url}
