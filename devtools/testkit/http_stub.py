"""A stub HTTP endpoint for tests: a standard-library request handler on a loopback port."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from devtools.process import LOOPBACK

# Long enough for any request in flight to end; a handler stuck past it is a daemon thread and
# does not keep the test process alive.
JOIN_SECONDS = 10


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
        thread.join(timeout=JOIN_SECONDS)
