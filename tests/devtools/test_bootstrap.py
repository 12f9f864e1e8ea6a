"""scripts/bootstrap.sh, sourced by the two README commands, leaves their arguments alone."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.devtools.subprocesses import REPO


def _source_bootstrap(tmp_path: Path, *args: str, sync_args: str | None = None) -> list[str]:
    """Source bootstrap.sh as test.sh does, with ``args`` in "$@" and a stand-in ``uv`` first on
    PATH; the arguments that ``uv`` received."""
    calls = tmp_path / "uv-calls"
    fake = tmp_path / "bin" / "uv"
    fake.parent.mkdir()
    fake.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {calls}\n')
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{fake.parent}:{os.environ['PATH']}"}
    env.pop("BOOTSTRAP_SYNC_ARGS", None)
    if sync_args is not None:
        env["BOOTSTRAP_SYNC_ARGS"] = sync_args
    subprocess.run(
        ["bash", "-c", 'source scripts/bootstrap.sh "$@"', "test.sh", *args],
        cwd=REPO,
        env=env,
        check=True,
        timeout=60,
    )
    return calls.read_text().splitlines()


def test_the_callers_arguments_do_not_reach_uv_sync(tmp_path: Path) -> None:
    # test.sh sources bootstrap.sh with pytest's arguments still in "$@"; they once became
    # `uv sync` flags, so `scripts/test.sh --durations=5` died in uv.
    assert _source_bootstrap(tmp_path, "--durations=5", "-k", "x") == [
        "sync",
        "--frozen",
        "--inexact",
    ]


def test_sync_flags_come_from_bootstrap_sync_args(tmp_path: Path) -> None:
    # What run-local.sh passes: the runtime groups only.
    assert _source_bootstrap(tmp_path, sync_args="--no-default-groups") == [
        "sync",
        "--frozen",
        "--inexact",
        "--no-default-groups",
    ]
