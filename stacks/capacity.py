"""Does what the stack deploys fit the node pool it deploys it on, and the block storage it
may use?

Checked before any resource is registered: a `pulumi up` that would create a cluster and then
leave half the platform Pending (or exceed a free tier's storage) is refused up front, with the
figures in the message.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from infra.capacity import Requests, SizingPlan, Volumes, platform_volumes, requests
from infra.cloud.base import Allocatable
from stacks.cluster import MIN_VOLUME_GB, boot_disks, describe_pool, node_count, planned_allocatable
from stacks.config import StackConfig


class CapacityError(RuntimeError):
    """The stack's pods request more CPU or memory than the node pool can schedule."""


@dataclass(frozen=True)
class CapacityReport:
    requested: Requests
    allocatable: Allocatable

    @property
    def fits(self) -> bool:
        return (
            self.requested.cpu_millicores <= self.allocatable.cpu_millicores
            and self.requested.memory_mib <= self.allocatable.memory_mib
        )

    def summary(self) -> str:
        return (
            f"requests {self.requested.cpu_millicores}m CPU / {self.requested.memory_mib} MiB "
            f"memory; allocatable {self.allocatable.cpu_millicores}m CPU / "
            f"{self.allocatable.memory_mib} MiB memory"
        )


def check_capacity(requested: Requests, allocatable: Allocatable, pool: str) -> CapacityReport:
    """Return the report when the requests fit ``allocatable``; raise :class:`CapacityError`."""
    report = CapacityReport(requested, allocatable)
    if not report.fits:
        raise CapacityError(
            f"the stack does not fit {pool}: {report.summary()}. Use more or larger nodes "
            "(nodeCount, nodeShape, nodeOcpus/nodeMemoryGb) or fewer replicas "
            "(apiReplicas, kafkaReplicas)."
        )
    return report


@dataclass(frozen=True)
class StorageReport:
    """Block storage the stack provisions: every disk at the provider's minimum size."""

    volumes: tuple[Volumes, ...]
    minimum_gb: int
    limit_gb: int | None

    @property
    def total_gb(self) -> int:
        return sum(v.provisioned_gb(self.minimum_gb) for v in self.volumes)

    @property
    def fits(self) -> bool:
        return self.limit_gb is None or self.total_gb <= self.limit_gb

    def summary(self) -> str:
        parts = []
        for v in self.volumes:
            size = max(v.size_gb, self.minimum_gb)
            rounded = f" ({v.size_gb} GB asked)" if size != v.size_gb else ""
            parts.append(f"{v.what} {v.count} x {size} GB{rounded}")
        limit = f" of {self.limit_gb} GB" if self.limit_gb is not None else ""
        return f"{', '.join(parts)} = {self.total_gb} GB{limit}"


def check_storage(
    volumes: Sequence[Volumes], minimum_gb: int, limit_gb: int | None
) -> StorageReport:
    """Return the report when the disks fit ``limit_gb``; raise :class:`CapacityError`."""
    report = StorageReport(tuple(volumes), minimum_gb, limit_gb)
    if not report.fits:
        raise CapacityError(
            f"the stack's block storage exceeds storageLimitGb: {report.summary()} "
            f"(every disk is at least {minimum_gb} GB here). Use smaller or fewer volumes "
            "(kafkaStorageGi, kafkaReplicas, databaseStorageGi, nodeDiskGb, nodeCount) or raise "
            "storageLimitGb."
        )
    return report


def sizing_plan(config: StackConfig) -> SizingPlan:
    """What the stack will run, as the capacity check counts it, from its config alone."""
    return SizingPlan(
        kafka_replicas=config.kafka.replicas,
        kafka_storage_gi=config.kafka.storage_gi,
        database_mode=config.database.mode,
        database_storage_gi=config.database.storage_gi,
        with_tls=config.ingress.domain is not None,
        node_count=node_count(config),
        api_replicas=config.api.replicas,
    )


def check_stack_fits(config: StackConfig) -> tuple[CapacityReport, StorageReport]:
    """Both checks on the stack ``config`` describes; raise :class:`CapacityError` on either."""
    plan = sizing_plan(config)
    return (
        check_capacity(requests(plan), planned_allocatable(config), describe_pool(config)),
        check_storage(
            [*platform_volumes(plan), *boot_disks(config)],
            MIN_VOLUME_GB[config.provider],
            config.storage_limit_gb,
        ),
    )
