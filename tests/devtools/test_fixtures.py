"""The session fixtures' contract: a component that cannot start fails the run in CI, else skips.

Each case runs a tiny pytest session in a subprocess with PostgreSQL made unstartable
(PG_BINDIR pointing at an empty directory), so the real outcome and report are observed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).parents[2]


def _run_session(tmp_path: Path, ci: str | None) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_needs_pg.py").write_text("def test_needs_pg(postgres):\n    pass\n")
    empty_bindir = tmp_path / "no-postgres-here"
    empty_bindir.mkdir()
    env = {key: value for key, value in os.environ.items() if key != "CI"}
    env.update(PYTHONPATH=str(REPO), PG_BINDIR=str(empty_bindir))
    if ci is not None:
        env["CI"] = ci
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-c",
            os.devnull,
            "--rootdir",
            str(tmp_path),
            "-p",
            "tests.fixtures.components",
            "-p",
            "no:cacheprovider",
            "-rs",
            str(tmp_path),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
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
