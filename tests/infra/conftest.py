"""The tests of infra/ build Pulumi programs and Outputs under mocks; their fixtures are in
tests/fixtures/pulumi_stacks.py."""

from __future__ import annotations

import pytest

from devtools.testkit.pulumi_mocks import ProgramRun
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
