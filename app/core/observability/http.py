"""Per-request metrics and the access log line, as pure ASGI middleware (no per-request task)."""

from __future__ import annotations

import logging
import time
import uuid

from prometheus_client import CollectorRegistry
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.observability import metric_catalog
from app.core.observability.logs import correlation_id
from app.core.observability.metrics import counter, histogram

log = logging.getLogger("app.access")


class HttpMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = counter(metric_catalog.HTTP_REQUESTS, registry)
        self.duration = histogram(metric_catalog.HTTP_REQUEST_DURATION, registry)


def _route_template(scope: Scope) -> str:
    # The router records the matched route in the scope; label by its template
    # ("/tasks/{task_id}"), never the raw path, so label cardinality stays bounded.
    route = scope.get("route")
    return str(getattr(route, "path", "unmatched"))


class ObservabilityMiddleware:
    def __init__(self, app: ASGIApp, metrics: HttpMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _header(scope, b"x-request-id") or uuid.uuid4().hex
        token = correlation_id.set(request_id)
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode()))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = _route_template(scope)
            method = scope["method"]
            self.metrics.requests.labels(route, method, str(status)).inc()
            self.metrics.duration.labels(route, method).observe(elapsed)
            if route != "/metrics":
                log.info(
                    "request",
                    extra={
                        "method": method,
                        "route": route,
                        "status": status,
                        "duration_ms": round(elapsed * 1000, 2),
                    },
                )
            correlation_id.reset(token)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            text = value.decode("latin-1")[:64]
            return text if text.isprintable() else None
    return None
