"""What a node of a given shape offers: vCPUs, memory and CPU architecture, per cloud.

Pure functions, used twice: by the stack configuration to refuse a shape it cannot size, and
by the capacity check to compare what the stack requests with what the node pool offers.
Only families whose sizes follow a published rule are accepted; anything else is refused with
the accepted forms rather than guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

NodeArch = Literal["amd64", "arm64"]
NODE_ARCHS: Final[tuple[NodeArch, ...]] = ("amd64", "arm64")
MIB_PER_GIB: Final = 1024


class ShapeError(ValueError):
    """A node shape, or its size, is outside what this module can size."""


@dataclass(frozen=True)
class MachineSize:
    """One node: vCPUs, memory and CPU architecture."""

    vcpus: int
    memory_mib: int
    arch: NodeArch


# --- Oracle Cloud: flexible shapes, sized by OCPUs and memory -------------------------------


@dataclass(frozen=True)
class OciFlexShape:
    arch: NodeArch
    # An Ampere (Arm) OCPU is one core = one vCPU; an AMD/Intel OCPU is one core = two vCPUs.
    vcpus_per_ocpu: int
    max_ocpus: int
    max_memory_gb: int

    def memory_range_gb(self, ocpus: int) -> range:
        """Memory OCI accepts for ``ocpus``: 1 to 64 GB per OCPU, capped by the shape."""
        return range(ocpus, min(self.max_memory_gb, ocpus * OCI_MAX_MEMORY_GB_PER_OCPU) + 1)


OCI_MAX_MEMORY_GB_PER_OCPU: Final = 64
OCI_FLEX_SHAPES: Final[dict[str, OciFlexShape]] = {
    "VM.Standard.A1.Flex": OciFlexShape("arm64", 1, 80, 512),
    "VM.Standard.E4.Flex": OciFlexShape("amd64", 2, 64, 1024),
    "VM.Standard.E5.Flex": OciFlexShape("amd64", 2, 94, 1049),
}


def oci_flex_size(shape: str, ocpus: int, memory_gb: int) -> MachineSize:
    """Size of an OCI flexible VM, refusing combinations OCI itself would refuse."""
    spec = OCI_FLEX_SHAPES.get(shape)
    if spec is None:
        raise ShapeError(f"unsupported OCI shape {shape!r}; allowed: {', '.join(OCI_FLEX_SHAPES)}")
    if not 1 <= ocpus <= spec.max_ocpus:
        raise ShapeError(f"{shape} takes 1 to {spec.max_ocpus} OCPUs, got {ocpus}")
    memory = spec.memory_range_gb(ocpus)
    if memory_gb not in memory:
        raise ShapeError(
            f"{shape} with {ocpus} OCPUs takes {memory.start} to {memory.stop - 1} GB of memory "
            f"(1 to {OCI_MAX_MEMORY_GB_PER_OCPU} GB per OCPU), got {memory_gb}"
        )
    return MachineSize(ocpus * spec.vcpus_per_ocpu, memory_gb * MIB_PER_GIB, spec.arch)


# --- Azure: VM size names encode family, vCPUs and features --------------------------------

# Standard_<family><vCPUs><features>_v<version>, e.g. Standard_D4s_v5, Standard_D4ps_v6.
_AZURE_SIZE = re.compile(
    r"^Standard_(?P<family>[DEF])(?P<vcpus>\d+)(?P<features>[a-z]*)_v(?P<v>\d)$"
)
# GiB per vCPU by family; the "l" (low memory) feature halves it.
_AZURE_GIB_PER_VCPU: Final = {"D": 4, "E": 8, "F": 2}
_AZURE_VERSIONS: Final = {"D": range(3, 7), "E": range(3, 7), "F": range(2, 3)}
# The burstable B-series has no rule linking name and memory: the common sizes, listed.
_AZURE_B_SERIES: Final[dict[str, MachineSize]] = {
    "Standard_B2s": MachineSize(2, 4 * MIB_PER_GIB, "amd64"),
    "Standard_B2ms": MachineSize(2, 8 * MIB_PER_GIB, "amd64"),
    "Standard_B4ms": MachineSize(4, 16 * MIB_PER_GIB, "amd64"),
    "Standard_B8ms": MachineSize(8, 32 * MIB_PER_GIB, "amd64"),
}
AZURE_SIZE_FORMS: Final = (
    "Standard_D<n>[features]_v3..v6, Standard_E<n>[features]_v3..v6, Standard_F<n>s_v2, "
    + ", ".join(_AZURE_B_SERIES)
)


def azure_vm_size(size: str) -> MachineSize:
    """Size of an Azure VM size name (D/E/F general-purpose families and common B sizes)."""
    if size in _AZURE_B_SERIES:
        return _AZURE_B_SERIES[size]
    match = _AZURE_SIZE.match(size)
    if match is None or int(match["v"]) not in _AZURE_VERSIONS[match["family"]]:
        raise ShapeError(f"unsupported Azure VM size {size!r}; allowed forms: {AZURE_SIZE_FORMS}")
    vcpus = int(match["vcpus"])
    features = match["features"]
    gib_per_vcpu = _AZURE_GIB_PER_VCPU[match["family"]]
    memory_mib = vcpus * gib_per_vcpu * MIB_PER_GIB // (2 if "l" in features else 1)
    # "p" marks the Arm-based (Ampere/Cobalt) sizes.
    return MachineSize(vcpus, memory_mib, "arm64" if "p" in features else "amd64")


# --- Google Cloud: <family>-<kind>-<vCPUs> ---------------------------------------------------

_GCE_TYPE = re.compile(r"^(?P<family>[a-z0-9]+)-(?P<kind>standard|highmem|highcpu)-(?P<vcpus>\d+)$")
_GCE_FAMILIES: Final = frozenset(
    {"e2", "n1", "n2", "n2d", "n4", "c3", "c3d", "c4", "c4a", "c4d", "t2a", "t2d"}
)
_GCE_ARM_FAMILIES: Final = frozenset({"t2a", "c4a"})
# MiB per vCPU; n1 predates the 4/8/1 GB rule and the c3/c4 families double highcpu memory.
_GCE_MIB_PER_VCPU: Final = {"standard": 4096, "highmem": 8192, "highcpu": 1024}
_GCE_MIB_PER_VCPU_BY_FAMILY: Final = {
    ("n1", "standard"): 3840,
    ("n1", "highmem"): 6656,
    ("n1", "highcpu"): 921,
    **{(family, "highcpu"): 2048 for family in ("c3", "c3d", "c4", "c4a", "c4d")},
}
GCE_TYPE_FORMS: Final = "<family>-{standard|highmem|highcpu}-<n> with family one of " + ", ".join(
    sorted(_GCE_FAMILIES)
)


def gce_machine_type(machine_type: str) -> MachineSize:
    """Size of a predefined Compute Engine machine type (shared-core types are refused)."""
    match = _GCE_TYPE.match(machine_type)
    if match is None or match["family"] not in _GCE_FAMILIES:
        raise ShapeError(
            f"unsupported GCE machine type {machine_type!r}; allowed: {GCE_TYPE_FORMS}"
        )
    family, kind, vcpus = match["family"], match["kind"], int(match["vcpus"])
    mib_per_vcpu = _GCE_MIB_PER_VCPU_BY_FAMILY.get((family, kind), _GCE_MIB_PER_VCPU[kind])
    arch: NodeArch = "arm64" if family in _GCE_ARM_FAMILIES else "amd64"
    return MachineSize(vcpus, vcpus * mib_per_vcpu, arch)
