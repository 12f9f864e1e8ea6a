"""The `local` stack on the real engine and the real control plane (tests/fixtures/cluster.py).

The stack's config is its committed ``Pulumi.local.yaml`` plus what a deployer of this cluster
would set: the kubeconfig and context of the test cluster, the local chart directory (no
internet here), the generated secrets (``stacks.secrets``, as users run it), and
``operatorWaits: false`` because no operator runs on kwok nodes to report Ready.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import pytest
from pulumi import automation

from devtools.kube import ControlPlane
from devtools.pulumi_engine import ROOT, PulumiHome
from infra.platform import versions
from infra.platform.k8s import ChartSource
from tests.deploy.local_stack import new_local_stack
from tests.fixtures.components import ci_enabled

# The pinned chart archives, provided beside the repository (../shared/charts/README.md).
CHARTS_DIR: Final = Path(os.environ.get("TODO_CHARTS_DIR", ROOT.parent / "shared" / "charts"))


@pytest.fixture(scope="session")
def charts_dir() -> Path:
    """The chart directory, holding every archive the platform pins, or the run stops here."""
    missing = ChartSource(CHARTS_DIR).missing(versions.CHARTS)
    if missing:
        message = (
            f"chart archives missing in {CHARTS_DIR} (set TODO_CHARTS_DIR): {', '.join(missing)}"
        )
        if ci_enabled():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return CHARTS_DIR


@pytest.fixture(scope="module")
def local_stack(
    pulumi_home: PulumiHome, control_plane: ControlPlane, charts_dir: Path
) -> Iterator[automation.Stack]:
    stack = new_local_stack(pulumi_home, control_plane, charts_dir)
    yield stack
    # Whatever a failed test left behind goes, so the next module starts from an empty cluster.
    stack.destroy()
    stack.workspace.remove_stack("local")
