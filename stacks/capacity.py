"""Does what the stack deploys fit the node pool it deploys it on?

Checked before any resource is registered: a `pulumi up` that would create a cluster and then
leave half the platform Pending is refused up front, with both figures in the message.
"""

from __future__ import annotations

from dataclasses import dataclass

from infra.capacity import Requests
from infra.cloud.base import Allocatable


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
