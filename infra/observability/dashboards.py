"""The two Grafana dashboards, "Task operations" and "System health", as code.

Every expression names our metrics through the catalog (``app.observability.catalog``) or a
third-party metric from the documented list (``external_metrics``); a test parses each one with
promtool and checks every name it selects.
"""

from __future__ import annotations

from typing import Final

from app.core.observability import metric_catalog as m
from infra.observability import external_metrics as x
from infra.observability.alerts import NOT_USER_TRAFFIC
from infra.observability.grafana import Dashboard, Panel, Query, Row

NS: Final = 'namespace="$namespace"'
HTTP: Final = f'{NS}, route!~"{NOT_USER_TRAFFIC}"'
HTTP_5XX: Final = f'{HTTP}, status=~"5.."'
RATE: Final = "$__rate_interval"
# Deployment pods are named <deployment>-<replicaset hash>-<pod hash>.
_WORKLOAD: Final = '"workload", "$1", "pod", "(.+)-[a-z0-9]+-[a-z0-9]+"'


def _rate(metric: m.Metric | str, by: str, selector: str = NS, suffix: str = "") -> str:
    name = metric.name if isinstance(metric, m.Metric) else metric
    return f"sum by ({by}) (rate({name}{suffix}{{{selector}}}[{RATE}]))"


def _quantile(q: float, histogram: m.Metric, by: str, selector: str = NS) -> str:
    inner = _rate(histogram, f"le, {by}" if by else "le", selector, "_bucket")
    return f"histogram_quantile({q}, {inner})"


def _percentiles(histogram: m.Metric, by: str, selector: str = NS) -> tuple[Query, ...]:
    prefix = f"{{{{{by}}}}} " if by else ""
    return tuple(
        Query(_quantile(q, histogram, by, selector), f"{prefix}p{round(q * 100)}")
        for q in (0.5, 0.95, 0.99)
    )


def _per_workload(metric: str, *, counter: bool) -> str:
    # container="" is the pod's own cgroup total and "POD" the pause container: both would
    # count the same usage twice.
    series = f'{metric}{{{NS}, container!="", container!="POD"}}'
    if counter:
        series = f"rate({series}[{RATE}])"
    return f"sum by (workload) (label_replace({series}, {_WORKLOAD}))"


TASK_OPERATIONS: Final = Dashboard(
    uid="todo-task-operations",
    title="Task operations",
    description="What users do with tasks: changes, recurrence, due dates and reminders.",
    rows=(
        Row(
            "Task changes",
            (
                Panel(
                    "Task changes per minute",
                    "Committed task changes by event (created, updated, completed, deleted), "
                    "including occurrences created by the recurring service.",
                    (Query(f"60 * {_rate(m.TASK_EVENTS, 'event')}", "{{event}}"),),
                    unit="short",
                    width=16,
                ),
                Panel(
                    "Task changes in range",
                    "Changes over the dashboard's time range.",
                    (
                        Query(
                            f"sum by (event) (increase({m.TASK_EVENTS.name}{{{NS}}}[$__range]))",
                            "{{event}}",
                        ),
                    ),
                    kind="bargauge",
                    width=8,
                ),
            ),
        ),
        Row(
            "Recurrence and due dates",
            (
                Panel(
                    "Active recurring series",
                    "Recurring series with a next occurrence still to come.",
                    (Query(f"max({m.RECURRING_SERIES_ACTIVE.name}{{{NS}}})", "series"),),
                    kind="stat",
                    width=6,
                ),
                Panel(
                    "Open tasks by due date",
                    "Open tasks that are overdue, due today, due this week, or later.",
                    (Query(f"max by (bucket) ({m.TASKS_DUE.name}{{{NS}}})", "{{bucket}}"),),
                    kind="bargauge",
                    width=6,
                ),
                Panel(
                    "Due-date distribution over time",
                    "The same buckets over time; a growing 'overdue' band means work piles up.",
                    (Query(f"max by (bucket) ({m.TASKS_DUE.name}{{{NS}}})", "{{bucket}}"),),
                    stacked=True,
                ),
            ),
        ),
        Row(
            "Reminders",
            (
                Panel(
                    "Reminders sent per minute",
                    "Delivered reminders by channel, and reminders not e-mailed (address not "
                    "verified, or the owner's hourly e-mail number reached).",
                    (
                        Query(f"60 * {_rate(m.REMINDERS_SENT, 'channel')}", "{{channel}}"),
                        Query(
                            f"60 * {_rate(m.REMINDER_EMAILS_WITHHELD, 'reason')}",
                            "e-mail withheld: {{reason}}",
                        ),
                    ),
                ),
                Panel(
                    "Reminder lateness",
                    "Delay from a reminder's remind_at to its delivery (percentiles). Alert: "
                    "TodoRemindersLate.",
                    _percentiles(m.REMINDER_LATENESS, ""),
                    unit="s",
                ),
            ),
        ),
    ),
)

SYSTEM_HEALTH: Final = Dashboard(
    uid="todo-system-health",
    title="System health",
    description="Pods, resources, Kafka, Dapr and HTTP health of the todo platform.",
    rows=(
        Row(
            "Pods",
            (
                Panel(
                    "Pods ready",
                    "Pods of the namespace whose readiness probe passes.",
                    (
                        Query(
                            f'sum({x.KUBE_POD_STATUS_READY}{{{NS}, condition="true"}})',
                            "ready",
                        ),
                    ),
                    kind="stat",
                    width=6,
                ),
                Panel(
                    "Pods by phase",
                    "Running, Pending, Failed, Succeeded (the migration Job) and Unknown pods.",
                    (
                        Query(
                            f"sum by (phase) ({x.KUBE_POD_STATUS_PHASE}{{{NS}}}) > 0",
                            "{{phase}}",
                        ),
                    ),
                    kind="bargauge",
                    width=6,
                ),
                Panel(
                    "Deployments: available / wanted",
                    "Available replicas per deployment next to the wanted count.",
                    (
                        Query(
                            "sum by (deployment) "
                            f"({x.KUBE_DEPLOYMENT_STATUS_REPLICAS_AVAILABLE}{{{NS}}})",
                            "{{deployment}} available",
                        ),
                        Query(
                            f"sum by (deployment) ({x.KUBE_DEPLOYMENT_SPEC_REPLICAS}{{{NS}}})",
                            "{{deployment}} wanted",
                        ),
                    ),
                ),
                Panel(
                    "Container restarts (1 h)",
                    "Restarts per container over the last hour: crash loops show here first.",
                    (
                        Query(
                            "sum by (pod, container) (increase("
                            f"{x.KUBE_POD_CONTAINER_STATUS_RESTARTS_TOTAL}{{{NS}}}[1h]))"
                            " > 0",
                            "{{pod}}/{{container}}",
                        ),
                    ),
                    width=16,
                    height=6,
                ),
                Panel(
                    "Scrape targets up",
                    "Our pods' /metrics endpoints and Dapr sidecars Prometheus can scrape, "
                    "per job; a missing pod here has no metrics and no alerts.",
                    (Query(f"sum by (job) ({x.UP}{{{NS}}})", "{{job}}"),),
                    kind="bargauge",
                    width=8,
                    height=6,
                ),
            ),
        ),
        Row(
            "CPU and memory by workload",
            (
                Panel(
                    "CPU by workload",
                    "CPU cores used by each deployment's pods, Dapr sidecars included.",
                    (
                        Query(
                            _per_workload(x.CONTAINER_CPU_USAGE_SECONDS_TOTAL, counter=True),
                            "{{workload}}",
                        ),
                    ),
                    unit="cores",
                ),
                Panel(
                    "Memory by workload",
                    "Working-set memory of each deployment's pods (what the OOM killer counts).",
                    (
                        Query(
                            _per_workload(x.CONTAINER_MEMORY_WORKING_SET_BYTES, counter=False),
                            "{{workload}}",
                        ),
                    ),
                    unit="bytes",
                ),
            ),
        ),
        Row(
            "Kafka and events",
            (
                Panel(
                    "Workers reaching Kafka",
                    "Worker pods whose probe gets an answer from the Kafka cluster, next to "
                    "those that get none (they report not ready until it answers again).",
                    (
                        Query(f"sum({m.KAFKA_BROKER_UP.name}{{{NS}}} == 1)", "reaching"),
                        Query(f"count({m.KAFKA_BROKER_UP.name}{{{NS}}} == 0)", "unreachable"),
                    ),
                    kind="stat",
                    width=6,
                ),
                Panel(
                    "Consumer lag by group",
                    "Messages each consumer group is behind, as the workers see it. Alert: "
                    "TodoKafkaConsumerLagHigh.",
                    (
                        Query(
                            f"sum by (group, topic) ({m.CONSUMER_LAG.name}{{{NS}}})",
                            "{{group}} / {{topic}}",
                        ),
                    ),
                ),
                Panel(
                    "Consumer lag (broker view)",
                    "Lag per consumer group as kafka-exporter reads it from the broker; it "
                    "keeps counting when a worker is down.",
                    (
                        Query(
                            f"sum by (consumergroup, topic) ({x.KAFKA_CONSUMERGROUP_LAG})",
                            "{{consumergroup}} / {{topic}}",
                        ),
                    ),
                ),
                Panel(
                    "Events handled per second",
                    "Successful and failed event handling by consumer group.",
                    (
                        Query(_rate(m.EVENTS_PROCESSED, "group"), "{{group}} ok"),
                        Query(_rate(m.EVENTS_FAILED, "group, reason"), "{{group}} {{reason}}"),
                    ),
                ),
                Panel(
                    "Event handler duration",
                    "Time to handle one event, commit included (p95 per group).",
                    (Query(_quantile(0.95, m.EVENT_HANDLER_DURATION, "group"), "{{group}} p95"),),
                    unit="s",
                ),
                Panel(
                    "Outbox",
                    "Rows waiting for the relay, and the age of the oldest. Alerts: "
                    "TodoOutboxBacklogGrowing, TodoOutboxStalled.",
                    (
                        Query(f"max({m.OUTBOX_BACKLOG.name}{{{NS}}})", "backlog (rows)"),
                        Query(f"max({m.OUTBOX_OLDEST_AGE.name}{{{NS}}})", "oldest age (s)"),
                    ),
                ),
                Panel(
                    "Dead-lettered (1 h)",
                    "Messages sent to <group>.dlq in the last hour. Alert: TodoDeadLetterMessages.",
                    (
                        Query(
                            f"sum by (group) (increase({m.DLQ_MESSAGES.name}{{{NS}}}[1h]))",
                            "{{group}}",
                        ),
                    ),
                ),
                Panel(
                    "Kafka partitions at risk",
                    "Partitions without their full replica set (kafka-exporter) and partitions "
                    "with no leader (the controller): both block producers with acks=all.",
                    (
                        Query(
                            f"sum({x.KAFKA_TOPIC_PARTITION_UNDER_REPLICATED})",
                            "under-replicated",
                        ),
                        Query(f"max({x.KAFKA_OFFLINE_PARTITIONS})", "offline"),
                    ),
                    width=24,
                    height=6,
                ),
            ),
        ),
        Row(
            "Dapr",
            (
                Panel(
                    "Dapr sidecars ready",
                    "daprd containers passing their readiness probe, per pod.",
                    (
                        Query(
                            "sum by (pod) ("
                            f'{x.KUBE_POD_CONTAINER_STATUS_READY}{{{NS}, container="daprd"}})',
                            "{{pod}}",
                        ),
                    ),
                    kind="bargauge",
                    width=8,
                ),
                Panel(
                    "Dapr components",
                    "Components (pub/sub, secret store, bindings) each sidecar loaded, and "
                    "those it failed to initialise in the last hour.",
                    (
                        Query(
                            f"sum by (app_id) ({x.DAPR_COMPONENT_LOADED}{{{NS}}})",
                            "{{app_id}} loaded",
                        ),
                        Query(
                            "sum by (app_id, component) (increase("
                            f"{x.DAPR_COMPONENT_INIT_FAIL}{{{NS}}}[1h]))",
                            "{{app_id}} {{component}} failed",
                        ),
                    ),
                    width=8,
                ),
                Panel(
                    "Dapr pub/sub messages per second",
                    "Messages the sidecars published and delivered to the apps.",
                    (
                        Query(
                            _rate(x.DAPR_PUBSUB_EGRESS, "app_id, topic"),
                            "{{app_id}} → {{topic}}",
                        ),
                        Query(
                            _rate(x.DAPR_PUBSUB_INGRESS, "app_id, topic"),
                            "{{topic}} → {{app_id}}",
                        ),
                    ),
                    width=8,
                ),
            ),
        ),
        Row(
            "HTTP and database",
            (
                Panel(
                    "HTTP 5xx ratio",
                    "Share of user requests answered 5xx, per service (probes excluded). "
                    "Alert: TodoHighHttpErrorRatio.",
                    (
                        Query(
                            f"{_rate(m.HTTP_REQUESTS, 'service', HTTP_5XX)}"
                            f" / {_rate(m.HTTP_REQUESTS, 'service', HTTP)}",
                            "{{service}}",
                        ),
                    ),
                    unit="percentunit",
                    width=8,
                ),
                Panel(
                    "HTTP requests per second",
                    "User requests by route template.",
                    (Query(_rate(m.HTTP_REQUESTS, "route", HTTP), "{{route}}"),),
                    width=8,
                ),
                Panel(
                    "HTTP latency",
                    "Request duration percentiles over all user routes.",
                    _percentiles(m.HTTP_REQUEST_DURATION, "", HTTP),
                    unit="s",
                    width=8,
                ),
                Panel(
                    "Database pool",
                    "Connections in use against the pool size, per service.",
                    (
                        Query(
                            f"sum by (service) ({m.DB_POOL_IN_USE.name}{{{NS}}})",
                            "{{service}} in use",
                        ),
                        Query(
                            f"sum by (service) ({m.DB_POOL_SIZE.name}{{{NS}}})",
                            "{{service}} size",
                        ),
                    ),
                ),
                Panel(
                    "Readiness checks",
                    "1 when every pod of the service passes the check, 0 when any fails. "
                    "Alert: TodoDatabaseUnreachable.",
                    (
                        Query(
                            f"min by (service, check) ({m.READINESS_CHECK_UP.name}{{{NS}}})",
                            "{{service}} {{check}}",
                        ),
                    ),
                ),
            ),
        ),
    ),
)

DASHBOARDS: Final = (TASK_OPERATIONS, SYSTEM_HEALTH)


def dashboards(*, namespace: str) -> dict[str, str]:
    """``{name: JSON}`` for the monitoring component: one ConfigMap per dashboard."""
    return {board.uid: board.json(namespace) for board in DASHBOARDS}
