"""The tests of infra/ build Pulumi programs and Outputs under mocks; their fixtures are in
tests/fixtures/pulumi_stacks.py."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _event_loop(current_event_loop: None) -> None:
    """Every test here may build a ``pulumi.Output`` outside a program."""
