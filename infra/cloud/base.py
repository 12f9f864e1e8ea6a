"""The contract every cloud foundation fulfils, and the pieces they share.

Whatever the provider, the rest of the stack sees one :class:`ClusterOutputs`: a Kubernetes
provider bound to the new (or existing) cluster, the registry to pull from, and what the node
pool can hold, so the platform and the workloads never branch on the cloud.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol, Self, TypeVar

import pulumi
import pulumi_kubernetes as k8s

from infra.cloud.ingress_service import IngressService
from infra.cloud.shapes import MIB_PER_GIB, MachineSize, NodeArch
from infra.components import Component, child_opts


@dataclass(frozen=True)
class CpuMemory:
    """An amount of CPU (millicores) and memory (MiB); each kind adds and subtracts only with
    its own kind."""

    cpu_millicores: int
    memory_mib: int

    def __add__(self, other: Self) -> Self:
        return type(self)(
            self.cpu_millicores + other.cpu_millicores, self.memory_mib + other.memory_mib
        )

    def __sub__(self, other: Self) -> Self:
        return self + other.times(-1)

    def times(self, factor: int) -> Self:
        return type(self)(self.cpu_millicores * factor, self.memory_mib * factor)


class Allocatable(CpuMemory):
    """CPU and memory the scheduler can hand to pods."""


def _tiered(amount: float, tiers: Sequence[tuple[float, float]]) -> float:
    """Sum of ``rate`` times the part of ``amount`` falling in each ``(upper bound, rate)`` tier."""
    reserved, lower = 0.0, 0.0
    for upper, rate in tiers:
        if amount <= lower:
            break
        reserved += (min(amount, upper) - lower) * rate
        lower = upper
    return reserved


# GKE's published kube-reserved formula. OKE and AKS (1.29+) reserve the same or less, so using
# it everywhere errs on the side of refusing a stack that would not schedule.
_CPU_TIERS: Final = ((1.0, 0.06), (2.0, 0.01), (4.0, 0.005), (float("inf"), 0.0025))
_MEMORY_TIERS_GIB: Final = (
    (4.0, 0.25),
    (8.0, 0.20),
    (16.0, 0.10),
    (128.0, 0.06),
    (float("inf"), 0.02),
)
_SMALL_NODE_RESERVED_MIB: Final = 255
_EVICTION_THRESHOLD_MIB: Final = 100


def system_reserved(size: MachineSize) -> Allocatable:
    """What the kubelet keeps back on one node (kube-reserved plus the eviction threshold)."""
    cpu = _tiered(size.vcpus, _CPU_TIERS) * 1000
    memory_gib = size.memory_mib / MIB_PER_GIB
    if memory_gib < 1:
        memory_mib = float(_SMALL_NODE_RESERVED_MIB)
    else:
        memory_mib = _tiered(memory_gib, _MEMORY_TIERS_GIB) * MIB_PER_GIB
    return Allocatable(round(cpu), round(memory_mib) + _EVICTION_THRESHOLD_MIB)


@dataclass(frozen=True)
class NodePoolSpec:
    """A node pool as configured: its shape and how many nodes it keeps running."""

    shape: str
    size: MachineSize
    count: int  # nodes always present (the autoscaler's minimum)
    max_count: int  # autoscaler ceiling; equal to count when the pool does not scale
    disk_gb: int

    def allocatable(self, system_daemons: Allocatable) -> Allocatable:
        """What pods can request across the pool's guaranteed nodes.

        ``system_daemons`` is the per-node share of the provider's own DaemonSets (CNI,
        kube-proxy, CSI node plugins, log agents), which are scheduled before anything of ours.
        """
        node = Allocatable(self.size.vcpus * 1000, self.size.memory_mib)
        per_node = node - system_reserved(self.size) - system_daemons
        return per_node.times(self.count)


@dataclass(frozen=True)
class RegistryAccess:
    """Where the cluster pulls images from; a login only where the kubelet has no identity."""

    server: pulumi.Output[str]
    username: pulumi.Output[str] | None = None
    password: pulumi.Output[str] | None = None  # secret


@dataclass(frozen=True)
class ClusterOutputs:
    """What the platform and the workloads need from a cluster, whatever the cloud."""

    name: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]  # secret
    provider: k8s.Provider  # created with cluster_identifier + server-side apply
    registry: RegistryAccess  # the app's images are pushed there and pulled from there
    node_arch: NodeArch
    storage_class: str | None  # None = the cluster's default StorageClass
    allocatable_cpu_millicores: int  # total of the node pool, after system reservations
    allocatable_memory_mib: int
    ingress_service: IngressService  # how the ingress controller is reached from outside


def kubernetes_provider(
    name: str,
    *,
    kubeconfig: pulumi.Input[str],
    cluster_identifier: pulumi.Input[str],
    parent: pulumi.Resource,
    context: str | None = None,
    depends_on: Sequence[pulumi.Resource] = (),
) -> k8s.Provider:
    """The Kubernetes provider every stack uses for its cluster.

    ``cluster_identifier`` pins the provider's identity to the cluster itself: without it any
    kubeconfig change (a rotated token, a new CA bundle) would replace the provider and, with
    it, every Kubernetes resource. Server-side apply lets field managers (HPA, operators)
    co-own objects without Pulumi fighting them. ``depends_on`` holds the node pool, so nothing
    is applied to a cluster that has no nodes yet.
    """
    return k8s.Provider(
        name,
        kubeconfig=kubeconfig,
        context=context,
        cluster_identifier=cluster_identifier,
        enable_server_side_apply=True,
        opts=child_opts(parent, depends_on=depends_on),
    )


class ManagedClusterResource(Protocol):
    """What every cloud's cluster resource has: a provider-assigned id and the cluster's name."""

    @property
    def id(self) -> pulumi.Output[str]: ...

    @property
    def name(self) -> pulumi.Output[str]: ...


ArgsT = TypeVar("ArgsT")


class CloudCluster(Component[ArgsT]):
    """Base of the per-provider foundations; their ``_build`` ends with :meth:`_complete`."""

    outputs: ClusterOutputs

    def _provider_options(
        self, make_provider: Callable[[pulumi.ResourceOptions], pulumi.ProviderResource]
    ) -> tuple[pulumi.ResourceOptions, pulumi.InvokeOptions]:
        """Options for the children and lookups of this foundation, all through the cloud's
        provider that ``make_provider`` creates as a child from the options it is given.

        An explicit provider: region and credentials are the typed stack config's, never an
        ambient default of the machine running Pulumi.
        """
        provider = make_provider(child_opts(self))
        return (
            child_opts(self, provider),
            pulumi.InvokeOptions(parent=self, provider=provider),
        )

    def _complete_managed(
        self,
        name: str,
        cluster: ManagedClusterResource,
        *,
        kubeconfig: pulumi.Output[str],
        pool: NodePoolSpec,
        system_daemons: Allocatable,
        storage_class: str,
        ingress_service: IngressService,
        registry: RegistryAccess,
        ready: Sequence[pulumi.Resource],
    ) -> Mapping[str, Any]:
        """Complete a cloud-managed cluster whose nodes come from ``pool``.

        ``ready`` is what must exist before anything is applied to the cluster: the node pool
        and whatever lets the kubelet pull from the registry.
        """
        allocatable = pool.allocatable(system_daemons)
        return self._complete(
            ClusterOutputs(
                name=cluster.name,
                kubeconfig=kubeconfig,
                provider=kubernetes_provider(
                    f"{name}-k8s",
                    kubeconfig=kubeconfig,
                    cluster_identifier=cluster.id,
                    parent=self,
                    depends_on=ready,
                ),
                registry=registry,
                node_arch=pool.size.arch,
                storage_class=storage_class,
                allocatable_cpu_millicores=allocatable.cpu_millicores,
                allocatable_memory_mib=allocatable.memory_mib,
                ingress_service=ingress_service,
            )
        )

    def _complete(self, outputs: ClusterOutputs) -> Mapping[str, Any]:
        """Keep ``outputs``; return the ones to register."""
        self.outputs = outputs
        return {
            "name": outputs.name,
            "kubeconfig": outputs.kubeconfig,
            "registryServer": outputs.registry.server,
        }
