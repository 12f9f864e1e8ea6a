"""Metrics that alerts and dashboards may use although our code does not export them.

Each name is exported by a component the platform installs (infra/platform) and is listed with
that component, so a test can tell a typo from a third-party metric. Add a name only after
checking the exporter's documentation for the version pinned in ``infra/platform/versions.py``.
Expressions name these through the constants, never as string literals.
"""

from __future__ import annotations

from typing import Final

KUBE_STATE_METRICS: Final = "kube-state-metrics (kube-prometheus-stack)"
CADVISOR: Final = "cAdvisor via the kubelet (kube-prometheus-stack)"
PROMETHEUS: Final = "Prometheus itself (every scrape target)"
KAFKA_EXPORTER: Final = "Strimzi kafka-exporter"
KAFKA_BROKER: Final = "Strimzi Kafka brokers (JMX exporter rules in infra/platform/kafka.py)"
DAPR_SIDECAR: Final = "Dapr sidecar (daprd, port dapr-metrics)"

# Pod and workload state.
KUBE_POD_STATUS_READY: Final = "kube_pod_status_ready"
KUBE_POD_STATUS_PHASE: Final = "kube_pod_status_phase"
KUBE_POD_CONTAINER_STATUS_READY: Final = "kube_pod_container_status_ready"
KUBE_POD_CONTAINER_STATUS_RESTARTS_TOTAL: Final = "kube_pod_container_status_restarts_total"
KUBE_DEPLOYMENT_STATUS_REPLICAS_AVAILABLE: Final = "kube_deployment_status_replicas_available"
KUBE_DEPLOYMENT_SPEC_REPLICAS: Final = "kube_deployment_spec_replicas"
# Resource use per container.
CONTAINER_CPU_USAGE_SECONDS_TOTAL: Final = "container_cpu_usage_seconds_total"
CONTAINER_MEMORY_WORKING_SET_BYTES: Final = "container_memory_working_set_bytes"
# Scrape health.
UP: Final = "up"
# Kafka.
KAFKA_CONSUMERGROUP_LAG: Final = "kafka_consumergroup_lag"
KAFKA_TOPIC_PARTITION_UNDER_REPLICATED: Final = "kafka_topic_partition_under_replicated_partition"
KAFKA_OFFLINE_PARTITIONS: Final = "kafka_controller_kafkacontroller_offlinepartitionscount"
# Dapr sidecars (OpenCensus counters: no _total suffix).
DAPR_COMPONENT_INIT_FAIL: Final = "dapr_runtime_component_init_fail_total"
DAPR_COMPONENT_LOADED: Final = "dapr_runtime_component_loaded"
DAPR_PUBSUB_INGRESS: Final = "dapr_component_pubsub_ingress_count"
DAPR_PUBSUB_EGRESS: Final = "dapr_component_pubsub_egress_count"

EXTERNAL_METRICS: Final[dict[str, str]] = {
    KUBE_POD_STATUS_READY: KUBE_STATE_METRICS,
    KUBE_POD_STATUS_PHASE: KUBE_STATE_METRICS,
    KUBE_POD_CONTAINER_STATUS_READY: KUBE_STATE_METRICS,
    KUBE_POD_CONTAINER_STATUS_RESTARTS_TOTAL: KUBE_STATE_METRICS,
    KUBE_DEPLOYMENT_STATUS_REPLICAS_AVAILABLE: KUBE_STATE_METRICS,
    KUBE_DEPLOYMENT_SPEC_REPLICAS: KUBE_STATE_METRICS,
    CONTAINER_CPU_USAGE_SECONDS_TOTAL: CADVISOR,
    CONTAINER_MEMORY_WORKING_SET_BYTES: CADVISOR,
    UP: PROMETHEUS,
    KAFKA_CONSUMERGROUP_LAG: KAFKA_EXPORTER,
    KAFKA_TOPIC_PARTITION_UNDER_REPLICATED: KAFKA_EXPORTER,
    KAFKA_OFFLINE_PARTITIONS: KAFKA_BROKER,
    DAPR_COMPONENT_INIT_FAIL: DAPR_SIDECAR,
    DAPR_COMPONENT_LOADED: DAPR_SIDECAR,
    DAPR_PUBSUB_INGRESS: DAPR_SIDECAR,
    DAPR_PUBSUB_EGRESS: DAPR_SIDECAR,
}
