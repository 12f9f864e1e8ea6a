"""Metrics that alerts and dashboards may use although our code does not export them.

Each name is exported by a component the platform installs (infra/platform), and is listed here
with that component, so a test can tell a typo from a third-party metric. Add a name only after
checking the exporter's documentation for the version pinned in ``infra/platform/versions.py``.
"""

from __future__ import annotations

from typing import Final

KUBE_STATE_METRICS: Final = "kube-state-metrics (kube-prometheus-stack)"
CADVISOR: Final = "cAdvisor via the kubelet (kube-prometheus-stack)"
PROMETHEUS: Final = "Prometheus itself (every scrape target)"
KAFKA_EXPORTER: Final = "Strimzi kafka-exporter"
KAFKA_BROKER: Final = "Strimzi Kafka brokers (JMX exporter rules in infra/platform/kafka.py)"
DAPR_SIDECAR: Final = "Dapr sidecar (daprd, port dapr-metrics)"

EXTERNAL_METRICS: Final[dict[str, str]] = {
    # Pod and workload state.
    "kube_pod_status_ready": KUBE_STATE_METRICS,
    "kube_pod_status_phase": KUBE_STATE_METRICS,
    "kube_pod_container_status_ready": KUBE_STATE_METRICS,
    "kube_pod_container_status_restarts_total": KUBE_STATE_METRICS,
    "kube_deployment_status_replicas_available": KUBE_STATE_METRICS,
    "kube_deployment_spec_replicas": KUBE_STATE_METRICS,
    "kube_pod_container_resource_requests": KUBE_STATE_METRICS,
    "kube_pod_container_resource_limits": KUBE_STATE_METRICS,
    # Resource use per container.
    "container_cpu_usage_seconds_total": CADVISOR,
    "container_memory_working_set_bytes": CADVISOR,
    # Scrape health.
    "up": PROMETHEUS,
    # Kafka.
    "kafka_consumergroup_lag": KAFKA_EXPORTER,
    "kafka_topic_partition_current_offset": KAFKA_EXPORTER,
    "kafka_topic_partition_under_replicated_partition": KAFKA_EXPORTER,
    "kafka_brokers": KAFKA_EXPORTER,
    "kafka_server_replicamanager_underreplicatedpartitions": KAFKA_BROKER,
    "kafka_controller_kafkacontroller_offlinepartitionscount": KAFKA_BROKER,
    # Dapr sidecars.
    "dapr_runtime_component_loaded": DAPR_SIDECAR,
    "dapr_runtime_component_init_fail_total": DAPR_SIDECAR,
    "dapr_component_pubsub_ingress_count": DAPR_SIDECAR,
    "dapr_component_pubsub_egress_count": DAPR_SIDECAR,
}
