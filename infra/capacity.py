"""CPU and memory requests of everything a stack deploys, for the capacity check that runs
before any resource is registered. Pure: no Pulumi resources, only the sizing table
(:mod:`infra.platform.sizing`) and the app catalog the resources are built from."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from infra.platform import sizing
from infra.workloads import catalog

if TYPE_CHECKING:
    from infra.platform import PlatformArgs
    from infra.workloads import WorkloadsArgs


@dataclass(frozen=True)
class Requests:
    """A sum of container requests."""

    cpu_millicores: int
    memory_mib: int

    def __add__(self, other: Requests) -> Requests:
        return Requests(
            self.cpu_millicores + other.cpu_millicores, self.memory_mib + other.memory_mib
        )

    def __str__(self) -> str:
        return f"{self.cpu_millicores}m CPU / {self.memory_mib}Mi memory"


NONE = Requests(0, 0)


def of(size: sizing.Size, count: int = 1) -> Requests:
    """The requests of ``count`` containers of ``size``."""
    return Requests(size.cpu_m * count, size.memory_mi * count)


def total(parts: Iterable[Requests]) -> Requests:
    return sum(parts, NONE)


def platform_requests(args: PlatformArgs) -> Requests:
    """Operators, Kafka, Dapr, KEDA, monitoring, ingress and (in-cluster) PostgreSQL."""
    parts = [
        of(sizing.INGRESS_CONTROLLER),
        # Kafka: operator, brokers, topic operator, kafka-exporter.
        of(sizing.STRIMZI_OPERATOR),
        of(sizing.KAFKA_BROKER, args.kafka_replicas),
        of(sizing.KAFKA_TOPIC_OPERATOR),
        of(sizing.KAFKA_EXPORTER),
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
        of(sizing.NODE_EXPORTER, args.node_count),
    ]
    if args.domain is not None:
        parts += [
            of(sizing.CERT_MANAGER_CONTROLLER),
            of(sizing.CERT_MANAGER_WEBHOOK),
            of(sizing.CERT_MANAGER_CAINJECTOR),
        ]
    if args.database_mode == "incluster":
        parts += [of(sizing.CNPG_OPERATOR), of(sizing.POSTGRES_INSTANCE)]
    return total(parts)


def workloads_requests(args: WorkloadsArgs) -> Requests:
    """Our pods at their minimum replicas, each with its Dapr sidecar, and the migration Job
    (it runs next to the old pods during every rollout)."""
    parts = [of(sizing.MIGRATION)]
    for app in catalog.APPS:
        replicas = args.api_replicas if app is catalog.API else 1
        parts += [of(app.size, replicas), of(sizing.DAPR_SIDECAR, replicas)]
    return total(parts)
