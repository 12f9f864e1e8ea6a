"""The API process: ``uvicorn --factory app.main:create_app`` (settings from the environment)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Final

from fastapi import FastAPI
from opentelemetry.sdk.trace.export import SpanExporter
from prometheus_client import CollectorRegistry
from starlette.routing import Route

from app import ui
from app.api import (
    access_tokens,
    auth,
    chat,
    docs_page,
    email_verification,
    health,
    history,
    notifications,
    openapi_links,
    problems,
    tasks,
)
from app.api.deps import AppState
from app.auth.client_address import TrustedProxies
from app.auth.hashing import PasswordHashing
from app.auth.throttle import LoginThrottle
from app.chat.agent import agent_from
from app.core.db.probe import DatabaseProbe
from app.core.db.session import create_engine, session_factory
from app.core.gc_tuning import settle_after_startup
from app.core.observability import log_limits
from app.core.observability.http import HttpMetrics, ObservabilityMiddleware
from app.core.observability.logs import configure as configure_logs
from app.core.observability.metrics import DatabaseMetrics, TaskMetrics
from app.core.observability.tracing import instrument_engine, tracer_provider
from app.core.settings import ApiSettings, load
from app.mcp_server.http import PATH as MCP_PATH
from app.mcp_server.http import McpHttp
from app.ui import live

# The REST API's route modules, in the order their paths are matched.
API_ROUTES: Final = (
    auth,
    email_verification,
    tasks,
    chat,
    access_tokens,
    notifications,
    history,
    health,
)


def create_app(
    settings: ApiSettings | None = None, *, span_exporter: SpanExporter | None = None
) -> FastAPI:
    """Build the API; without ``settings`` they are read (and validated) from the environment.

    ``span_exporter`` replaces the OTLP export of traces (tests collect spans in memory).
    Built from the environment, the app is its process's own (uvicorn's factory), and tunes
    the process's garbage collector once started; apps built in a test process leave it alone.
    """
    own_process = settings is None
    if settings is None:
        settings = load(ApiSettings)
        configure_logs(settings.log_level)
        log_limits.install()  # the live feed's Kafka consumer: a broker outage at a bounded rate
    provider = tracer_provider(
        "todo-api", otlp_endpoint=settings.otel_exporter_otlp_endpoint, exporter=span_exporter
    )

    registry = CollectorRegistry()
    task_metrics = TaskMetrics(registry)
    # Built before the app starts (its routes must exist); it reads the sessions once running.
    mcp = McpHttp(lambda: app.state.todo.sessions)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(settings.database_url, pool_size=settings.database_pool_size)
        instrument_engine(engine, provider)
        app.state.todo = AppState(
            settings=settings,
            engine=engine,
            sessions=session_factory(engine, after_commit=task_metrics.count_committed),
            throttle=LoginThrottle(
                engine.dialect.name,
                window_seconds=settings.login_window_seconds,
                backoff_base_seconds=settings.login_backoff_base_seconds,
                backoff_max_seconds=settings.login_backoff_max_seconds,
            ),
            hashing=PasswordHashing(
                concurrency=settings.password_hash_concurrency,
                queue=settings.password_hash_queue,
                memory_kib=settings.password_hash_memory_kib,
                iterations=settings.password_hash_iterations,
            ),
            task_metrics=task_metrics,
            db_metrics=DatabaseMetrics(registry, engine),
            probe=DatabaseProbe(settings.database_url),
            chat_agent=agent_from(settings),
        )
        try:
            async with live.feeds(settings) as app.state.live, mcp.running():
                if own_process:
                    settle_after_startup()
                yield
        finally:
            await app.state.todo.probe.close()
            if app.state.todo.chat_agent is not None:
                await app.state.todo.chat_agent.service.close()
            app.state.todo.hashing.close()
            await engine.dispose()

    app = FastAPI(
        title="todo-platform",
        version="1.0.0",
        summary="Multi-user tasks with due dates, recurrence and reminders",
        lifespan=lifespan,
        # Both default pages load their scripts from a CDN: /docs is served locally instead.
        docs_url=None,
        redoc_url=None,
        # FastAPI's own OpenTelemetry spans (they read an incoming traceparent); our Prometheus
        # middleware does the metrics, and structured logs the logging.
        telemetry={
            "tracer_provider": provider,
            "tracing": provider is not None,
            "metrics": False,
            "logs": False,
            "operation_spans": False,
        },
    )
    app.state.registry = registry
    app.add_middleware(ObservabilityMiddleware, metrics=HttpMetrics(registry))
    # Outermost: every later layer sees the real client (and scheme) behind trusted proxies.
    app.add_middleware(TrustedProxies, trusted=settings.trusted_proxies)
    problems.install(app)
    for routes in API_ROUTES:
        app.include_router(routes.router)
    app.include_router(ui.router)
    ui.install(app)
    openapi_links.install(app)
    docs_page.install(app)
    app.mount(ui.STATIC_PATH, ui.static_files(), name="ui-static")
    # The MCP app (with its bearer-token middleware) answers its one path; as a route rather
    # than a mount, every other unknown path still gets the API's own 404.
    app.router.routes.append(Route(MCP_PATH, endpoint=mcp.app, name="mcp"))
    return app
