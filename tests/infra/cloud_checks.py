"""Checks shared by the tests of the cloud foundations (aks, gke, oke)."""

from __future__ import annotations

from collections import Counter

from devtools.testkit.pulumi_mocks import CLOUD_PACKAGES, ProgramRun, cloud_resources


def only_cloud_resources(run: ProgramRun, cloud: str) -> Counter[str]:
    """How many resources of each type ``cloud`` has, once no other cloud has any at all."""
    for other in CLOUD_PACKAGES.keys() - {cloud}:
        assert cloud_resources(run, other) == [], other
    return Counter(r.type for r in cloud_resources(run, cloud))
