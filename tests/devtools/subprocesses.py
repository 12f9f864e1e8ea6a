"""Reading what a `python -m devtools.*` process prints."""

from __future__ import annotations

import asyncio


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
