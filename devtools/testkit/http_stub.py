"""Stub HTTP endpoints for tests, on loopback ports: a standard-library request handler served
from a thread (:func:`serving`), or Starlette routes served by uvicorn on the test's own event
loop (:class:`LoopbackApp`, the base of the webhook receiver, the push service and the Dapr
sidecar stand-ins)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self

import uvicorn
from starlette.applications import Starlette
from starlette.routing import BaseRoute

from devtools.process import LOOPBACK, free_port

# Long enough for a server to start or a request in flight to end; a handler thread stuck past
# it is a daemon and does not keep the test process alive.
DEADLINE_SECONDS = 10


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """Serve ``handler`` from a thread on a free loopback port and yield its base URL
    (``http://127.0.0.1:<port>``); on exit the server stops and its socket is closed."""
    server = ThreadingHTTPServer((LOOPBACK, 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name=f"stub-{handler.__name__}")
    thread.start()
    try:
        yield f"http://{LOOPBACK}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=DEADLINE_SECONDS)


class LoopbackApp:
    """``routes`` served at ``root`` (a free loopback port) for an ``async with`` block."""

    def __init__(self, routes: Sequence[BaseRoute]) -> None:
        self.port = free_port()
        self.root = f"http://{LOOPBACK}:{self.port}"
        config = uvicorn.Config(
            Starlette(routes=list(routes)),
            host=LOOPBACK,
            port=self.port,
            log_level="warning",
            lifespan="off",
        )
        self._server = uvicorn.Server(config)
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Self:
        task = self._task = asyncio.create_task(self._server.serve())
        deadline = time.monotonic() + DEADLINE_SECONDS
        while not self._server.started:
            if task.done():
                task.result()  # raises what stopped it, if it raised
                raise RuntimeError(f"{type(self).__name__} stopped before serving {self.root}")
            if time.monotonic() > deadline:
                task.cancel()
                raise RuntimeError(f"{type(self).__name__} did not start on {self.root}")
            await asyncio.sleep(0.02)
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self._server.should_exit = True
        if self._task is not None:
            await self._task
