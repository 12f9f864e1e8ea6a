"""bench/paced_http.py: every scheduled request is sent once, on schedule, and its reply read;
only those after the warm-up are recorded."""

from __future__ import annotations

import asyncio
import time

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bench.paced_http import http_request, paced
from devtools.process import LOOPBACK, free_port
from tests.services.workers_support import eventually


async def test_sends_rate_times_seconds_requests_and_reads_every_reply() -> None:
    bodies: list[bytes] = []
    arrivals: list[float] = []

    async def create(request: Request) -> Response:
        arrivals.append(time.perf_counter())
        bodies.append(await request.body())
        return Response(b'{"ok":true}', status_code=201)

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            Starlette(routes=[Route("/tasks", create, methods=["POST"])]),
            host=LOOPBACK,
            port=port,
            log_level="warning",
            lifespan="off",
        )
    )
    serving = asyncio.create_task(server.serve())
    try:
        await eventually(lambda: server.started, within=10, what="the server started")
        request = http_request("POST", "/tasks", f"{LOOPBACK}:{port}", {"X-A": "1"}, b'{"t":1}')
        result = await paced(
            LOOPBACK, port, request, rate=200, warmup=0.25, seconds=0.5, connections=4
        )
    finally:
        server.should_exit = True
        await serving

    assert bodies == [b'{"t":1}'] * 150  # 200/s for 0.25 s of warm-up, then 0.5 s measured
    assert result.statuses == {201: 100}
    assert len(result.latencies_s) == 100
    assert all(0 < latency < 5 for latency in result.latencies_s)
    # On schedule, not all at once: 150 requests at 200/s arrive over (at least) ~0.75 s.
    assert arrivals[-1] - arrivals[0] >= 0.7
