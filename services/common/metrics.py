"""Prometheus metrics of a worker process, served on its /metrics."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class WorkerMetrics:
    """Events processed and failed (by group and type), handler duration, consumer lag."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.processed = Counter(
            "events_processed_total",
            "Events whose effect committed (outcome: applied, duplicate or skipped)",
            ["group", "type", "outcome"],
            registry=self.registry,
        )
        self.failed = Counter(
            "events_failed_total",
            "Handler attempts that raised (each retry counts)",
            ["group", "type"],
            registry=self.registry,
        )
        self.dead_lettered = Counter(
            "events_dead_lettered_total",
            "Events sent to the group's dead-letter topic, by reason",
            ["group", "reason"],
            registry=self.registry,
        )
        self.handler_duration = Histogram(
            "event_handler_duration_seconds",
            "Time from handler start to DB commit of one event",
            ["group", "type"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
            registry=self.registry,
        )
        self.consumer_lag = Gauge(
            "consumer_lag",
            "Records between the partition's high watermark and the group's position",
            ["group", "topic", "partition"],
            registry=self.registry,
        )
        self.published = Counter(
            "relay_published_total",
            "Outbox rows published by the relay, by topic",
            ["topic"],
            registry=self.registry,
        )
        self.publish_failures = Counter(
            "relay_publish_failures_total",
            "Relay batches that failed to publish (kept and retried)",
            registry=self.registry,
        )
        self.outbox_pending = Gauge(
            "relay_outbox_pending",
            "Unpublished outbox rows seen by the relay's last claim",
            registry=self.registry,
        )
