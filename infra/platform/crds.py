"""The CustomResourceDefinitions Helm would never upgrade, applied as resources of their own.

Helm installs a chart's ``crds/`` directory on the first install only and skips it on every
upgrade (https://helm.sh/docs/chart_best_practices/custom_resource_definitions/): bumping an
operator in :mod:`infra.platform.versions` would leave the old CRDs in the cluster. So the CRDs of
the charts that ship them that way (Strimzi, Dapr, kube-prometheus-stack) are read from the
pinned archive and applied with server-side apply, and their releases skip them
(``skip_crds``). KEDA, cert-manager and CloudNativePG template their CRDs, which Helm upgrades
with the release.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Final

import pulumi
import pulumi_kubernetes as k8s

from infra.components import Component, Outputs, child_opts
from infra.platform import versions
from infra.platform.chart_archive import ChartArchive
from infra.platform.k8s import ChartRef

# Charts whose CRDs sit in crds/ (never upgraded by Helm).
CRD_CHARTS: Final = (versions.STRIMZI, versions.DAPR, versions.KUBE_PROMETHEUS_STACK)

ArchiveLocator = Callable[[ChartRef], Path]


@cache
def _crd_files(archive: Path) -> tuple[str, ...]:
    """Read once per archive and process."""
    return tuple(ChartArchive(archive).crd_files())


@dataclass(frozen=True)
class OperatorCrdsArgs:
    provider: k8s.Provider
    locate: ArchiveLocator  # the pinned archive of a chart, whose crds/ are applied


class OperatorCrds(Component[OperatorCrdsArgs]):
    """``by_chart[chart]`` applies that chart's CRDs.

    One ``yaml.v2.ConfigGroup`` per chart, fed the chart's files as written: the provider parses
    them and applies each CRD (server-side apply), and a release that depends on the group waits
    for every CRD in it ("Ordering across ConfigGroups",
    https://www.pulumi.com/registry/packages/kubernetes/api-docs/yaml/v2/configgroup/). Three
    megabytes of schemas go as one text input per chart, rather than thirty nested objects the
    program would serialize field by field (4-7 s per run of the program, measured).
    """

    TYPE = "todo:platform:OperatorCrds"

    by_chart: dict[str, list[pulumi.Resource]]

    def _build(self, name: str, args: OperatorCrdsArgs, after: list[pulumi.Resource]) -> Outputs:
        child = child_opts(self, args.provider, after)
        self.by_chart = {}
        for ref in CRD_CHARTS:
            files = _crd_files(args.locate(ref))
            if not files:
                raise ValueError(f"{ref.chart} {ref.version} ships no CRDs in crds/")
            group = k8s.yaml.v2.ConfigGroup(
                f"crds-{ref.chart}", yaml="\n---\n".join(files), opts=child
            )
            self.by_chart[ref.chart] = [group]
        return {}
