"""Fixtures running the Pulumi program under mocks (see tests/infra/mocks.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.infra.mocks import ProgramRun, evaluate

StackRuns = Callable[[str, bool], ProgramRun]


def pytest_configure(config: pytest.Config) -> None:
    # Importing pulumi_gcp.compute constructs deprecated aliases of its own; not ours to fix.
    config.addinivalue_line("filterwarnings", "ignore::DeprecationWarning:pulumi_gcp.*")


@pytest.fixture(scope="session")
def committed_run(tmp_path_factory: pytest.TempPathFactory) -> StackRuns:
    """The program's run for a committed stack file, ``(stack, preview) -> ProgramRun``.

    Evaluated once per session and stack/mode: the runs are read-only records.
    """
    cache: dict[tuple[str, bool], ProgramRun] = {}

    def get(stack: str, preview: bool) -> ProgramRun:
        key = (stack, preview)
        if key not in cache:
            workdir = tmp_path_factory.mktemp(f"{stack}-{'preview' if preview else 'update'}")
            cache[key] = evaluate(stack, workdir, preview=preview)
        return cache[key]

    return get


@pytest.fixture
def run_stack(tmp_path: Path) -> Callable[..., ProgramRun]:
    """Evaluate a stack with config changes: ``run_stack("oke", preview=False, settings={...})``."""

    def run(stack: str, **kwargs: Any) -> ProgramRun:
        kwargs.setdefault("preview", False)
        return evaluate(stack, tmp_path, **kwargs)

    return run
