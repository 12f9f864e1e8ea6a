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

import copy
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any, Final

import pulumi
import pulumi_kubernetes as k8s

from infra.platform import versions
from infra.platform.chart_archive import ChartArchive
from infra.platform.k8s import ChartRef, KubeObject

# Charts whose CRDs sit in crds/ (never upgraded by Helm).
CRD_CHARTS: Final = (versions.STRIMZI, versions.DAPR, versions.KUBE_PROMETHEUS_STACK)

ArchiveLocator = Callable[[ChartRef], Path]


@cache
def _crds_of(archive: Path) -> tuple[dict[str, Any], ...]:
    """Parsed once per archive and process (each is megabytes of YAML)."""
    return tuple(ChartArchive(archive).crds())


class OperatorCrds(pulumi.ComponentResource):
    """Type ``todo:platform:OperatorCrds``: ``by_chart[chart]`` is that chart's CRDs."""

    by_chart: dict[str, list[pulumi.Resource]]

    def __init__(
        self,
        name: str,
        provider: k8s.Provider,
        locate: ArchiveLocator,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("todo:platform:OperatorCrds", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=provider)
        self.by_chart = {}
        for ref in CRD_CHARTS:
            documents = [copy.deepcopy(doc) for doc in _crds_of(locate(ref))]
            if not documents:
                raise ValueError(f"{ref.chart} {ref.version} ships no CRDs in crds/")
            self.by_chart[ref.chart] = [
                KubeObject(f"crd-{doc['metadata']['name']}", doc, child) for doc in documents
            ]
        self.register_outputs({})
