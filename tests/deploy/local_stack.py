"""A fresh ``local`` stack on the test cluster, set up as a deployer would set it up."""

from __future__ import annotations

from pathlib import Path

from pulumi import automation

from devtools.kube import CONTEXT, ControlPlane
from devtools.pulumi_engine import ROOT, PulumiHome
from stacks.program import program
from stacks.secrets import ensure_generated


def stack_settings(cluster: ControlPlane, charts: Path) -> dict[str, str]:
    assert cluster.kubeconfig is not None
    return {
        "localKubeconfig": str(cluster.kubeconfig),
        "localContext": CONTEXT,
        "chartDirectory": str(charts),
        "operatorWaits": "false",
    }


def new_local_stack(
    home: PulumiHome, cluster: ControlPlane, charts: Path, name: str = "local"
) -> automation.Stack:
    """A fresh stack of the local stack file, set up as a deployer would set it up."""
    stack = home.stack(
        name, program, stack_settings(cluster, charts), stack_file=ROOT / "Pulumi.local.yaml"
    )
    assert sorted(ensure_generated(stack)) == [
        "databaseOwnerPassword",
        "grafanaAdminPassword",
        "jwtSigningKey",
        "vapidPrivateKey",
    ]
    return stack
