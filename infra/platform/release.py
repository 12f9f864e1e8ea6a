"""What the platform's operator components share: the cluster they install on and where their
charts come from (:class:`ChartArgs`), and installing a :class:`Release` of a chart as their
child (:meth:`ChartComponent._release`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import pulumi
import pulumi_kubernetes as k8s

from infra.components import Component, child_opts
from infra.platform.k8s import REMOTE_CHARTS, ChartRef, ChartSource, helm_release


@dataclass(frozen=True)
class Release:
    """A chart as the platform installs it: under a fixed release name (the chart derives its
    service names from it, and other components address those), into its namespace."""

    name: str
    chart: ChartRef
    namespace: str


# Keyword-only, so that each component's own fields keep their positions before these two.
@dataclass(frozen=True, kw_only=True)
class ChartArgs:
    provider: k8s.Provider
    charts: ChartSource = REMOTE_CHARTS


ChartArgsT = TypeVar("ChartArgsT", bound=ChartArgs)


class ChartComponent(Component[ChartArgsT]):
    """A platform component built around operator charts; ``ready`` is what the workloads wait
    for (the releases, and the custom resources their operators report Ready)."""

    ready: list[pulumi.Resource]

    def _release(
        self,
        args: ChartArgsT,
        release: Release,
        values: Mapping[str, Any],
        after: Sequence[pulumi.Resource],
        *,
        timeout_seconds: int = 600,
        skip_crds: bool = False,
    ) -> k8s.helm.v3.Release:
        """Install ``release`` with ``values``: a child created after ``after``, on the
        component's cluster, its chart from the component's chart source."""
        return helm_release(
            release.name,
            release.chart,
            release.namespace,
            values,
            child_opts(self, args.provider, after),
            args.charts,
            timeout_seconds=timeout_seconds,
            skip_crds=skip_crds,
        )
