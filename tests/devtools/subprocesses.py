"""What the tests share for subprocesses: a command run to completion, `python -m devtools.*`
runs, a separate pytest session, and servers on a taken port."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from devtools.process import LOOPBACK, ComponentError, LocalServer, port_accepts, wait_until

REPO = Path(__file__).parents[2]
# Generous for a tool or a nested pytest session on a loaded machine.
RUN_TIMEOUT_S = 120.0


def run(
    argv: Sequence[str], *, cwd: Path | None = None, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a command to completion; the caller asserts on the exit code and output."""
    return subprocess.run(
        list(argv),
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )


def output(result: subprocess.CompletedProcess[str]) -> str:
    """Both streams of a finished command, for assertion messages."""
    return (
        f"exit {result.returncode}\n--- stdout ---\n{result.stdout}\n"
        f"--- stderr ---\n{result.stderr}"
    )


def python_output(code: str) -> str:
    """What ``code`` prints when run by a fresh interpreter in the repository (a clean
    ``sys.modules``, its own garbage collector)."""
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    return result.stdout


def run_pytest(
    directory: Path,
    files: Mapping[str, str],
    *,
    plugins: Sequence[str],
    env: Mapping[str, str] | None = None,
    ci: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """A separate pytest session over ``files`` (written into ``directory``) with only
    ``plugins`` loaded, so a plugin's real outcome and report can be observed from outside."""
    for name, text in files.items():
        (directory / name).write_text(text)
    environment = {key: value for key, value in os.environ.items() if key != "CI"}
    environment.update(PYTHONPATH=str(REPO), **(env or {}))
    if ci is not None:
        environment["CI"] = ci
    loaded = [arg for plugin in plugins for arg in ("-p", plugin)]
    return run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-c",
            os.devnull,
            "--rootdir",
            str(directory),
            *loaded,
            "-p",
            "no:cacheprovider",
            "-rs",
            str(directory),
        ],
        cwd=directory,
        env=environment,
    )


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@asynccontextmanager
async def run_module(*args: str) -> AsyncIterator[asyncio.subprocess.Process]:
    """``python -m <args>`` from the repository root with its stdout piped to us.

    Killed on leaving the block if the test did not see it exit, so a failed assertion leaves
    no server running. Started with SIGINT ignored, as a background job of a non-interactive
    shell (a CI runner) starts it: the command must still stop on Ctrl-C then.
    """
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        *args,
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        preexec_fn=_ignore_sigint,
    )
    try:
        yield process
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def read_lines(process: asyncio.subprocess.Process, count: int) -> list[str]:
    """The first ``count`` lines ``process`` prints; fails if it exits before printing them.

    Callers bound the wait with ``asyncio.timeout``.
    """
    assert process.stdout is not None
    lines: list[str] = []
    for _ in range(count):
        line = await process.stdout.readline()
        assert line, f"process exited with {await process.wait()} after printing {lines}"
        lines.append(line.decode().strip())
    return lines


def wait_port_closed(port: int) -> None:
    """Wait (briefly) until nothing accepts connections on ``port`` any more."""
    wait_until(lambda: not port_accepts(port), component="test", what="port closed", timeout=5)


def start_error_on_taken_port(server_on: Callable[[int], LocalServer]) -> str:
    """The error ``server_on(port)`` fails to start with while another socket listens there.

    Started as a ``with`` block, so a failed start must also clean up after itself.
    """
    with socket.socket() as squatter:
        squatter.bind((LOOPBACK, 0))
        squatter.listen()
        with pytest.raises(ComponentError) as caught, server_on(squatter.getsockname()[1]):
            pass
    return str(caught.value)
