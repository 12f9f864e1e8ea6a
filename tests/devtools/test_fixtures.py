"""The session fixtures' contract: a component that cannot start fails the run in CI, else skips.

Each case runs a tiny pytest session in a subprocess with PostgreSQL made unstartable
(PG_BINDIR pointing at an empty directory), so the real outcome and report are observed.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.devtools.subprocesses import run_pytest


def _run_session(tmp_path: Path, ci: str | None) -> subprocess.CompletedProcess[str]:
    empty_bindir = tmp_path / "no-postgres-here"
    empty_bindir.mkdir()
    return run_pytest(
        tmp_path,
        {"test_needs_pg.py": "def test_needs_pg(postgres):\n    pass\n"},
        plugins=["tests.fixtures.components"],
        env={"PG_BINDIR": str(empty_bindir)},
        ci=ci,
    )


def test_in_ci_an_unstartable_component_fails_the_run_naming_it(tmp_path: Path) -> None:
    result = _run_session(tmp_path, ci="true")

    assert result.returncode == 1, result.stdout
    assert "PostgreSQL could not start (CI is set: failing)" in result.stdout
    assert "holds no initdb" in result.stdout
    assert "1 error" in result.stdout


def test_outside_ci_an_unstartable_component_skips_with_the_reason(tmp_path: Path) -> None:
    result = _run_session(tmp_path, ci=None)

    assert result.returncode == 0, result.stdout
    assert "1 skipped" in result.stdout
    assert "PostgreSQL could not start: postgres: PG_BINDIR=" in result.stdout


@pytest.mark.parametrize("value", ["false", "0", ""])
def test_ci_set_to_a_false_value_counts_as_not_ci(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    from tests.fixtures.components import ci_enabled

    monkeypatch.setenv("CI", value)

    assert not ci_enabled()
