"""The tests of stacks/ build Pulumi programs and Outputs under mocks; their fixtures are in
tests/fixtures/pulumi_stacks.py."""

from __future__ import annotations

import pytest

from devtools.testkit.pulumi_mocks import STACKS, ProgramRun
from tests.fixtures.pulumi_stacks import StackRuns


@pytest.fixture(autouse=True)
def _event_loop(current_event_loop: None) -> None:
    """Every test here may build a ``pulumi.Output`` outside a program."""


@pytest.fixture(
    params=[(stack, preview) for preview in (False, True) for stack in STACKS],
    ids=lambda param: f"{param[0]}-{'preview' if param[1] else 'up'}",
)
def every_committed_run(request: pytest.FixtureRequest, committed_run: StackRuns) -> ProgramRun:
    """Each committed stack file's program, as `pulumi up` and as the first `pulumi preview`
    of a fresh stack."""
    stack, preview = request.param
    return committed_run(stack, preview).ok()
