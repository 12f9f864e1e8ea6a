"""The HTTP side of a worker process: /healthz, /readyz, /metrics, plus the worker's own routes.

Starlette served by uvicorn (both already dependencies of the API); no FastAPI needed here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from app.core.db.probe import DatabaseProbe
from app.core.observability.metrics import DatabaseMetrics
from services.common.metrics import WorkerMetrics

ReadyCheck = Callable[[], str | None]
"""Returns None when its part is ready, else what is not (shown on /readyz)."""


def worker_http_app(
    name: str,
    metrics: WorkerMetrics,
    engine: AsyncEngine,
    probe: DatabaseProbe,
    ready_checks: Sequence[ReadyCheck] = (),
    routes: Sequence[BaseRoute] = (),
) -> Starlette:
    """``/healthz``: the process answers. ``/readyz``: the DB answers ``probe`` (on a
    connection apart from ``engine``'s pool) and every check passes.

    The database check's result and the pool's use are the catalog's ``DatabaseMetrics``, as
    in the API (build the app once per registry).
    """
    database = DatabaseMetrics(metrics.registry, engine)

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok", "service": name})

    async def readyz(_: Request) -> Response:
        problems = [problem for check in ready_checks if (problem := check()) is not None]
        problem = await probe.problem()
        database.record_check(passed=problem is None)
        if problem is not None:
            problems.append(problem)
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
