"""Small building blocks shared by the platform and workload components.

* :class:`KubeObject` registers any Kubernetes object, custom or built in, from its full manifest.
  The generated ``apiextensions.CustomResource`` only carries ``metadata`` and ``spec``, but Dapr
  resources keep ``scopes`` at the top level; a manifest-shaped resource sends every field.
* :func:`helm_release` installs a pinned chart as a ``helm.v3.Release``: a Release runs the chart's
  hooks (``helm.v4.Chart`` drops them) and previews cleanly while the cluster does not exist yet
  (``helm.v4.Chart`` renders against the cluster at preview, pulumi-kubernetes issue 3027).
  :class:`ChartSource` says where the chart comes from: its repository, or a local archive.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

# Labels every object of ours carries, so policies, selectors and `kubectl` can find them.
PART_OF = "app.kubernetes.io/part-of"
PLATFORM_NAME = "todo-platform"
MANAGED_BY = {"app.kubernetes.io/managed-by": "pulumi"}


@dataclass(frozen=True)
class ChartRef:
    """A Helm chart pinned to one version in one repository: an https chart repository, or an
    OCI registry (``oci://host/path``, where the chart is ``<repo>/<chart>``)."""

    chart: str
    version: str
    repo: str

    @property
    def oci(self) -> bool:
        return self.repo.startswith("oci://")

    def release_chart(self) -> tuple[str, k8s.helm.v3.RepositoryOptsArgs | None]:
        """``chart`` and ``repository_opts`` of a ``helm.v3.Release`` for this chart: an OCI
        chart is named by its full reference and takes no repository options."""
        if self.oci:
            return f"{self.repo.rstrip('/')}/{self.chart}", None
        return self.chart, k8s.helm.v3.RepositoryOptsArgs(repo=self.repo)


@dataclass(frozen=True)
class ChartSource:
    """Where Helm charts come from: each chart's own repository (``directory`` None, the
    default), or a directory of the pinned archives, named as ``helm pull`` names them
    (``<chart>-<version>.tgz``): for clusters without internet access and for the deploy tests.
    """

    directory: Path | None = None

    def archive(self, ref: ChartRef) -> Path | None:
        """The local archive of ``ref``, or None when charts come from their repositories."""
        if self.directory is None:
            return None
        return self.directory / f"{ref.chart}-{ref.version}.tgz"

    def missing(self, refs: Sequence[ChartRef]) -> list[str]:
        """The archive names among ``refs`` that the directory lacks (none for repositories)."""
        archives = [self.archive(ref) for ref in refs]
        return [path.name for path in archives if path is not None and not path.is_file()]


REMOTE_CHARTS = ChartSource()


class KubeObject(pulumi.CustomResource):
    """A Kubernetes object registered from its whole manifest (``apiVersion``, ``kind``, ...)."""

    def __init__(
        self,
        resource_name: str,
        manifest: Mapping[str, Any],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        for key in ("apiVersion", "kind", "metadata"):
            if key not in manifest:
                raise ValueError(f"manifest for {resource_name!r} has no {key!r}")
        super().__init__(
            f"kubernetes:{manifest['apiVersion']}:{manifest['kind']}",
            resource_name,
            dict(manifest),
            opts,
        )


def await_ready(enabled: bool) -> dict[str, str]:
    """Annotations that make ``pulumi up`` wait until the operator reports the resource Ready.

    Custom resources are not awaited by default; waiting means what depends on them (topics,
    workloads) is created against a running broker or database. ``enabled`` is false only where
    no operator runs (the deploy tests' simulated nodes), where the wait could never end.
    """
    return {"pulumi.com/waitFor": "condition=Ready"} if enabled else {}


def secret(value: pulumi.Input[str]) -> pulumi.Output[str]:
    """``value`` as a secret output (kept encrypted in state, masked in logs)."""
    return pulumi.Output.secret(value)


def metadata(
    name: str,
    namespace: str | None = None,
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Manifest ``metadata`` with a fixed name (no auto-naming: other objects refer to it)."""
    meta: dict[str, Any] = {"name": name, "labels": {**MANAGED_BY, **(labels or {})}}
    if namespace is not None:
        meta["namespace"] = namespace
    if annotations:
        meta["annotations"] = dict(annotations)
    return meta


def object_meta(
    name: str,
    namespace: str | None = None,
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
) -> k8s.meta.v1.ObjectMetaArgs:
    """The typed twin of :func:`metadata` for the generated built-in resource classes."""
    return k8s.meta.v1.ObjectMetaArgs(
        name=name,
        namespace=namespace,
        labels={**MANAGED_BY, **(labels or {})},
        annotations=dict(annotations) if annotations else None,
    )


def helm_release(
    name: str,
    ref: ChartRef,
    namespace: str,
    values: Mapping[str, Any],
    opts: pulumi.ResourceOptions,
    charts: ChartSource = REMOTE_CHARTS,
    timeout_seconds: int = 600,
    skip_crds: bool = False,
) -> k8s.helm.v3.Release:
    """Install ``ref`` (from ``charts``) into ``namespace`` and wait until its workloads are ready.

    ``atomic`` rolls a failed upgrade back instead of leaving a half-applied release, and the
    release name is fixed so that chart-generated service names are predictable.
    """
    archive = charts.archive(ref)
    chart, repository_opts = ref.release_chart()
    return k8s.helm.v3.Release(
        name,
        k8s.helm.v3.ReleaseArgs(
            name=name,
            # A local archive is one version of one chart: no version or repository to name.
            chart=chart if archive is None else str(archive),
            version=ref.version if archive is None else None,
            repository_opts=repository_opts if archive is None else None,
            namespace=namespace,
            create_namespace=False,
            values=dict(values),
            atomic=True,
            cleanup_on_fail=True,
            skip_await=False,
            timeout=timeout_seconds,
            max_history=5,
            # The CRDs are applied on their own (infra/platform/crds.py) where Helm would never
            # upgrade them.
            skip_crds=skip_crds,
        ),
        opts,
    )
