"""What a worker imports before it can serve: only what it uses at start.

Importing is most of a restarted worker's time to ready (bench/worker_start.py measures it);
these modules were loaded by every worker and used by none without its setting: the OTLP
trace exporter (protobuf, requests) only when OTEL_EXPORTER_OTLP_ENDPOINT is set, the token
code (jwt, cryptography) only by the API.
"""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler
from typing import ClassVar

import pytest

from app.core.observability.tracing import tracer_provider
from devtools.testkit.http_stub import serving
from tests.devtools.subprocesses import python_output

NOT_AT_START = (
    "opentelemetry.exporter",
    "google.protobuf",
    "requests",
    "jwt",
    "cryptography",
    "argon2",
    "fastapi",
)


@pytest.mark.parametrize("worker", ["relay", "recurring", "notifier", "audit"])
def test_importing_a_worker_loads_none_of_what_it_does_not_use_at_start(worker: str) -> None:
    probe = (
        f"import sys, services.{worker}.__main__; "
        f"print(sorted(m for m in {NOT_AT_START!r} "
        "if any(k == m or k.startswith(m + '.') for k in sys.modules)))"
    )
    assert python_output(probe).strip() == "[]"


class _Collector(BaseHTTPRequestHandler):
    paths: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", "0")))
        self.paths.append(self.path)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        pass


def test_with_an_endpoint_the_exporter_is_loaded_and_spans_reach_it() -> None:
    with serving(_Collector) as endpoint:
        provider = tracer_provider("todo-test", otlp_endpoint=endpoint)
        assert provider is not None
        with provider.get_tracer("test").start_as_current_span("one"):
            pass
        provider.shutdown()  # flushes the batch: one export request
    assert _Collector.paths == ["/v1/traces"]
