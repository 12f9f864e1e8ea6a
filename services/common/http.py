"""The HTTP side of a worker process: /healthz, /readyz, /metrics, plus the worker's own routes.

Starlette served by uvicorn (both already dependencies of the API); no FastAPI needed here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from app.observability.metrics import DatabaseMetrics
from services.common.metrics import WorkerMetrics

ReadyCheck = Callable[[], str | None]
"""Returns None when its part is ready, else what is not (shown on /readyz)."""

_DB_TIMEOUT_S = 2.0


def worker_http_app(
    name: str,
    metrics: WorkerMetrics,
    engine: AsyncEngine,
    ready_checks: Sequence[ReadyCheck] = (),
    routes: Sequence[BaseRoute] = (),
) -> Starlette:
    """``/healthz``: the process answers. ``/readyz``: the DB answers and every check passes.

    The database check's result and the pool's use are the catalog's ``DatabaseMetrics``, as
    in the API (build the app once per registry).
    """
    database = DatabaseMetrics(metrics.registry, engine)

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok", "service": name})

    async def readyz(_: Request) -> Response:
        problems = [problem for check in ready_checks if (problem := check()) is not None]
        try:
            async with asyncio.timeout(_DB_TIMEOUT_S), engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception as exc:
            problems.append(f"database: {type(exc).__name__}")
            database.record_check(passed=False)
        else:
            database.record_check(passed=True)
        if problems:
            return JSONResponse(
                {"status": "not ready", "service": name, "problems": problems},
                status_code=503,
                headers={"Retry-After": "5"},
            )
        return JSONResponse({"status": "ready", "service": name})

    async def metrics_endpoint(_: Request) -> Response:
        database.refresh()
        return Response(await metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    return Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/metrics", metrics_endpoint, methods=["GET"]),
            *routes,
        ]
    )
