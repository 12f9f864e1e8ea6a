"""The tests of infra/ build Pulumi programs and Outputs under mocks; their fixtures are in
tests/fixtures/pulumi_stacks.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from devtools.testkit.pulumi_mocks import ProgramRun, cluster_program
from tests.fixtures.pulumi_stacks import StackRuns


@pytest.fixture(autouse=True)
def _event_loop(current_event_loop: None) -> None:
    """Every test here may build a ``pulumi.Output`` outside a program."""


@pytest.fixture(scope="module")
def run(request: pytest.FixtureRequest, committed_run: StackRuns) -> ProgramRun:
    """The committed stack a test module names in its ``STACK``, deployed (not a preview).

    Module-scoped: one program run serves every test of the module that reads it.
    """
    stack: str = request.module.STACK
    return committed_run(stack, False).ok()


ClusterRuns = Callable[..., ProgramRun]


@pytest.fixture
def run_cluster(run_stack: Callable[..., ProgramRun]) -> ClusterRuns:
    """The cloud foundation of a stack alone (``cluster_program``), deployed, with settings over
    the stack's config: ``run_cluster("gke", nodeCount=1)``."""

    def run(stack: str, **settings: Any) -> ProgramRun:
        return run_stack(stack, program=cluster_program, settings=settings).ok()

    return run
