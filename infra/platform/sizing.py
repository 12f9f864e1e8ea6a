"""CPU and memory of every pod the stacks run: the one table the resources and the capacity
check both read, so what is requested and what is counted cannot drift apart.

Figures are sized for the always-free OKE shape (4 OCPU / 24 GB shared by everything) and are
requests a quiet cluster really uses; limits leave room for bursts (JVM start, rollouts).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final


@dataclass(frozen=True)
class Size:
    """Requests and limits of one container."""

    cpu_m: int
    memory_mi: int
    cpu_limit_m: int
    memory_limit_mi: int

    def __post_init__(self) -> None:
        if not (0 < self.cpu_m <= self.cpu_limit_m and 0 < self.memory_mi <= self.memory_limit_mi):
            raise ValueError(f"requests must be positive and within limits: {self}")

    def resources(self) -> dict[str, Any]:
        """The ``resources`` block of a container spec or of a chart's values."""
        return {
            "requests": {"cpu": f"{self.cpu_m}m", "memory": f"{self.memory_mi}Mi"},
            "limits": {"cpu": f"{self.cpu_limit_m}m", "memory": f"{self.memory_limit_mi}Mi"},
        }


# --- operators and controllers (one replica each) ---------------------------------------------
STRIMZI_OPERATOR: Final = Size(100, 384, 500, 512)
INGRESS_CONTROLLER: Final = Size(100, 128, 500, 256)
CERT_MANAGER_CONTROLLER: Final = Size(20, 64, 200, 128)
CERT_MANAGER_WEBHOOK: Final = Size(10, 32, 100, 64)
CERT_MANAGER_CAINJECTOR: Final = Size(10, 64, 100, 128)
KEDA_OPERATOR: Final = Size(50, 128, 500, 256)
KEDA_METRICS_SERVER: Final = Size(50, 128, 500, 256)
KEDA_WEBHOOKS: Final = Size(10, 32, 100, 128)
CNPG_OPERATOR: Final = Size(50, 128, 500, 256)

# Dapr control plane: operator, sentry, sidecar injector (placement and scheduler are off).
DAPR_CONTROL_PLANE: Final = Size(25, 64, 200, 256)
DAPR_CONTROL_PLANE_SERVICES: Final = 3

# --- Kafka (per broker, KRaft dual role) ----------------------------------------------------
KAFKA_BROKER: Final = Size(250, 1536, 1000, 1536)
# The JVM heap of a broker: the rest of the container memory is page cache and metaspace.
KAFKA_HEAP_MI: Final = 768
KAFKA_TOPIC_OPERATOR: Final = Size(50, 256, 500, 384)
KAFKA_EXPORTER: Final = Size(20, 64, 200, 128)

# --- in-cluster PostgreSQL (per instance) ---------------------------------------------------
POSTGRES_INSTANCE: Final = Size(250, 512, 1000, 1024)

# --- monitoring ----------------------------------------------------------------------------
PROMETHEUS: Final = Size(200, 1024, 1000, 2048)
ALERTMANAGER: Final = Size(20, 64, 200, 128)
GRAFANA: Final = Size(50, 192, 500, 384)
# Grafana runs two sidecars: the dashboards loader and the datasources loader.
GRAFANA_SIDECAR: Final = Size(10, 64, 100, 128)
GRAFANA_SIDECARS: Final = 2
# The config reloader next to Prometheus and next to Alertmanager.
CONFIG_RELOADER: Final = Size(10, 32, 100, 64)
PROMETHEUS_OPERATOR: Final = Size(50, 128, 300, 256)
KUBE_STATE_METRICS: Final = Size(20, 64, 200, 128)
# Per node: node-exporter is a DaemonSet.
NODE_EXPORTER: Final = Size(20, 32, 200, 64)

# --- our processes ------------------------------------------------------------------------------
API: Final = Size(100, 256, 1000, 512)
WORKER: Final = Size(50, 160, 500, 384)
MIGRATION: Final = Size(100, 192, 500, 384)
# The Dapr sidecar next to each app container (set through dapr.io/sidecar-* annotations).
DAPR_SIDECAR: Final = Size(50, 64, 300, 256)
