"""The catalog of every metric our own processes export: name, type, labels, help and buckets.

One definition for both sides of the wire. The API and the workers create their collectors from
these entries, and the alert rules and dashboards (``infra/observability``, which may import
this contract like the event contract) name metrics only through it, so a rename happens here
once and a test catches any expression that names a metric nobody exports. It imports nothing
but the standard library and the process catalogue (itself standard library only).

Label values must come from small fixed sets (route templates, event types, consumer groups,
topics, partitions, due buckets): never a user id, task id or raw path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from app.core import processes
from app.core.processes import PROCESSES, ProcessName

Kind = Literal["counter", "gauge", "histogram"]
# The processes of the image, from the process catalogue.
Process = ProcessName
EVERY_PROCESS: Final[frozenset[Process]] = frozenset(p.name for p in PROCESSES)
WORKERS: Final[frozenset[Process]] = frozenset(p.name for p in processes.WORKERS)
CONSUMERS: Final[frozenset[Process]] = frozenset(p.name for p in PROCESSES if p.group)


@dataclass(frozen=True, slots=True)
class Metric:
    """One metric family as it appears on ``/metrics``.

    ``name`` is the exposed name: counters end in ``_total`` (``prometheus_client.Counter``
    accepts that name and exposes it unchanged); a histogram named ``x`` is queried as
    ``x_bucket``, ``x_sum`` and ``x_count``.
    """

    name: str
    kind: Kind
    help: str
    labels: tuple[str, ...]
    exported_by: frozenset[Process]
    buckets: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if self.kind == "counter" and not self.name.endswith("_total"):
            raise ValueError(f"counter {self.name!r} must end in _total")
        if self.kind != "counter" and self.name.endswith("_total"):
            raise ValueError(f"{self.kind} {self.name!r} must not end in _total")
        if (self.kind == "histogram") != bool(self.buckets):
            raise ValueError(f"{self.name!r}: buckets are for histograms, and histograms need them")
        if list(self.buckets) != sorted(set(self.buckets)):
            raise ValueError(f"{self.name!r}: buckets must be strictly increasing")
        if not self.exported_by:
            raise ValueError(f"{self.name!r}: exported by no process")

    @property
    def family(self) -> str:
        """The family name ``prometheus_client``'s text parser reports (``_total`` dropped)."""
        return self.name.removesuffix("_total") if self.kind == "counter" else self.name

    @property
    def series_names(self) -> frozenset[str]:
        """Every sample name the family exposes, as PromQL selects them."""
        if self.kind == "histogram":
            return frozenset({f"{self.name}_bucket", f"{self.name}_sum", f"{self.name}_count"})
        return frozenset({self.name})


# --- HTTP (app/core/observability/http.py) -------------------------------------------------------
HTTP_REQUESTS: Final = Metric(
    "http_requests_total",
    "counter",
    "HTTP requests by route template, method and status code",
    ("route", "method", "status"),
    frozenset({"api"}),
)
HTTP_REQUEST_DURATION: Final = Metric(
    "http_request_duration_seconds",
    "histogram",
    "HTTP request duration by route template",
    ("route", "method"),
    frozenset({"api"}),
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)

# --- Tasks ----------------------------------------------------------------------------------
TASK_EVENTS: Final = Metric(
    "todo_tasks_total",
    "counter",
    "Task changes committed, by event: created, updated, completed, deleted",
    ("event",),
    # The recurring service creates the next occurrence of a series.
    frozenset({"api", "recurring"}),
)
TASK_EVENT_VALUES: Final = ("created", "updated", "completed", "deleted")
RECURRING_SERIES_ACTIVE: Final = Metric(
    "todo_recurring_series_active",
    "gauge",
    "Recurring series with a next occurrence still to come",
    (),
    frozenset({"api"}),
)
TASKS_DUE: Final = Metric(
    "todo_tasks_due",
    "gauge",
    "Open tasks with a due date, by bucket: overdue, today, week, later (refreshed on scrape "
    "from one aggregate query, cached for a few seconds)",
    ("bucket",),
    frozenset({"api"}),
)
DUE_BUCKETS: Final = ("overdue", "today", "week", "later")

# --- Reminders (notifier) -------------------------------------------------------------------
REMINDERS_SENT: Final = Metric(
    "todo_reminders_sent_total",
    "counter",
    "Reminders delivered, by channel: webhook, email, log",
    ("channel",),
    frozenset({"notifier"}),
)
REMINDER_LATENESS: Final = Metric(
    "todo_reminder_lateness_seconds",
    "histogram",
    "Seconds from a reminder's remind_at to its delivery",
    ("channel",),
    frozenset({"notifier"}),
    buckets=(0.5, 1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600),
)
REMINDER_EMAILS_WITHHELD: Final = Metric(
    "todo_reminder_emails_withheld_total",
    "counter",
    "Reminders not e-mailed, by reason: unverified (address not verified), volume (the "
    "owner's hourly number of reminder e-mails reached); they still reach the app",
    ("reason",),
    frozenset({"notifier"}),
)

# --- Outbox (relay) -------------------------------------------------------------------------
OUTBOX_BACKLOG: Final = Metric(
    "todo_outbox_backlog",
    "gauge",
    "Outbox rows committed but not yet published",
    (),
    frozenset({"relay"}),
)
OUTBOX_OLDEST_AGE: Final = Metric(
    "todo_outbox_oldest_unpublished_age_seconds",
    "gauge",
    "Age of the oldest unpublished outbox row; 0 when the outbox is empty",
    (),
    frozenset({"relay"}),
)

# --- Event consumers (services/common) ------------------------------------------------------
EVENTS_PROCESSED: Final = Metric(
    "todo_events_processed_total",
    "counter",
    "Events handled successfully, by consumer group and event type",
    ("group", "type"),
    CONSUMERS,
)
EVENTS_FAILED: Final = Metric(
    "todo_events_failed_total",
    "counter",
    "Event handling attempts that failed, by consumer group and reason (exception class or "
    "'invalid'); retried attempts count once each",
    ("group", "reason"),
    CONSUMERS,
)
EVENT_HANDLER_DURATION: Final = Metric(
    "todo_event_handler_duration_seconds",
    "histogram",
    "Time to handle one event, commit included, by consumer group",
    ("group",),
    CONSUMERS,
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
CONSUMER_LAG: Final = Metric(
    "todo_consumer_lag",
    "gauge",
    "Messages between the partition's high watermark and the group's position, for the "
    "partitions assigned to this process (removed when a partition is revoked)",
    ("group", "topic", "partition"),
    CONSUMERS,
)
KAFKA_BROKER_UP: Final = Metric(
    "todo_kafka_broker_up",
    "gauge",
    "1 while the Kafka cluster answers this worker's metadata probe, 0 during an outage "
    "(the worker's /readyz is then not ready)",
    (),
    WORKERS,
)
DLQ_MESSAGES: Final = Metric(
    "todo_dlq_messages_total",
    "counter",
    "Messages sent to the group's dead-letter topic; every group starts at 0 so the first "
    "dead letter is an increase",
    ("group",),
    CONSUMERS,
)

# --- Database (every process) ---------------------------------------------------------------
DB_POOL_IN_USE: Final = Metric(
    "todo_db_pool_in_use",
    "gauge",
    "Database connections checked out of this process's pool",
    (),
    EVERY_PROCESS,
)
DB_POOL_SIZE: Final = Metric(
    "todo_db_pool_size",
    "gauge",
    "Configured size of this process's database connection pool",
    (),
    EVERY_PROCESS,
)
READINESS_CHECK_UP: Final = Metric(
    "todo_readiness_check_up",
    "gauge",
    "1 if the last /readyz check of a dependency passed, 0 if it failed, by check "
    "(database, ...); set on every probe",
    ("check",),
    EVERY_PROCESS,
)
DATABASE_CHECK: Final = "database"

CATALOG: Final[tuple[Metric, ...]] = (
    HTTP_REQUESTS,
    HTTP_REQUEST_DURATION,
    TASK_EVENTS,
    RECURRING_SERIES_ACTIVE,
    TASKS_DUE,
    REMINDERS_SENT,
    REMINDER_LATENESS,
    REMINDER_EMAILS_WITHHELD,
    OUTBOX_BACKLOG,
    OUTBOX_OLDEST_AGE,
    EVENTS_PROCESSED,
    EVENTS_FAILED,
    EVENT_HANDLER_DURATION,
    CONSUMER_LAG,
    KAFKA_BROKER_UP,
    DLQ_MESSAGES,
    DB_POOL_IN_USE,
    DB_POOL_SIZE,
    READINESS_CHECK_UP,
)


def exported_by(process: Process) -> tuple[Metric, ...]:
    """The metrics ``process`` must expose on its ``/metrics``."""
    return tuple(metric for metric in CATALOG if process in metric.exported_by)


def series_names() -> frozenset[str]:
    """Every sample name our processes expose (histograms as their three series)."""
    return frozenset().union(*(metric.series_names for metric in CATALOG))
