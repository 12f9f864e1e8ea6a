"""Every third-party chart and operand version the platform installs, pinned in one place.

Upgrades are deliberate: bump a version here, read that chart's upgrade notes, run the tests.
"""

from __future__ import annotations

from typing import Final

from infra.platform.k8s import ChartRef

# Strimzi 1.x serves only `kafka.strimzi.io/v1` (v1beta2 and ZooKeeper are gone).
# From Strimzi's OCI registry, as the chart's own README installs it (the https://strimzi.io/charts/
# repository is deprecated upstream).
STRIMZI: Final = ChartRef("strimzi-kafka-operator", "1.0.0", "oci://quay.io/strimzi-helm")
# The Kafka release Strimzi 1.0.0 runs, and the KRaft metadata version it is pinned to: the
# metadata version only moves forward by an explicit change here, never by an operator upgrade.
KAFKA_VERSION: Final = "4.2.0"
KAFKA_METADATA_VERSION: Final = "4.2-IV1"

DAPR: Final = ChartRef("dapr", "1.16.9", "https://dapr.github.io/helm-charts/")
KEDA: Final = ChartRef("keda", "2.18.0", "https://kedacore.github.io/charts")
INGRESS_NGINX: Final = ChartRef(
    "ingress-nginx", "4.13.3", "https://kubernetes.github.io/ingress-nginx"
)
CERT_MANAGER: Final = ChartRef("cert-manager", "v1.19.1", "https://charts.jetstack.io")
CLOUDNATIVE_PG: Final = ChartRef(
    "cloudnative-pg", "0.27.0", "https://cloudnative-pg.github.io/charts"
)
# PostgreSQL image for the in-cluster database (CloudNativePG's maintained operand images).
POSTGRES_IMAGE: Final = "ghcr.io/cloudnative-pg/postgresql:17.6"
KUBE_PROMETHEUS_STACK: Final = ChartRef(
    "kube-prometheus-stack", "82.6.0", "https://prometheus-community.github.io/helm-charts"
)

# Every chart above, for the check that a local chart directory holds them all.
CHARTS: Final = (
    STRIMZI,
    DAPR,
    KEDA,
    INGRESS_NGINX,
    CERT_MANAGER,
    CLOUDNATIVE_PG,
    KUBE_PROMETHEUS_STACK,
)
