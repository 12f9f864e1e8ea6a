"""The hung-test watchdog: a test past TEST_TIMEOUT_S fails, naming where it waits; the run goes on.

Each case runs a tiny pytest session in a subprocess with only the watchdog (and pytest-asyncio)
loaded, so the real outcome and report are observed.
"""

from __future__ import annotations

from pathlib import Path

from tests.devtools.subprocesses import run_pytest

# Both tests on one event loop, as in this repository's runs. The ticker blocks the loop most
# of the time, so the alarm usually lands inside it rather than in the test.
HUNG_ASYNC = """
import asyncio
import time

import pytest

pytestmark = pytest.mark.asyncio(loop_scope="session")
ticks = []


async def wait_for_ever():
    await asyncio.Event().wait()


async def ticker():
    while True:
        time.sleep(0.3)
        ticks.append(1)
        await asyncio.sleep(0)


async def test_hangs():
    background = asyncio.create_task(ticker())
    try:
        await asyncio.gather(wait_for_ever())
    finally:
        background.cancel()
        print("cleaned up")


async def test_after():
    seen = len(ticks)
    await asyncio.sleep(0.5)  # the ticker would tick at least once (within the 1 s limit)
    assert len(ticks) == seen, "the hung test's ticker is still running"
"""

HUNG_SYNC = """
import threading

def test_hangs():
    threading.Event().wait()

def test_after():
    pass
"""

SWALLOWS_EVERYTHING = """
import threading

def test_swallows():
    while True:
        try:
            threading.Event().wait()
        except BaseException:
            pass
"""


def _run(tmp_path: Path, source: str, limit: str = "1") -> tuple[int, str]:
    result = run_pytest(
        tmp_path,
        {"test_hung.py": source},
        plugins=["tests.fixtures.watchdog", "asyncio"],
        env={"TEST_TIMEOUT_S": limit},
    )
    return result.returncode, result.stdout + result.stderr


def test_a_hung_async_test_is_cancelled_with_every_task_stack_and_cleans_up(
    tmp_path: Path,
) -> None:
    code, report = _run(tmp_path, HUNG_ASYNC)

    assert code == 1, report
    assert "test_hung.py::test_hangs still running after 1 s (TEST_TIMEOUT_S)" in report
    assert "in wait_for_ever" in report  # the inner task's stack, not just the event loop's
    assert "cleaned up" in report  # its finally block ran...
    assert "1 failed, 1 passed" in report  # ...so the next test found no ticker running


def test_a_hung_sync_test_fails_with_the_thread_stack(tmp_path: Path) -> None:
    code, report = _run(tmp_path, HUNG_SYNC)

    assert code == 1, report
    assert "test_hung.py::test_hangs still running after 1 s (TEST_TIMEOUT_S)" in report
    assert "in test_hangs" in report
    assert "1 failed, 1 passed" in report


def test_a_test_that_swallows_the_failure_ends_the_run_with_a_visible_dump(
    tmp_path: Path,
) -> None:
    code, report = _run(tmp_path, SWALLOWS_EVERYTHING)

    assert code == 1, report
    assert "Timeout (0:00:04)!" in report  # faulthandler, past the output capture
    assert "in test_swallows" in report


def test_a_malformed_limit_is_a_usage_error_naming_the_variable(tmp_path: Path) -> None:
    code, report = _run(tmp_path, HUNG_SYNC, limit="soon")

    assert code == 4, report
    assert "TEST_TIMEOUT_S must be seconds, got 'soon'" in report
    assert "passed" not in report
