"""Scaling and disruption: the API's HorizontalPodAutoscaler and PodDisruptionBudget, and a KEDA
``ScaledObject`` per consuming worker, scaled on its consumer-group lag up to the partition count
(a consumer beyond the partition count would get no partition and sit idle)."""

from __future__ import annotations

from typing import Any, Final, Literal

import pulumi
import pulumi_kubernetes as k8s

from infra.platform import namespaces
from infra.platform.k8s import metadata
from infra.workloads import catalog

EventTransport = Literal["kafka", "dapr"]

API_CPU_TARGET_PERCENT: Final = 70
# Unconsumed events per replica before KEDA adds one.
LAG_PER_REPLICA: Final = 50


def hpa_spec(
    app_id: str, min_replicas: int, max_replicas: int
) -> k8s.autoscaling.v2.HorizontalPodAutoscalerSpecArgs:
    v2 = k8s.autoscaling.v2
    return v2.HorizontalPodAutoscalerSpecArgs(
        scale_target_ref=v2.CrossVersionObjectReferenceArgs(
            api_version="apps/v1", kind="Deployment", name=app_id
        ),
        min_replicas=min_replicas,
        max_replicas=max_replicas,
        metrics=[
            v2.MetricSpecArgs(
                type="Resource",
                resource=v2.ResourceMetricSourceArgs(
                    name="cpu",
                    target=v2.MetricTargetArgs(
                        type="Utilization", average_utilization=API_CPU_TARGET_PERCENT
                    ),
                ),
            )
        ],
        # Scale in slowly: a burst that just ended often comes back.
        behavior=v2.HorizontalPodAutoscalerBehaviorArgs(
            scale_down=v2.HPAScalingRulesArgs(stabilization_window_seconds=300)
        ),
    )


def pdb_spec(selector: dict[str, str]) -> k8s.policy.v1.PodDisruptionBudgetSpecArgs:
    # maxUnavailable (not minAvailable) so a single-replica stack never blocks a node drain;
    # unhealthy pods may always be evicted, they serve nothing.
    return k8s.policy.v1.PodDisruptionBudgetSpecArgs(
        max_unavailable=1,
        selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector),
        unhealthy_pod_eviction_policy="AlwaysAllow",
    )


def consumer_group(
    app: catalog.App, consumption: catalog.Consumption, transport: EventTransport
) -> str:
    """The Kafka consumer group that really reads: the worker's own group with aiokafka,
    the app id when the Dapr sidecar consumes (Dapr's default consumer id)."""
    return consumption.group if transport == "kafka" else app.app_id


def scaled_object_manifest(
    app: catalog.App, bootstrap: pulumi.Input[str], transport: EventTransport
) -> dict[str, Any]:
    return {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": metadata(app.app_id, namespaces.APP),
        "spec": {
            "scaleTargetRef": {"name": app.app_id},
            # Never zero: the notifier holds reminder timers, the others keep their group warm.
            "minReplicaCount": app.min_replicas,
            "maxReplicaCount": app.max_consumers,
            "pollingInterval": 30,
            "cooldownPeriod": 300,
            "triggers": [
                {
                    "type": "kafka",
                    "metadata": {
                        "bootstrapServers": bootstrap,
                        "consumerGroup": consumer_group(app, consumption, transport),
                        "topic": consumption.topic.name,
                        "lagThreshold": str(LAG_PER_REPLICA),
                        "offsetResetPolicy": "earliest",
                        "allowIdleConsumers": "false",
                    },
                }
                for consumption in app.consumes
            ],
        },
    }
