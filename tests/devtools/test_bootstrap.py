"""scripts/bootstrap.sh, sourced by the two README commands, leaves their arguments alone."""

from __future__ import annotations

import subprocess

from tests.devtools.subprocesses import REPO


def test_the_test_commands_pytest_arguments_do_not_reach_uv_sync() -> None:
    # test.sh sources bootstrap.sh with pytest's arguments still in "$@"; they once became
    # `uv sync` flags, so `scripts/test.sh --durations=5` died in uv.
    result = subprocess.run(
        ["bash", "-c", 'source scripts/bootstrap.sh "$@"', "test.sh", "--durations=5", "-k", "x"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert "unexpected argument" not in result.stderr
