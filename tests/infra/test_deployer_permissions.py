"""Every resource of the cloud stacks that grants access (role assignments, IAM bindings, auth
tokens) needs a permission beyond Contributor/Editor: each is listed with the role carrying it,
and the deploy guide names every role per cloud."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from infra.cloud import permissions
from tests.fixtures.pulumi_stacks import StackRuns

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "deploy.md"
# Resource types that grant access look like these; a new one must get a Grant entry.
_GRANTING = re.compile(
    r"(RoleAssignment|IamMember|IAMMember|IamBinding|IAMBinding|IamPolicy|AuthToken|Policy$)",
    re.IGNORECASE,
)
ROLES = {
    "aks": permissions.AKS_ROLES,
    "gke": permissions.GKE_ROLES,
    "oke": permissions.OKE_POLICIES,
}


@pytest.mark.parametrize("stack", ["oke", "aks", "gke"])
def test_every_grant_the_stack_makes_has_its_role(committed_run: StackRuns, stack: str) -> None:
    types = {r.type for r in committed_run(stack, False).ok().resources}
    granting = {t for t in types if not t.startswith("kubernetes:") and _GRANTING.search(t)}
    known = {grant.resource_type: grant for grant in permissions.GRANTS}
    assert granting, "each cloud stack grants something (registry pull, node identity)"
    assert granting <= set(known), granting - set(known)
    for resource_type in granting:
        assert known[resource_type].role in ROLES[stack], resource_type


def section(cloud: str) -> str:
    guide = GUIDE.read_text()
    start = guide.index(f"## Deploy on {cloud}")
    return guide[start : guide.index("\n## ", start + 1)]


@pytest.mark.parametrize(
    ("cloud", "stack"),
    [("Oracle Cloud (OKE)", "oke"), ("Azure (AKS)", "aks"), ("Google Cloud (GKE)", "gke")],
)
def test_the_deploy_guide_names_each_role(cloud: str, stack: str) -> None:
    text = section(cloud)
    missing = [role for role in ROLES[stack] if f"`{role}`" not in text]
    assert missing == []
