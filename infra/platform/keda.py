"""KEDA, from its official chart: it scales the workers on their Kafka consumer-group lag
(the ScaledObjects themselves belong to the workloads)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from infra.components import child_opts, waits_for
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


@dataclass(frozen=True)
class KedaArgs:
    provider: k8s.Provider
    charts: ChartSource = REMOTE_CHARTS


class Keda(pulumi.ComponentResource):
    """Type ``todo:platform:Keda``."""

    ready: list[pulumi.Resource]

    def __init__(
        self, name: str, args: KedaArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("todo:platform:Keda", name, None, opts)
        release = helm_release(
            "keda",
            versions.KEDA,
            namespaces.KEDA,
            keda_values(),
            child_opts(self, args.provider, waits_for(opts)),
            args.charts,
        )
        self.ready = [release]
        self.register_outputs({})
