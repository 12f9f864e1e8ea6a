"""The notifier's catalog metrics: reminders delivered, and how late, per channel."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from app.core.observability import metric_catalog
from services.common.metrics import WorkerMetrics


class NotifierMetrics:
    def __init__(self, metrics: WorkerMetrics, channels: Iterable[str]) -> None:
        self._sent = metrics.counter(metric_catalog.REMINDERS_SENT)
        self._lateness = metrics.histogram(metric_catalog.REMINDER_LATENESS)
        for channel in channels:
            # Exposed from the start: rate() and increase() need a baseline.
            self._sent.labels(channel)
            self._lateness.labels(channel)

    def delivered(self, channel: str, remind_at: datetime, delivered_at: datetime) -> None:
        self._sent.labels(channel).inc()
        late = (delivered_at - remind_at).total_seconds()
        self._lateness.labels(channel).observe(max(0.0, late))
