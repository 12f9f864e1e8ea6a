"""The notifier's own metrics, registered on the worker's registry (served on /metrics)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class NotifierMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.fired = Counter(
            "reminders_fired_total",
            "Reminders claimed when due: sent, or suppressed because the task was done",
            ["outcome"],
            registry=registry,
        )
        self.lateness = Histogram(
            "reminder_claim_lateness_seconds",
            "Time from remind_at to the claim that fired the reminder",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 30, 300),
            registry=registry,
        )
        self.scheduled = Gauge(
            "reminder_schedule_size",
            "Upcoming reminders held in the in-memory schedule",
            registry=registry,
        )
        self.refills = Counter(
            "reminder_schedule_refills_total",
            "Reloads of the schedule from the database (NOTIFY, poll, drained window)",
            registry=registry,
        )
        self.deliveries = Counter(
            "notifications_total",
            "Deliveries per channel: delivered, failed, or already delivered (duplicate)",
            ["channel", "outcome"],
            registry=registry,
        )
        self.delivery_attempts = Counter(
            "notification_attempts_failed_total",
            "Failed delivery attempts per channel (each retry counts)",
            ["channel"],
            registry=registry,
        )
