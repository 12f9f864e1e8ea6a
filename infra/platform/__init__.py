"""The platform every stack installs on its cluster: namespaces, ingress (+ TLS), Strimzi Kafka
with the event contract's topics, Dapr, KEDA, PostgreSQL and monitoring.

:class:`Platform` composes the components of the sibling modules in dependency order: the
namespaces first, then the operators (each a Helm release that waits for its CRDs and pods),
then the custom resources that need those CRDs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

import pulumi
import pulumi_kubernetes as k8s

from infra.cloud.ingress_service import IngressService
from infra.components import Component, Outputs, child_opts
from infra.platform import namespaces, versions
from infra.platform.chart_fetch import fetch_chart
from infra.platform.crds import OperatorCrds, OperatorCrdsArgs
from infra.platform.dapr import Dapr, DaprArgs
from infra.platform.database import Database, DatabaseArgs
from infra.platform.ingress import Ingress, IngressArgs
from infra.platform.k8s import REMOTE_CHARTS, ChartRef, ChartSource
from infra.platform.kafka import Kafka, KafkaArgs
from infra.platform.keda import Keda
from infra.platform.monitoring import Monitoring, MonitoringArgs, SmtpRelay
from infra.platform.namespaces import Namespaces, NamespacesArgs
from infra.platform.release import ChartArgs

__all__ = ["APP_NAMESPACE", "IngressService", "Platform", "PlatformArgs", "SmtpRelay"]

APP_NAMESPACE: Final = namespaces.APP
_DOMAIN: Final = re.compile(r"^(?=.{1,253}$)([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


@dataclass(frozen=True)
class PlatformArgs:
    provider: k8s.Provider
    storage_class: str | None
    kafka_replicas: int  # 1 on free tier, 3 in production
    kafka_storage_gi: int
    database_mode: Literal["external", "incluster"]
    database_url: pulumi.Input[str] | None  # secret; required when external
    database_storage_gi: int
    domain: str | None  # None -> no cert-manager/ClusterIssuer, ingress on LB IP
    tls_email: str | None
    alert_email_to: str | None
    alert_slack_webhook: pulumi.Input[str] | None  # secret
    grafana_admin_password: pulumi.Input[str] | None  # secret; required (stacks/secrets.py)
    # Optional extras (defaults keep the interface above sufficient):
    alert_smtp: SmtpRelay | None = None  # required when alert_email_to is set
    # How the ingress is exposed: the cloud's load balancer (with its annotations) or node ports.
    ingress_service: IngressService = field(default_factory=IngressService)
    # Seam for the observability issue: PrometheusRule groups and Grafana dashboards.
    rules: Sequence[Mapping[str, Any]] = ()
    dashboards: Mapping[str, str] = field(default_factory=dict)
    # secret; required when database_mode is incluster (stacks/secrets.py generates it)
    database_owner_password: pulumi.Input[str] | None = None
    charts: ChartSource = REMOTE_CHARTS
    # Wait for the operators to report their custom resources Ready (k8s.await_ready).
    await_operators: bool = True

    def crd_archive(self, ref: ChartRef) -> Path:
        """The pinned archive whose ``crds/`` are applied: the chart directory's when charts
        come from one, else downloaded once into the chart cache (``chart_fetch``)."""
        local = self.charts.archive(ref)
        return local if local is not None else fetch_chart(ref)

    def __post_init__(self) -> None:
        missing = self.charts.missing(versions.CHARTS)
        if missing:
            raise ValueError(f"chart archives missing in {self.charts.directory}: {missing}")
        if self.domain is not None and not _DOMAIN.match(self.domain):
            raise ValueError(f"domain {self.domain!r} is not a lowercase DNS name")
        # The component args validate the rest; building them here fails before any resource.
        self.kafka_args()
        self.database_args()
        self.ingress_args()
        self.monitoring_args()

    def kafka_args(self) -> KafkaArgs:
        return KafkaArgs(
            self.kafka_replicas,
            self.kafka_storage_gi,
            self.storage_class,
            self.await_operators,
            provider=self.provider,
            charts=self.charts,
        )

    def database_args(self) -> DatabaseArgs:
        return DatabaseArgs(
            self.database_mode,
            self.database_url,
            self.database_storage_gi,
            self.storage_class,
            self.database_owner_password,
            self.await_operators,
            provider=self.provider,
            charts=self.charts,
        )

    def ingress_args(self) -> IngressArgs:
        return IngressArgs(
            self.domain,
            self.tls_email,
            self.ingress_service,
            provider=self.provider,
            charts=self.charts,
        )

    def monitoring_args(self) -> MonitoringArgs:
        return MonitoringArgs(
            provider=self.provider,
            storage_class=self.storage_class,
            domain=self.domain,
            alert_email_to=self.alert_email_to,
            alert_smtp=self.alert_smtp,
            alert_slack_webhook=self.alert_slack_webhook,
            grafana_admin_password=self.grafana_admin_password,
            in_cluster_database=self.database_mode == "incluster",
            rules=self.rules,
            dashboards=self.dashboards,
            charts=self.charts,
        )


class Platform(Component[PlatformArgs]):
    TYPE = "todo:platform:Platform"

    kafka_bootstrap: pulumi.Output[str]
    database_url: pulumi.Output[str]
    grafana_url: pulumi.Output[str]
    app_namespace: str
    ready: list[pulumi.Resource]

    def _build(self, name: str, args: PlatformArgs, after: list[pulumi.Resource]) -> Outputs:
        specs = namespaces.namespace_specs(
            with_tls=args.domain is not None,
            in_cluster_database=args.database_mode == "incluster",
        )
        spaces = Namespaces(
            "namespaces", NamespacesArgs(args.provider, specs), child_opts(self, depends_on=after)
        )
        crds = OperatorCrds(
            "crds", OperatorCrdsArgs(args.provider, args.crd_archive), child_opts(self)
        ).by_chart

        def operator(*chart: str) -> pulumi.ResourceOptions:
            """Every operator comes after the namespaces, and after its chart's CRDs."""
            return child_opts(self, depends_on=[spaces, *(c for name in chart for c in crds[name])])

        ingress = Ingress("ingress", args.ingress_args(), operator())
        monitoring = Monitoring(
            "monitoring", args.monitoring_args(), operator(versions.KUBE_PROMETHEUS_STACK.chart)
        )
        kafka = Kafka("kafka", args.kafka_args(), operator(versions.STRIMZI.chart))
        dapr = Dapr(
            "dapr",
            DaprArgs(kafka.bootstrap, provider=args.provider, charts=args.charts),
            operator(versions.DAPR.chart),
        )
        keda = Keda("keda", ChartArgs(provider=args.provider, charts=args.charts), operator())
        database = Database("database", args.database_args(), operator())

        self.app_namespace = APP_NAMESPACE
        self.kafka_bootstrap = pulumi.Output.from_input(kafka.bootstrap)
        self.database_url = database.url
        self.grafana_url = pulumi.Output.from_input(monitoring.grafana_url)
        self.grafana_admin_password = monitoring.admin_password
        self.ready = [
            spaces,
            *ingress.ready,
            *kafka.ready,
            *dapr.ready,
            *keda.ready,
            *database.ready,
            *monitoring.ready,
        ]
        return {
            "kafka_bootstrap": self.kafka_bootstrap,
            "database_url": self.database_url,
            "grafana_url": self.grafana_url,
            "app_namespace": self.app_namespace,
        }
