"""Kafka: the Strimzi operator, one KRaft ``Kafka`` with a dual-role ``KafkaNodePool``, and a
``KafkaTopic`` per topic of the process catalogue (``app.core.processes.TOPICS``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import pulumi
import pulumi_kubernetes as k8s
import yaml

from app.core import processes
from app.core.events.topics import Topic
from infra.components import Outputs, child_opts
from infra.platform import namespaces, sizing, versions
from infra.platform.k8s import KubeObject, await_ready, metadata, object_meta
from infra.platform.release import ChartArgs, ChartComponent, Release

CLUSTER: Final = "todo"
NODE_POOL: Final = "dual-role"
PLAIN_PORT: Final = 9092
API_VERSION: Final = "kafka.strimzi.io/v1"
METRICS_CONFIG_MAP: Final = "kafka-metrics"
METRICS_KEY: Final = "kafka-metrics-config.yml"
BOOTSTRAP: Final = f"{CLUSTER}-kafka-bootstrap.{namespaces.KAFKA}.svc:{PLAIN_PORT}"
CLUSTER_LABEL: Final = {"strimzi.io/cluster": CLUSTER}
OPERATOR: Final = Release("strimzi", versions.STRIMZI, namespaces.KAFKA)


@dataclass(frozen=True)
class KafkaArgs(ChartArgs):
    replicas: int
    storage_gi: int
    storage_class: str | None
    # Wait for Strimzi to report the cluster and each topic Ready (see k8s.await_ready).
    await_operator: bool = True

    def __post_init__(self) -> None:
        if self.replicas < 1:
            raise ValueError(f"kafka_replicas must be at least 1, got {self.replicas}")
        if self.storage_gi < 1:
            raise ValueError(f"kafka_storage_gi must be at least 1, got {self.storage_gi}")


def replication(replicas: int) -> tuple[int, int]:
    """(replication factor, min in-sync replicas): 3/2 in production, 1/1 on a single broker."""
    factor = min(replicas, 3)
    return factor, max(1, factor - 1)


# JMX exporter rules: broker, controller, network and log metrics under `kafka_*` names.
JMX_RULES: Final[dict[str, Any]] = {
    "lowercaseOutputName": True,
    "lowercaseOutputLabelNames": True,
    "rules": [
        {
            "pattern": r"kafka.(\w+)<type=(.+), name=(.+)PerSec\w*, topic=(.+)><>Count",
            "name": "kafka_$1_$2_$3_total",
            "type": "COUNTER",
            "labels": {"topic": "$4"},
        },
        {
            "pattern": r"kafka.(\w+)<type=(.+), name=(.+)PerSec\w*><>Count",
            "name": "kafka_$1_$2_$3_total",
            "type": "COUNTER",
        },
        {
            "pattern": r"kafka.(\w+)<type=(.+), name=(.+), topic=(.+), partition=(.+)><>Value",
            "name": "kafka_$1_$2_$3",
            "type": "GAUGE",
            "labels": {"topic": "$4", "partition": "$5"},
        },
        {
            "pattern": r"kafka.network<type=(.+), name=(.+), request=(.+)><>(\d+)thPercentile",
            "name": "kafka_network_$1_$2",
            "type": "GAUGE",
            "labels": {"request": "$3", "quantile": "0.$4"},
        },
        {
            "pattern": r"kafka.(\w+)<type=(.+), name=(.+)><>(Count|Value)",
            "name": "kafka_$1_$2_$3",
            "type": "GAUGE",
        },
    ],
}


def kafka_manifest(replicas: int, wait: bool = True) -> dict[str, Any]:
    factor, min_isr = replication(replicas)
    return {
        "apiVersion": API_VERSION,
        "kind": "Kafka",
        "metadata": metadata(CLUSTER, namespaces.KAFKA, annotations=await_ready(wait)),
        "spec": {
            "kafka": {
                "version": versions.KAFKA_VERSION,
                "metadataVersion": versions.KAFKA_METADATA_VERSION,
                "listeners": [
                    {"name": "plain", "port": PLAIN_PORT, "type": "internal", "tls": False}
                ],
                "config": {
                    "offsets.topic.replication.factor": factor,
                    "transaction.state.log.replication.factor": factor,
                    "transaction.state.log.min.isr": min_isr,
                    "default.replication.factor": factor,
                    "min.insync.replicas": min_isr,
                    # Topics exist only as KafkaTopic resources: a typo must not create one.
                    "auto.create.topics.enable": False,
                },
                "metricsConfig": {
                    "type": "jmxPrometheusExporter",
                    "valueFrom": {
                        "configMapKeyRef": {"name": METRICS_CONFIG_MAP, "key": METRICS_KEY}
                    },
                },
            },
            "entityOperator": {
                "topicOperator": {"resources": sizing.KAFKA_TOPIC_OPERATOR.resources()}
            },
            # Consumer-group lag per partition, for dashboards and alerts.
            "kafkaExporter": {
                "topicRegex": ".*",
                "groupRegex": ".*",
                "resources": sizing.KAFKA_EXPORTER.resources(),
            },
        },
    }


def node_pool_manifest(replicas: int, storage_gi: int, storage_class: str | None) -> dict[str, Any]:
    volume: dict[str, Any] = {
        "id": 0,
        "type": "persistent-claim",
        "size": f"{storage_gi}Gi",
        "deleteClaim": False,
        "kraftMetadata": "shared",
    }
    if storage_class is not None:
        volume["class"] = storage_class
    heap = f"{sizing.KAFKA_HEAP_MI}m"
    return {
        "apiVersion": API_VERSION,
        "kind": "KafkaNodePool",
        "metadata": metadata(NODE_POOL, namespaces.KAFKA, labels=CLUSTER_LABEL),
        "spec": {
            "replicas": replicas,
            "roles": ["controller", "broker"],
            "storage": {"type": "jbod", "volumes": [volume]},
            "resources": sizing.KAFKA_BROKER.resources(),
            "jvmOptions": {"-Xms": heap, "-Xmx": heap},
        },
    }


def topic_manifest(topic: Topic, broker_replicas: int, wait: bool = True) -> dict[str, Any]:
    factor, _ = replication(broker_replicas)
    return {
        "apiVersion": API_VERSION,
        "kind": "KafkaTopic",
        "metadata": metadata(
            topic.name, namespaces.KAFKA, labels=CLUSTER_LABEL, annotations=await_ready(wait)
        ),
        "spec": {
            "topicName": topic.name,
            "partitions": topic.partitions,
            "replicas": factor,
            "config": dict(topic.config),
        },
    }


class Kafka(ChartComponent[KafkaArgs]):
    TYPE = "todo:platform:Kafka"

    bootstrap: str

    def _build(self, name: str, args: KafkaArgs, after: list[pulumi.Resource]) -> Outputs:
        provider = args.provider
        values = {"resources": sizing.STRIMZI_OPERATOR.resources(), "watchAnyNamespace": False}
        operator = self._release(args, OPERATOR, values, after, skip_crds=True)
        metrics = k8s.core.v1.ConfigMap(
            METRICS_CONFIG_MAP,
            metadata=object_meta(METRICS_CONFIG_MAP, namespaces.KAFKA),
            data={METRICS_KEY: yaml.safe_dump(JMX_RULES, sort_keys=False)},
            opts=child_opts(self, provider, after),
        )
        after_operator = child_opts(self, provider, [operator, metrics])
        pool = KubeObject(
            "kafka-node-pool",
            node_pool_manifest(args.replicas, args.storage_gi, args.storage_class),
            after_operator,
        )
        cluster = KubeObject(
            "kafka",
            kafka_manifest(args.replicas, args.await_operator),
            # A first broker start pulls images and formats storage: allow for slow nodes.
            child_opts(self, provider, [operator, metrics, pool], slow="20m"),
        )
        self.topics = [
            KubeObject(
                f"topic-{topic.name}",
                topic_manifest(topic, args.replicas, args.await_operator),
                child_opts(self, provider, [cluster]),
            )
            for topic in processes.TOPICS
        ]
        self.bootstrap = BOOTSTRAP
        self.ready = [operator, cluster, *self.topics]
        return {"bootstrap": BOOTSTRAP}
