"""KEDA, from its official chart: it scales the workers on their Kafka consumer-group lag
(the ScaledObjects themselves belong to the workloads)."""

from __future__ import annotations

from typing import Final

import pulumi

from infra.components import Outputs
from infra.platform import namespaces, sizing, versions
from infra.platform.release import ChartArgs, ChartComponent, Release

RELEASE: Final = Release("keda", versions.KEDA, namespaces.KEDA)


def keda_values() -> dict[str, object]:
    return {
        "resources": {
            "operator": sizing.KEDA_OPERATOR.resources(),
            "metricServer": sizing.KEDA_METRICS_SERVER.resources(),
            "webhooks": sizing.KEDA_WEBHOOKS.resources(),
        },
        "prometheus": {"operator": {"enabled": True}, "metricServer": {"enabled": True}},
    }


class Keda(ChartComponent[ChartArgs]):
    TYPE = "todo:platform:Keda"

    def _build(self, name: str, args: ChartArgs, after: list[pulumi.Resource]) -> Outputs:
        self.ready = [self._release(args, RELEASE, keda_values(), after)]
        return {}
