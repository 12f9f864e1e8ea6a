"""The unhandled-exception guard: a 500 nobody asserted on still fails the test.

Each case runs a small pytest session in a subprocess with only the guard (and pytest-asyncio)
loaded, against a real app whose route raises, so the real outcome is observed.
"""

from __future__ import annotations

from pathlib import Path

from tests.devtools.subprocesses import run_pytest

APP_WITH_A_BUG = """
import httpx
import pytest

from app.main import create_app
from tests.api.conftest import api_settings

pytestmark = pytest.mark.asyncio(loop_scope="session")

def buggy_app():
    app = create_app(api_settings("sqlite+aiosqlite:///:memory:"))

    @app.get("/boom")
    async def boom() -> None:
        raise ZeroDivisionError("a bug")

    return app


async def call_boom() -> int:
    transport = httpx.ASGITransport(app=buggy_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return (await client.get("/boom")).status_code


async def test_ignores_the_status():
    await call_boom()  # forgot to look: the guard must fail this


@pytest.mark.allows_unhandled_errors
async def test_provokes_it_on_purpose():
    assert await call_boom() == 500


async def test_clean_afterwards():
    pass
"""


def test_a_logged_unhandled_exception_fails_only_the_test_that_caused_it(tmp_path: Path) -> None:
    result = run_pytest(
        tmp_path,
        {"test_buggy.py": APP_WITH_A_BUG},
        plugins=["tests.fixtures.unhandled", "asyncio"],
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "1 failed, 2 passed" in output, output
    assert "test_buggy.py F.." in output, output  # the first test failed, the others passed
    assert "the app logged 1 unhandled exception(s) during this test" in output, output
    assert "app.api.problems: unhandled error (/boom): ZeroDivisionError('a bug')" in output
