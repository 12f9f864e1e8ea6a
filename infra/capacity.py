"""CPU and memory requests and persistent volumes of everything a stack deploys, for the
capacity check that runs before any resource is registered. Pure: no Pulumi resources, only a
:class:`SizingPlan` (what the stack's config says about replicas, modes and sizes), the sizing
table (:mod:`infra.platform.sizing`) and the app catalog the resources are built from."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from infra.cloud.base import CpuMemory
from infra.platform import sizing
from infra.platform.monitoring import PROMETHEUS_STORAGE_GI
from infra.workloads import catalog


@dataclass(frozen=True)
class SizingPlan:
    """What decides a stack's requests and volumes, known from its config before any resource
    exists (stacks/capacity.py derives it)."""

    kafka_replicas: int
    kafka_storage_gi: int
    database_mode: Literal["external", "incluster"]
    database_storage_gi: int
    with_tls: bool  # a domain: cert-manager runs too
    node_count: int  # nodes always present: per-node DaemonSets (node-exporter) run on each
    api_replicas: int  # the API's minimum; every worker runs once

    def __post_init__(self) -> None:
        if self.node_count < 1:
            raise ValueError(f"node_count must be at least 1, got {self.node_count}")


class Requests(CpuMemory):
    """A sum of container requests."""

    def __str__(self) -> str:
        return f"{self.cpu_millicores}m CPU / {self.memory_mib}Mi memory"


NONE = Requests(0, 0)


def of(size: sizing.Size, count: int = 1) -> Requests:
    """The requests of ``count`` containers of ``size``."""
    return Requests(size.cpu_m * count, size.memory_mi * count)


def total(parts: Iterable[Requests]) -> Requests:
    return sum(parts, NONE)


@dataclass(frozen=True)
class Volumes:
    """``count`` disks of ``size_gb`` each (persistent volumes, or a node pool's boot disks)."""

    what: str
    count: int
    size_gb: int

    def provisioned_gb(self, minimum_gb: int) -> int:
        """What the cloud creates (and bills): each disk at least its minimum size."""
        return self.count * max(self.size_gb, minimum_gb)


def platform_volumes(plan: SizingPlan) -> list[Volumes]:
    """Every PersistentVolumeClaim the platform makes, with its replica count. Sizes in GiB are
    counted as GB: the clouds' minimums below are whole numbers either way.

    The Dapr scheduler would add three 1 GiB claims; it is off (see ``dapr.control_plane_values``).
    """
    volumes = [
        Volumes("Kafka broker", plan.kafka_replicas, plan.kafka_storage_gi),
        Volumes("Prometheus", 1, PROMETHEUS_STORAGE_GI),
    ]
    if plan.database_mode == "incluster":
        volumes.append(Volumes("PostgreSQL", 1, plan.database_storage_gi))
    return volumes


def platform_requests(plan: SizingPlan) -> Requests:
    """Operators, Kafka, Dapr, KEDA, monitoring, ingress and (in-cluster) PostgreSQL."""
    parts = [
        of(sizing.INGRESS_CONTROLLER),
        # Kafka: operator, brokers, topic operator, kafka-exporter.
        of(sizing.STRIMZI_OPERATOR),
        of(sizing.KAFKA_BROKER, plan.kafka_replicas),
        of(sizing.KAFKA_TOPIC_OPERATOR),
        of(sizing.KAFKA_EXPORTER),
        # Operator, sentry and sidecar injector: placement and scheduler are off (no actors,
        # workflows or jobs), see dapr.control_plane_values.
        of(sizing.DAPR_CONTROL_PLANE, sizing.DAPR_CONTROL_PLANE_SERVICES),
        of(sizing.KEDA_OPERATOR),
        of(sizing.KEDA_METRICS_SERVER),
        of(sizing.KEDA_WEBHOOKS),
        # Monitoring.
        of(sizing.PROMETHEUS),
        of(sizing.ALERTMANAGER),
        of(sizing.CONFIG_RELOADER, 2),
        of(sizing.GRAFANA),
        of(sizing.GRAFANA_SIDECAR, sizing.GRAFANA_SIDECARS),
        of(sizing.PROMETHEUS_OPERATOR),
        of(sizing.KUBE_STATE_METRICS),
        of(sizing.NODE_EXPORTER, plan.node_count),
    ]
    if plan.with_tls:
        parts += [
            of(sizing.CERT_MANAGER_CONTROLLER),
            of(sizing.CERT_MANAGER_WEBHOOK),
            of(sizing.CERT_MANAGER_CAINJECTOR),
        ]
    if plan.database_mode == "incluster":
        parts += [of(sizing.CNPG_OPERATOR), of(sizing.POSTGRES_INSTANCE)]
    return total(parts)


def workloads_requests(plan: SizingPlan) -> Requests:
    """Our pods at their minimum replicas, each with its Dapr sidecar, and the migration Job
    (it runs next to the old pods during every rollout)."""
    parts = [of(sizing.MIGRATION)]
    for app in catalog.APPS:
        replicas = plan.api_replicas if app is catalog.API else app.min_replicas
        parts += [of(app.size, replicas), of(sizing.DAPR_SIDECAR, replicas)]
    return total(parts)


def requests(plan: SizingPlan) -> Requests:
    """Everything the stack's pods request: the platform's and the app's."""
    return platform_requests(plan) + workloads_requests(plan)
