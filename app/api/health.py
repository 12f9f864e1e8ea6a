"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from app.api.deps import State
from app.api.problems import Problem, documented

router = APIRouter(tags=["health"])
log = logging.getLogger(__name__)


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is alive (it answers); says nothing about its dependencies."""
    return {"status": "ok"}


@router.get("/readyz", responses=documented(503))
async def readyz(app_state: State) -> dict[str, str]:
    """Ready to serve: the database answers within two seconds (on the probe's own connection,
    so a pool busy with requests does not read as a database that is down)."""
    problem = await app_state.probe.problem()
    app_state.db_metrics.record_check(passed=problem is None)
    if problem is not None:
        raise Problem(503, "Not ready", problem, headers={"Retry-After": "5"})
    return {"status": "ready"}


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request, app_state: State) -> Response:
    app_state.db_metrics.refresh()
    try:
        await app_state.task_metrics.refresh(app_state.sessions)
    except Exception:  # a scrape must not fail because the database is down: keep last values
        log.warning("task gauges not refreshed", exc_info=True)
    return Response(generate_latest(request.app.state.registry), media_type=CONTENT_TYPE_LATEST)
