"""An open-loop HTTP/1.1 load generator: requests start on a fixed schedule, replies or not.

`wrk` keeps a fixed number of requests in flight (closed loop), which measures the maximum
rate; latency at a given rate needs requests sent on schedule. A Python client such as httpx
spends more CPU per request than the server under test, on the same cores, and that inflates
exactly the tail this measures. This one writes a prebuilt request on keep-alive connections
and reads only the status line and the body length: tens of microseconds per request.

Latency counts from when a request was due, not from when a connection was free to send it,
so waiting behind a slow reply shows in the figures (no coordinated omission). The first
``warmup`` seconds run at the same rate but are not recorded: the first requests on fresh
connections, right after the previous (saturating) phase, measure the server catching up, not
its steady state (wrk2 calibrates the same way). The client's own
garbage collector is off while it sends: a full collection in the load generator (tens of ms)
would show up as server latency that the server never had.
"""

from __future__ import annotations

import asyncio
import gc
import time
from dataclasses import dataclass, field


@dataclass
class PacedResult:
    latencies_s: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)


def http_request(method: str, path: str, host: str, headers: dict[str, str], body: bytes) -> bytes:
    """One HTTP/1.1 request with a body, as bytes to send again and again."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def _read_reply(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    length = 0
    for line in header_lines:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    await reader.readexactly(length)
    return int(status_line.split()[1])


async def paced(
    host: str,
    port: int,
    request: bytes,
    *,
    rate: float,
    seconds: float,
    warmup: float = 1.0,
    connections: int = 64,
) -> PacedResult:
    """Send ``request`` ``rate`` times a second for ``warmup`` + ``seconds`` over up to
    ``connections``; the replies to those sent after the warm-up are recorded."""
    result = PacedResult()
    due: asyncio.Queue[float | None] = asyncio.Queue()
    measured_from = float("inf")  # set when the clock starts

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while (scheduled := await due.get()) is not None:
                writer.write(request)
                status = await _read_reply(reader)
                if scheduled >= measured_from:
                    result.latencies_s.append(time.perf_counter() - scheduled)
                    result.statuses[status] = result.statuses.get(status, 0) + 1
        finally:
            writer.close()
            await writer.wait_closed()

    # Connected before the clock starts: the first requests must not wait for 64 handshakes.
    opened = [await asyncio.open_connection(host, port) for _ in range(connections)]
    workers = [asyncio.create_task(connection(*pair)) for pair in opened]
    gc.disable()
    try:
        begin = time.perf_counter()
        measured_from = begin + warmup
        for i in range(int(rate * (warmup + seconds))):
            scheduled = begin + i / rate
            if (delay := scheduled - time.perf_counter()) > 0:
                await asyncio.sleep(delay)
            due.put_nowait(scheduled)
        for _ in workers:
            due.put_nowait(None)
        await asyncio.gather(*workers)
    finally:
        gc.enable()
    return result
