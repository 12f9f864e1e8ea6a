"""The hung-test watchdog: a test past TEST_TIMEOUT_S fails, naming where it waits; the run goes on.

Each case runs a tiny pytest session in a subprocess with only the watchdog (and pytest-asyncio)
loaded, so the real outcome and report are observed.
"""

from __future__ import annotations

from pathlib import Path

from tests.devtools.subprocesses import run_pytest

HUNG_ASYNC = """
import asyncio

async def wait_for_ever():
    await asyncio.Event().wait()

async def test_hangs():
    await asyncio.gather(wait_for_ever())

def test_after():
    pass
"""

HUNG_SYNC = """
import threading

def test_hangs():
    threading.Event().wait()

def test_after():
    pass
"""


def _run(tmp_path: Path, source: str, limit: str = "1") -> str:
    result = run_pytest(
        tmp_path,
        {"test_hung.py": source},
        plugins=["tests.fixtures.watchdog", "asyncio"],
        env={"TEST_TIMEOUT_S": limit},
    )
    return result.stdout + result.stderr


def test_a_hung_async_test_fails_with_every_task_stack_and_the_run_goes_on(tmp_path: Path) -> None:
    report = _run(tmp_path, "import pytest\npytestmark = pytest.mark.asyncio\n" + HUNG_ASYNC)

    assert "test_hung.py::test_hangs still running after 1 s (TEST_TIMEOUT_S)" in report
    assert "in wait_for_ever" in report  # the inner task's stack, not just the event loop's
    assert "1 failed, 1 passed" in report


def test_a_hung_sync_test_fails_with_the_thread_stack(tmp_path: Path) -> None:
    report = _run(tmp_path, HUNG_SYNC)

    assert "test_hung.py::test_hangs still running after 1 s (TEST_TIMEOUT_S)" in report
    assert "in test_hangs" in report
    assert "1 failed, 1 passed" in report


def test_a_malformed_limit_is_a_usage_error_naming_the_variable(tmp_path: Path) -> None:
    report = _run(tmp_path, HUNG_SYNC, limit="soon")

    assert "TEST_TIMEOUT_S must be seconds, got 'soon'" in report
    assert "passed" not in report
