"""The platform's alert rules, defined once in Python and rendered as ``PrometheusRule`` groups.

Every alert carries ``severity`` (routing in Alertmanager), ``component`` (a critical alert
silences the warnings of the same component, see ``alertmanager.py``), a ``summary``, a
``description`` and a ``runbook_url`` pointing at its own section of ``docs/runbook.md``.
Each rule is unit-tested with ``promtool test rules`` (tests/observability).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final, Literal

from app.core.observability import metric_catalog as m
from infra.observability import external_metrics as x

Severity = Literal["critical", "warning"]
SEVERITIES: Final[tuple[Severity, ...]] = ("critical", "warning")
# Probe and scrape endpoints: their 503s are readiness signals, not user-facing errors.
NOT_USER_TRAFFIC: Final = "/healthz|/readyz|/metrics"
_ALERT_NAME: Final = re.compile(r"^Todo[A-Z][A-Za-z]+$")
_DNS_LABEL: Final = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


@dataclass(frozen=True)
class Thresholds:
    """The numbers the alerts compare against; defaults suit the free-tier stacks."""

    http_error_ratio: float = 0.05
    # Below this request rate one failure is noise, not an outage.
    http_min_requests_per_second: float = 0.05
    consumer_lag_messages: int = 1000
    consumer_lag_minutes: int = 10
    outbox_backlog_rows: int = 100
    outbox_stalled_seconds: int = 120
    reminder_lateness_p95_seconds: int = 120
    # The workers retry a lost broker on their own; a restart of the single free-tier broker
    # takes a minute or two, so only a longer outage needs a person.
    broker_unreachable_minutes: int = 5

    def __post_init__(self) -> None:
        if not 0 < self.http_error_ratio < 1:
            raise ValueError(
                f"http_error_ratio must be between 0 and 1, got {self.http_error_ratio}"
            )
        for name in (
            "http_min_requests_per_second",
            "consumer_lag_messages",
            "consumer_lag_minutes",
            "outbox_backlog_rows",
            "outbox_stalled_seconds",
            "reminder_lateness_p95_seconds",
            "broker_unreachable_minutes",
        ):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")


@dataclass(frozen=True)
class Alert:
    name: str
    group: str
    expr: str
    for_: str
    severity: Severity
    component: str
    summary: str
    description: str

    @property
    def anchor(self) -> str:
        """The runbook section's anchor: its heading is the alert name."""
        return self.name.lower()

    def rule(self, runbook_url: str) -> dict[str, Any]:
        rule: dict[str, Any] = {"alert": self.name, "expr": self.expr}
        if self.for_ != "0m":
            rule["for"] = self.for_
        rule["labels"] = {"severity": self.severity, "component": self.component}
        rule["annotations"] = {
            "summary": self.summary,
            "description": self.description,
            "runbook_url": f"{runbook_url}#{self.anchor}",
        }
        return rule


@dataclass(frozen=True)
class _Scope:
    """Selector text shared by the expressions: our namespace, user traffic only."""

    namespace: str

    @property
    def ns(self) -> str:
        return f'namespace="{self.namespace}"'

    @property
    def http(self) -> str:
        return f'{self.ns}, route!~"{NOT_USER_TRAFFIC}"'


def _http_alerts(s: _Scope, t: Thresholds) -> list[Alert]:
    requests = m.HTTP_REQUESTS.name
    total = f"sum by (namespace, service) (rate({requests}{{{s.http}}}[5m]))"
    errors = f'sum by (namespace, service) (rate({requests}{{{s.http}, status=~"5.."}}[5m]))'
    return [
        Alert(
            "TodoHighHttpErrorRatio",
            "todo-http",
            f"(\n  {errors}\n/\n  {total}\n) > {t.http_error_ratio}\n"
            f"and\n{total} > {t.http_min_requests_per_second}",
            "5m",
            "critical",
            "http",
            "{{ $labels.service }} fails {{ $value | humanizePercentage }} of its requests",
            "More than "
            f"{t.http_error_ratio:.0%} of the requests to {{{{ $labels.service }}}} in "
            "{{ $labels.namespace }} have answered 5xx over the last 5 minutes "
            "(probe and scrape endpoints excluded).",
        )
    ]


def _pod_alerts(s: _Scope) -> list[Alert]:
    ready = x.KUBE_POD_STATUS_READY
    phase = x.KUBE_POD_STATUS_PHASE
    available = x.KUBE_DEPLOYMENT_STATUS_REPLICAS_AVAILABLE
    wanted = x.KUBE_DEPLOYMENT_SPEC_REPLICAS
    return [
        Alert(
            "TodoPodNotReady",
            "todo-kubernetes",
            # Completed pods (the migration Job) are never ready and need no one.
            f'sum by (namespace, pod) ({ready}{{{s.ns}, condition="true"}}) == 0\n'
            "unless on (namespace, pod)\n"
            f'sum by (namespace, pod) ({phase}{{{s.ns}, phase="Succeeded"}}) == 1',
            "10m",
            "warning",
            "pods",
            "Pod {{ $labels.pod }} has not been ready for 10 minutes",
            "Pod {{ $labels.pod }} in {{ $labels.namespace }} is pending, crash-looping or "
            "failing its readiness probe; it receives no traffic.",
        ),
        Alert(
            "TodoWorkloadUnavailable",
            "todo-kubernetes",
            f"sum by (namespace, deployment) ({available}{{{s.ns}}}) == 0\n"
            f"and sum by (namespace, deployment) ({wanted}{{{s.ns}}}) > 0",
            "5m",
            "critical",
            "pods",
            "{{ $labels.deployment }} has no available replica",
            "Deployment {{ $labels.deployment }} in {{ $labels.namespace }} wants replicas "
            "but none has been available for 5 minutes: its function is down.",
        ),
    ]


def _database_alerts(s: _Scope) -> list[Alert]:
    check = m.READINESS_CHECK_UP.name
    return [
        Alert(
            "TodoDatabaseUnreachable",
            "todo-database",
            f"count by (namespace, service) (\n"
            f'  {check}{{{s.ns}, check="{m.DATABASE_CHECK}"}} == 0\n'
            ") > 0",
            "2m",
            "critical",
            "database",
            "{{ $labels.service }} cannot reach the database",
            '{{ $value | printf "%.0f" }} pod(s) of {{ $labels.service }} in '
            "{{ $labels.namespace }} have failed the database readiness check (connect and "
            "SELECT 1 within 2 s) for 2 minutes.",
        )
    ]


def _event_alerts(s: _Scope, t: Thresholds) -> list[Alert]:
    lag = m.CONSUMER_LAG.name
    backlog = m.OUTBOX_BACKLOG.name
    age = m.OUTBOX_OLDEST_AGE.name
    dlq = m.DLQ_MESSAGES.name
    broker_up = m.KAFKA_BROKER_UP.name
    return [
        Alert(
            "TodoKafkaBrokerUnreachable",
            "todo-events",
            f"count by (namespace, service) (\n  {broker_up}{{{s.ns}}} == 0\n) > 0",
            f"{t.broker_unreachable_minutes}m",
            "critical",
            # Same component as the lag alert: a broker outage explains the lag, so it mutes it.
            "kafka",
            "{{ $labels.service }} cannot reach the Kafka broker",
            '{{ $value | printf "%.0f" }} pod(s) of {{ $labels.service }} in '
            "{{ $labels.namespace }} have had no answer to their broker metadata probe for "
            f"{t.broker_unreachable_minutes} minutes: no event is published or handled.",
        ),
        Alert(
            "TodoKafkaConsumerLagHigh",
            "todo-events",
            f"sum by (namespace, group, topic) ({lag}{{{s.ns}}}) > {t.consumer_lag_messages}",
            f"{t.consumer_lag_minutes}m",
            "warning",
            "kafka",
            "Consumer group {{ $labels.group }} is "
            '{{ $value | printf "%.0f" }} messages behind on {{ $labels.topic }}',
            f"Consumer group {{{{ $labels.group }}}} has been more than "
            f"{t.consumer_lag_messages} messages behind on {{{{ $labels.topic }}}} for "
            f"{t.consumer_lag_minutes} minutes: its effects (next occurrences, reminders, "
            "history) are delayed.",
        ),
        Alert(
            "TodoOutboxBacklogGrowing",
            "todo-events",
            f"max by (namespace) ({backlog}{{{s.ns}}}) > {t.outbox_backlog_rows}\n"
            f"and max by (namespace) (deriv({backlog}{{{s.ns}}}[10m])) > 0",
            "10m",
            "warning",
            "outbox",
            '{{ $value | printf "%.0f" }} outbox rows wait to be published, and more every minute',
            f"More than {t.outbox_backlog_rows} committed changes in {{{{ $labels.namespace }}}} "
            "are not yet on Kafka and the backlog has grown for 10 minutes: the relay is "
            "slower than the writes.",
        ),
        Alert(
            "TodoOutboxStalled",
            "todo-events",
            f"max by (namespace) ({age}{{{s.ns}}}) > {t.outbox_stalled_seconds}",
            "3m",
            "critical",
            "outbox",
            'The oldest unpublished outbox row is {{ $value | printf "%.0f" }} s old',
            "The relay in {{ $labels.namespace }} has published nothing for more than "
            f"{t.outbox_stalled_seconds} seconds: no consumer sees new changes.",
        ),
        Alert(
            "TodoDeadLetterMessages",
            "todo-events",
            f"sum by (namespace, group) (increase({dlq}{{{s.ns}}}[15m])) > 0",
            "0m",
            "warning",
            "dlq",
            "Consumer group {{ $labels.group }} dead-lettered messages",
            "{{ $labels.group }} in {{ $labels.namespace }} sent about "
            '{{ $value | printf "%.0f" }} message(s) to {{ $labels.group }}.dlq in the last '
            "15 minutes: their effects did not happen.",
        ),
    ]


def _reminder_alerts(s: _Scope, t: Thresholds) -> list[Alert]:
    buckets = f"{m.REMINDER_LATENESS.name}_bucket"
    return [
        Alert(
            "TodoRemindersLate",
            "todo-reminders",
            "histogram_quantile(0.95,\n"
            f"  sum by (namespace, le) (rate({buckets}{{{s.ns}}}[10m]))\n"
            f") > {t.reminder_lateness_p95_seconds}",
            "10m",
            "warning",
            "reminders",
            'Reminders arrive {{ $value | printf "%.0f" }} s late (p95)',
            "95% of the reminders delivered in {{ $labels.namespace }} over the last 10 "
            'minutes were up to {{ $value | printf "%.0f" }} s late (threshold '
            f"{t.reminder_lateness_p95_seconds} s).",
        )
    ]


def alerts(namespace: str, thresholds: Thresholds | None = None) -> tuple[Alert, ...]:
    """Every alert, scoped to the app's ``namespace``."""
    if not _DNS_LABEL.match(namespace):
        raise ValueError(f"namespace {namespace!r} must be a lowercase DNS label")
    t = thresholds or Thresholds()
    scope = _Scope(namespace)
    found = (
        *_http_alerts(scope, t),
        *_pod_alerts(scope),
        *_database_alerts(scope),
        *_event_alerts(scope, t),
        *_reminder_alerts(scope, t),
    )
    names = [alert.name for alert in found]
    if len(set(names)) != len(names) or not all(_ALERT_NAME.match(n) for n in names):
        raise ValueError(f"alert names must be unique and look like TodoSomething: {names}")
    return found


def _check_runbook_url(runbook_url: str) -> None:
    if not re.match(r"^https://[^\s#?]+\.md$", runbook_url):
        raise ValueError(
            f"runbook_url must be an https URL of the runbook file without an anchor "
            f"(e.g. https://github.com/ORG/REPO/blob/main/docs/runbook.md), got {runbook_url!r}"
        )


def rule_groups(
    *, namespace: str, runbook_url: str, thresholds: Thresholds | None = None
) -> list[dict[str, Any]]:
    """``PrometheusRule`` ``spec.groups``: ``[{"name": ..., "rules": [...]}, ...]``.

    ``runbook_url`` is the URL of ``docs/runbook.md`` as people read it (the repository's file
    view, ideally at the deployed commit); each alert links to its own anchor in it.
    """
    _check_runbook_url(runbook_url)
    groups: dict[str, list[dict[str, Any]]] = {}
    for alert in alerts(namespace, thresholds):
        groups.setdefault(alert.group, []).append(alert.rule(runbook_url))
    return [{"name": name, "rules": rules} for name, rules in groups.items()]
