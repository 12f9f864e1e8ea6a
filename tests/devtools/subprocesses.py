"""What the devtools tests share: `python -m devtools.*` runs and servers on a taken port."""

from __future__ import annotations

import asyncio
import socket
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from devtools.process import LOOPBACK, ComponentError, LocalServer, port_accepts, wait_until

REPO = Path(__file__).parents[2]


@asynccontextmanager
async def run_module(*args: str) -> AsyncIterator[asyncio.subprocess.Process]:
    """``python -m <args>`` from the repository root with its stdout piped to us.

    Killed on leaving the block if the test did not see it exit, so a failed assertion leaves
    no server running.
    """
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", *args, cwd=REPO, stdout=asyncio.subprocess.PIPE
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
