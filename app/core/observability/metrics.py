"""Prometheus collectors built from the metric catalog, one registry per process.

The catalog (name, type, labels, help, buckets) is the single definition the alert rules and
dashboards are checked against; processes create their collectors only through :func:`build`.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from app.core.db.models import Task, TaskRecurrence
from app.core.observability import metric_catalog
from app.tasks.commands import TASK_CHANGES

Collector = Counter | Gauge | Histogram
C = TypeVar("C", Counter, Gauge, Histogram)


def build(metric: metric_catalog.Metric, registry: CollectorRegistry) -> Collector:
    if metric.kind == "counter":
        return Counter(metric.name, metric.help, metric.labels, registry=registry)
    if metric.kind == "gauge":
        return Gauge(metric.name, metric.help, metric.labels, registry=registry)
    return Histogram(
        metric.name, metric.help, metric.labels, buckets=metric.buckets, registry=registry
    )


def _typed(kind: type[C], metric: metric_catalog.Metric, registry: CollectorRegistry) -> C:
    collector = build(metric, registry)
    if not isinstance(collector, kind):
        raise TypeError(f"{metric.name} is a {metric.kind} in the catalog, not a {kind.__name__}")
    return collector


def counter(metric: metric_catalog.Metric, registry: CollectorRegistry) -> Counter:
    return _typed(Counter, metric, registry)


def gauge(metric: metric_catalog.Metric, registry: CollectorRegistry) -> Gauge:
    return _typed(Gauge, metric, registry)


def histogram(metric: metric_catalog.Metric, registry: CollectorRegistry) -> Histogram:
    return _typed(Histogram, metric, registry)


class DatabaseMetrics:
    """Pool usage and the readiness check's last result; every process has them."""

    def __init__(self, registry: CollectorRegistry, engine: AsyncEngine) -> None:
        self._engine = engine
        self.pool_in_use = gauge(metric_catalog.DB_POOL_IN_USE, registry)
        self.pool_size = gauge(metric_catalog.DB_POOL_SIZE, registry)
        self.check_up = gauge(metric_catalog.READINESS_CHECK_UP, registry)

    def refresh(self) -> None:
        pool = self._engine.pool
        # SQLite's pool has no fixed size; report what it holds.
        size = getattr(pool, "size", lambda: 0)()
        in_use = getattr(pool, "checkedout", lambda: 0)()
        self.pool_size.set(size)
        self.pool_in_use.set(in_use)

    def record_check(self, passed: bool) -> None:
        self.check_up.labels(metric_catalog.DATABASE_CHECK).set(1 if passed else 0)


class TaskChangeCounter:
    """``todo_tasks_total``: task changes counted once their transaction has committed.

    ``app.tasks.commands`` notes each change in ``session.info``; :meth:`count_committed` is the
    ``after_commit`` hook of :func:`app.core.db.session.session_factory` (a rollback clears the
    notes).
    The API and the recurring service both count this way.
    """

    def __init__(self, changes: Counter) -> None:
        self.changes = changes
        for event in metric_catalog.TASK_EVENT_VALUES:
            changes.labels(event)  # expose zeros from the start: rate() needs a baseline

    def count_committed(self, session: Session) -> None:
        for change in session.info.pop(TASK_CHANGES, ()):
            self.changes.labels(change).inc()


class TaskMetrics(TaskChangeCounter):
    """The API's task metrics: the change counter, and gauges from one aggregate query.

    The gauges are computed when Prometheus scrapes, at most once per ``max_age`` seconds, so
    a scrape costs one indexed query however many tasks there are.
    """

    def __init__(self, registry: CollectorRegistry, max_age: float = 10.0) -> None:
        super().__init__(counter(metric_catalog.TASK_EVENTS, registry))
        self.series_active = gauge(metric_catalog.RECURRING_SERIES_ACTIVE, registry)
        self.due = gauge(metric_catalog.TASKS_DUE, registry)
        self._max_age = max_age
        self._refreshed = float("-inf")

    async def refresh(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        if time.monotonic() - self._refreshed < self._max_age:
            return
        now = datetime.now(UTC)
        start_of_day = now.replace(hour=0, minute=0, second=0, microsecond=0)
        tomorrow, next_week = start_of_day + timedelta(days=1), start_of_day + timedelta(days=7)
        bucket = case(
            (Task.due_date < now, "overdue"),
            (Task.due_date < tomorrow, "today"),
            (Task.due_date < next_week, "week"),
            else_="later",
        )
        async with sessions() as session:
            rows = await session.execute(
                select(bucket, func.count())
                .where(Task.completed.is_(False), Task.due_date.is_not(None))
                .group_by(bucket)
            )
            counts = {str(name): int(count) for name, count in rows}
            active = await session.scalar(
                select(func.count()).select_from(TaskRecurrence).where(TaskRecurrence.active)
            )
        for name in metric_catalog.DUE_BUCKETS:
            self.due.labels(name).set(counts.get(name, 0))
        self.series_active.set(active or 0)
        self._refreshed = time.monotonic()
