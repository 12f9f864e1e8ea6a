"""From the validated stack config to the cloud foundation it asks for."""

from __future__ import annotations

from typing import Final

from infra.capacity import Volumes
from infra.cloud import aks, gke, oke
from infra.cloud.base import Allocatable, ClusterOutputs
from infra.cloud.local import LocalCluster, LocalClusterArgs
from infra.cloud.shapes import NodeArch
from stacks.config import StackConfig, required

SYSTEM_DAEMONS: Final[dict[str, Allocatable]] = {
    "oke": oke.SYSTEM_DAEMONS,
    "aks": aks.SYSTEM_DAEMONS,
    "gke": gke.SYSTEM_DAEMONS,
}


# The smallest disk each cloud creates (a smaller claim is provisioned, and billed, at it).
MIN_VOLUME_GB: Final[dict[str, int]] = {
    "oke": oke.MIN_VOLUME_GB,
    "aks": aks.MIN_VOLUME_GB,
    "gke": gke.MIN_VOLUME_GB,
    "local": 1,
}


def boot_disks(config: StackConfig) -> list[Volumes]:
    """The node pool's boot disks at the autoscaler's ceiling (none on local)."""
    if config.node_pool is None:
        return []
    pool = config.node_pool
    return [Volumes("node boot disk", pool.max_count, pool.disk_gb)]


def planned_allocatable(config: StackConfig) -> Allocatable:
    """What the node pool will offer pods, known from the config alone (before any resource)."""
    if config.local is not None:
        return config.local.allocatable
    return required(config.node_pool, "node pool").allocatable(SYSTEM_DAEMONS[config.provider])


def node_arch(config: StackConfig) -> NodeArch:
    if config.local is not None:
        return config.local.node_arch
    return required(config.node_pool, "node pool").size.arch


def node_count(config: StackConfig) -> int:
    """Nodes always present: per-node DaemonSets (node-exporter) run once on each."""
    return config.node_pool.count if config.node_pool is not None else 1


def describe_pool(config: StackConfig) -> str:
    if config.local is not None:
        return f"the cluster of context {config.local.context!r}"
    pool = required(config.node_pool, "node pool")
    return f"{pool.count} x {pool.shape} ({pool.size.vcpus} vCPU / {pool.size.memory_mib} MiB each)"


def create_cluster(name: str, config: StackConfig) -> ClusterOutputs:
    """Register the foundation of ``config.provider`` and return its common outputs."""
    if config.oke is not None:
        settings = config.oke
        return oke.OkeCluster(
            name,
            oke.OkeClusterArgs(
                region=required(config.region, "region"),
                compartment_ocid=settings.compartment_ocid,
                user_ocid=settings.user_ocid,
                registry_username=settings.registry_username,
                kubernetes_version=config.kubernetes_version,
                node_pool=required(config.node_pool, "node pool"),
                ocpus_per_node=required(config.nodes, "node pool").ocpus,
                memory_gb_per_node=required(config.nodes, "node pool").memory_gb,
                api_allowed_cidrs=settings.api_allowed_cidrs,
                config_profile=settings.config_profile,
                availability_domain=settings.availability_domain,
            ),
        ).outputs
    if config.aks is not None:
        return aks.AksCluster(
            name,
            aks.AksClusterArgs(
                location=required(config.region, "region"),
                kubernetes_version=config.kubernetes_version,
                node_pool=required(config.node_pool, "node pool"),
                admin_group_object_ids=config.aks.admin_group_object_ids,
                kubelogin_mode=config.aks.kubelogin_mode,
                sku_tier=config.aks.sku_tier,
            ),
        ).outputs
    if config.gke is not None:
        return gke.GkeCluster(
            name,
            gke.GkeClusterArgs(
                project=config.gke.project,
                region=required(config.region, "region"),
                kubernetes_version=config.kubernetes_version,
                node_pool=required(config.node_pool, "node pool"),
                zone=config.gke.zone,
                deletion_protection=config.gke.deletion_protection,
            ),
        ).outputs
    local = required(config.local, "local settings")
    return LocalCluster(
        name,
        LocalClusterArgs(
            kubeconfig=local.kubeconfig.output(),
            context=local.context,
            allocatable=local.allocatable,
            node_arch=local.node_arch,
            registry_server=local.registry_server,
            storage_class=local.storage_class,
        ),
    ).outputs
