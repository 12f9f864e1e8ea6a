"""KEDA, from its official chart: it scales the workers on their Kafka consumer-group lag
(the ScaledObjects themselves belong to the workloads)."""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_kubernetes as k8s

from infra.platform import namespaces, sizing, versions
from infra.platform.k8s import REMOTE_CHARTS, ChartSource, helm_release


def keda_values() -> dict[str, object]:
    return {
        "resources": {
            "operator": sizing.KEDA_OPERATOR.resources(),
            "metricServer": sizing.KEDA_METRICS_SERVER.resources(),
            "webhooks": sizing.KEDA_WEBHOOKS.resources(),
        },
        "prometheus": {"operator": {"enabled": True}, "metricServer": {"enabled": True}},
    }


class Keda(pulumi.ComponentResource):
    """Type ``todo:platform:Keda``."""

    ready: list[pulumi.Resource]

    def __init__(
        self,
        name: str,
        provider: k8s.Provider,
        depends_on: Sequence[pulumi.Resource],
        opts: pulumi.ResourceOptions | None = None,
        charts: ChartSource = REMOTE_CHARTS,
    ) -> None:
        super().__init__("todo:platform:Keda", name, None, opts)
        release = helm_release(
            "keda",
            versions.KEDA,
            namespaces.KEDA,
            keda_values(),
            pulumi.ResourceOptions(parent=self, provider=provider, depends_on=list(depends_on)),
            charts,
        )
        self.ready = [release]
        self.register_outputs({})
