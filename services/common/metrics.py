"""A worker process's Prometheus metrics, built from the catalog only.

Every family comes from :mod:`app.core.observability.metric_catalog` through
:func:`app.core.observability.metrics.build`, so the workers export exactly the names, labels and
buckets the alert rules and dashboards are checked against. Label values stay in small fixed
sets: consumer groups, event types, exception class names, topics, partitions, channels.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Final, TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from sqlalchemy.orm import Session

from app.core.observability import metric_catalog
from app.core.observability.metrics import Collector, TaskChangeCounter, build

log = logging.getLogger("services.metrics")

# The failure reason of a message that is no valid event (it never reached a handler).
INVALID_MESSAGE: Final = "invalid"
# A scrape hook that takes longer is abandoned: Prometheus' own scrape timeout is 10 s.
_SCRAPE_HOOK_TIMEOUT_S = 3.0

C = TypeVar("C", Counter, Gauge, Histogram)
ScrapeHook = Callable[[], Awaitable[None]]


class WorkerMetrics:
    """One process's registry and the catalog collectors on it.

    A collector is built the first time a part of the process asks for it and shared after
    that: two consumer groups in one process share the consumer families, and the local run
    builds several workers on one registry. Gauges read from the database are refreshed by
    hooks that run when Prometheus scrapes (:meth:`before_scrape`).
    """

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self._built: dict[str, Collector] = {}
        self._scrape_hooks: list[ScrapeHook] = []

    def counter(self, metric: metric_catalog.Metric) -> Counter:
        return self._get(metric, Counter)

    def gauge(self, metric: metric_catalog.Metric) -> Gauge:
        return self._get(metric, Gauge)

    def histogram(self, metric: metric_catalog.Metric) -> Histogram:
        return self._get(metric, Histogram)

    def _get(self, metric: metric_catalog.Metric, kind: type[C]) -> C:
        collector = self._built.get(metric.name)
        if collector is None:
            collector = self._built[metric.name] = build(metric, self.registry)
        if not isinstance(collector, kind):
            raise TypeError(f"{metric.name} is a {metric.kind}, not a {kind.__name__.lower()}")
        return collector

    def before_scrape(self, hook: ScrapeHook) -> None:
        """Run ``hook`` before every scrape (a gauge computed from the database)."""
        self._scrape_hooks.append(hook)

    async def exposition(self) -> bytes:
        """The text format of every metric, after the scrape hooks ran."""
        for hook in self._scrape_hooks:
            try:
                async with asyncio.timeout(_SCRAPE_HOOK_TIMEOUT_S):
                    await hook()
            except Exception as exc:
                # A scrape must not fail because the database is down: keep the last values
                # (readiness and its gauge report the outage).
                log.warning(
                    "metrics not refreshed", extra={"error": f"{type(exc).__name__}: {exc}"}
                )
        return generate_latest(self.registry)


class ConsumerMetrics:
    """The catalog's consumer families, for one consumer group."""

    def __init__(self, metrics: WorkerMetrics, group: str) -> None:
        self.group = group
        self._processed = metrics.counter(metric_catalog.EVENTS_PROCESSED)
        self._failed = metrics.counter(metric_catalog.EVENTS_FAILED)
        self._duration = metrics.histogram(metric_catalog.EVENT_HANDLER_DURATION).labels(group)
        self._lag = metrics.gauge(metric_catalog.CONSUMER_LAG)
        # Exposed as 0 from the start: the dead-letter alert's increase() needs a baseline.
        self._dead_lettered = metrics.counter(metric_catalog.DLQ_MESSAGES).labels(group)

    def processed(self, event_type: str) -> None:
        """One event handled: its effect committed now, or already had (a duplicate)."""
        self._processed.labels(self.group, event_type).inc()

    def handled_in(self, seconds: float) -> None:
        self._duration.observe(seconds)

    def failed(self, reason: str) -> None:
        """One failed attempt: an exception class name, or :data:`INVALID_MESSAGE`."""
        self._failed.labels(self.group, reason).inc()

    def dead_lettered(self) -> None:
        self._dead_lettered.inc()

    def lag(self, topic: str, partition: int, messages: int) -> None:
        self._lag.labels(self.group, topic, str(partition)).set(messages)

    def forget_lag(self, topic: str, partition: int) -> None:
        """A revoked partition's lag is another member's to report."""
        try:
            self._lag.remove(self.group, topic, str(partition))
        except KeyError:  # never reported for this partition
            return


def task_change_counter(metrics: WorkerMetrics) -> Callable[[Session], None]:
    """The ``after_commit`` hook that counts committed task changes, as the API counts its own."""
    return TaskChangeCounter(metrics.counter(metric_catalog.TASK_EVENTS)).count_committed
