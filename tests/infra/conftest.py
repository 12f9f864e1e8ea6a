"""Fixtures running the Pulumi program under mocks (see devtools/testkit/pulumi_mocks.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from devtools.testkit.pulumi_mocks import ProgramRun, evaluate

StackRuns = Callable[[str, bool], ProgramRun]


def pytest_configure(config: pytest.Config) -> None:
    # Importing pulumi_gcp.compute constructs deprecated aliases of its own; not ours to fix.
    config.addinivalue_line("filterwarnings", "ignore::DeprecationWarning:pulumi_gcp.*")


@pytest.fixture(autouse=True)
def current_event_loop() -> Iterator[None]:
    """A current event loop in the test's thread while it runs.

    Building a ``pulumi.Output`` outside the program (e.g. ``stacks.program.platform_plan`` in a
    test) asks for the thread's event loop, and an ``asyncio.run()`` anywhere earlier in the
    session (Alembic's env, a by-hand server) leaves the main thread with none set.
    """
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        yield
    finally:
        asyncio.set_event_loop(None)
        loop.close()


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
