"""For every alert: input series that fire it, and series that must not.

Rendered into ``promtool test rules`` files by ``test_alert_rules.py``. Series use promtool's
expanding notation (``'0+60x20'``: start 0, add 60 per step, 20 steps; ``'1x10 0x5'``: ten
steps at 1 then five at 0) with a one-minute step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from infra.platform.namespaces import APP as NAMESPACE

RUNBOOK_URL: Final = "https://git.example.com/todo-platform/blob/main/docs/runbook.md"
NS: Final = f'namespace="{NAMESPACE}"'
API: Final = f'{NS}, service="todo-api", job="todo-api"'
RELAY: Final = f'{NS}, service="todo-relay", job="todo-relay", pod="todo-relay-6d4f9-abcde"'
RECURRING: Final = f'{NS}, service="todo-recurring", job="todo-recurring"'
NOTIFIER: Final = f'{NS}, service="todo-notifier", job="todo-notifier", pod="todo-notifier-7c-x1"'
KSM: Final = f'{NS}, job="kube-state-metrics"'


@dataclass(frozen=True)
class Scenario:
    what: str
    series: dict[str, str]
    eval_time: str
    # Labels and annotations of the firing alert (besides the rule's own severity/component
    # and runbook_url, which the test adds); empty for scenarios that must not fire.
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class AlertCase:
    firing: Scenario
    quiet: tuple[Scenario, ...]


def _s(metric: str, scope: str, **labels: str) -> str:
    """A promtool series: ``metric{scope, labels}``."""
    extra = "".join(f', {name}="{value}"' for name, value in labels.items())
    return f"{metric}{{{scope}{extra}}}"


def _http(status: str, route: str, values: str) -> tuple[str, str]:
    labels = {"pod": "todo-api-5f-aa", "route": route, "method": "GET", "status": status}
    return _s("http_requests_total", API, **labels), values


def _pod_ready(pod: str, condition: str, values: str) -> tuple[str, str]:
    return _s("kube_pod_status_ready", KSM, pod=pod, condition=condition), values


def _pod_phase(pod: str, phase: str, values: str) -> tuple[str, str]:
    return _s("kube_pod_status_phase", KSM, pod=pod, phase=phase), values


def _replicas(deployment: str, available: str, wanted: str) -> dict[str, str]:
    """A Deployment's available replicas beside the replicas its spec asks for."""
    return {
        _s("kube_deployment_status_replicas_available", KSM, deployment=deployment): available,
        _s("kube_deployment_spec_replicas", KSM, deployment=deployment): wanted,
    }


def _lag(pod: str, partition: str, values: str) -> tuple[str, str]:
    """The recurring group's lag on one partition of task-events."""
    labels = {"pod": pod, "group": "recurring", "topic": "task-events", "partition": partition}
    return _s("todo_consumer_lag", RECURRING, **labels), values


def _lateness(channel: str, le: str, values: str) -> tuple[str, str]:
    """One bucket of the reminder lateness histogram."""
    return _s("todo_reminder_lateness_seconds_bucket", NOTIFIER, channel=channel, le=le), values


CASES: Final[dict[str, AlertCase]] = {
    "TodoHighHttpErrorRatio": AlertCase(
        Scenario(
            "a fifth of the requests fail",
            dict(
                [
                    _http("200", "/tasks", "0+60x20"),
                    _http("500", "/tasks", "0+15x20"),
                ]
            ),
            "15m",
            {"namespace": NAMESPACE, "service": "todo-api"},
            {
                "summary": "todo-api fails 20% of its requests",
                "description": "More than 5% of the requests to todo-api in todo-app have "
                "answered 5xx over the last 5 minutes (probe and scrape endpoints excluded).",
            },
        ),
        (
            Scenario(
                "1.6% errors, and failing readiness probes are not user traffic",
                dict(
                    [
                        _http("200", "/tasks", "0+60x20"),
                        _http("500", "/tasks", "0+1x20"),
                        _http("503", "/readyz", "0+600x20"),
                    ]
                ),
                "15m",
            ),
            Scenario(
                "every request fails, but there are too few to matter (2 in 5 min)",
                dict([_http("500", "/tasks/{task_id}", "0x10 1x5 2x5")]),
                "15m",
            ),
        ),
    ),
    "TodoPodNotReady": AlertCase(
        Scenario(
            "a running pod has failed readiness for 15 minutes",
            dict(
                [
                    _pod_ready("todo-api-5f-aa", "true", "0x20"),
                    _pod_ready("todo-api-5f-aa", "false", "1x20"),
                    _pod_phase("todo-api-5f-aa", "Running", "1x20"),
                    _pod_phase("todo-api-5f-aa", "Succeeded", "0x20"),
                ]
            ),
            "15m",
            {"namespace": NAMESPACE, "pod": "todo-api-5f-aa"},
            {
                "summary": "Pod todo-api-5f-aa has not been ready for 10 minutes",
                "description": "Pod todo-api-5f-aa in todo-app is pending, crash-looping or "
                "failing its readiness probe; it receives no traffic.",
            },
        ),
        (
            Scenario(
                "the finished migration Job pod is never ready, by design",
                dict(
                    [
                        _pod_ready("todo-migrate-x", "true", "0x20"),
                        _pod_phase("todo-migrate-x", "Succeeded", "1x20"),
                    ]
                ),
                "15m",
            ),
            Scenario(
                "not ready for 5 minutes only (a rollout)",
                dict([_pod_ready("todo-api-5f-bb", "true", "1x10 0x5")]),
                "15m",
            ),
        ),
    ),
    "TodoWorkloadUnavailable": AlertCase(
        Scenario(
            "the relay has had no available replica for 8 minutes",
            _replicas("todo-relay", available="0x10", wanted="1x10"),
            "8m",
            {"namespace": NAMESPACE, "deployment": "todo-relay"},
            {
                "summary": "todo-relay has no available replica",
                "description": "Deployment todo-relay in todo-app wants replicas but none has "
                "been available for 5 minutes: its function is down.",
            },
        ),
        (
            Scenario(
                "scaled to zero on purpose",
                _replicas("todo-audit", available="0x10", wanted="0x10"),
                "8m",
            ),
            Scenario(
                "one of two replicas available",
                _replicas("todo-api", available="1x10", wanted="2x10"),
                "8m",
            ),
        ),
    ),
    "TodoDatabaseUnreachable": AlertCase(
        Scenario(
            "two of three API pods fail the database check",
            {
                _s("todo_readiness_check_up", API, pod="a", check="database"): "0x5",
                _s("todo_readiness_check_up", API, pod="b", check="database"): "0x5",
                _s("todo_readiness_check_up", API, pod="c", check="database"): "1x5",
            },
            "4m",
            {"namespace": NAMESPACE, "service": "todo-api"},
            {
                "summary": "todo-api cannot reach the database",
                "description": "2 pod(s) of todo-api in todo-app have failed the database "
                "readiness check (connect and SELECT 1 within 2 s) for 2 minutes.",
            },
        ),
        (
            Scenario(
                "a one-minute blip",
                {_s("todo_readiness_check_up", API, pod="a", check="database"): "1x3 0x1"},
                "4m",
            ),
            Scenario(
                "another check failing is not the database",
                {_s("todo_readiness_check_up", API, pod="a", check="kafka"): "0x5"},
                "4m",
            ),
        ),
    ),
    "TodoKafkaBrokerUnreachable": AlertCase(
        Scenario(
            "both notifier pods have had no broker answer for 7 minutes",
            {
                _s("todo_kafka_broker_up", NOTIFIER): "1x3 0x10",
                _s("todo_kafka_broker_up", NOTIFIER.replace("x1", "x2")): "1x3 0x10",
                # Another service still reaching the broker is its own alert, not this one's.
                _s("todo_kafka_broker_up", RECURRING, pod="todo-recurring-9-a"): "1x13",
            },
            "10m",
            {"namespace": NAMESPACE, "service": "todo-notifier"},
            {
                "summary": "todo-notifier cannot reach the Kafka broker",
                "description": "2 pod(s) of todo-notifier in todo-app have had no answer to "
                "their broker metadata probe for 5 minutes: no event is published or handled.",
            },
        ),
        (
            Scenario(
                "a four-minute broker restart",
                {_s("todo_kafka_broker_up", NOTIFIER): "1x3 0x4 1x6"},
                "10m",
            ),
            Scenario(
                "still inside the five minutes",
                {_s("todo_kafka_broker_up", NOTIFIER): "1x5 0x5"},
                "9m",
            ),
        ),
    ),
    "TodoKafkaConsumerLagHigh": AlertCase(
        Scenario(
            "1500 messages behind over two partitions for 12 minutes",
            dict([_lag("r-1", "0", "800x15"), _lag("r-2", "1", "700x15")]),
            "12m",
            {"namespace": NAMESPACE, "group": "recurring", "topic": "task-events"},
            {
                "summary": "Consumer group recurring is 1500 messages behind on task-events",
                "description": "Consumer group recurring has been more than 1000 messages "
                "behind on task-events for 10 minutes: its effects (next occurrences, "
                "reminders, history) are delayed.",
            },
        ),
        (
            Scenario(
                "a burst that was worked off within 5 minutes",
                dict([_lag("r-1", "0", "5000x5 0x10")]),
                "12m",
            ),
            Scenario(
                "steadily 900 behind, under the threshold",
                dict([_lag("r-1", "0", "900x15")]),
                "12m",
            ),
        ),
    ),
    "TodoOutboxBacklogGrowing": AlertCase(
        Scenario(
            "the backlog grows by 20 rows a minute",
            {f"todo_outbox_backlog{{{RELAY}}}": "0+20x30"},
            "25m",
            {"namespace": NAMESPACE},
            {
                "summary": "500 outbox rows wait to be published, and more every minute",
                "description": "More than 100 committed changes in todo-app are not yet on "
                "Kafka and the backlog has grown for 10 minutes: the relay is slower than the "
                "writes.",
            },
        ),
        (
            Scenario(
                "a large backlog that shrinks",
                {f"todo_outbox_backlog{{{RELAY}}}": "1000-20x30"},
                "25m",
            ),
            Scenario(
                "a small backlog that grows slowly",
                {f"todo_outbox_backlog{{{RELAY}}}": "0+1x30"},
                "25m",
            ),
        ),
    ),
    "TodoOutboxStalled": AlertCase(
        Scenario(
            "nothing published for 8 minutes",
            {f"todo_outbox_oldest_unpublished_age_seconds{{{RELAY}}}": "0+60x10"},
            "8m",
            {"namespace": NAMESPACE},
            {
                "summary": "The oldest unpublished outbox row is 480 s old",
                "description": "The relay in todo-app has published nothing for more than "
                "120 seconds: no consumer sees new changes.",
            },
        ),
        (
            Scenario(
                "rows are published within half a minute",
                {f"todo_outbox_oldest_unpublished_age_seconds{{{RELAY}}}": "0 30 0 30 0 30 0 30 0"},
                "8m",
            ),
            Scenario(
                "stuck for two minutes only (a relay restart)",
                {f"todo_outbox_oldest_unpublished_age_seconds{{{RELAY}}}": "0x6 200x2"},
                "8m",
            ),
        ),
    ),
    "TodoDeadLetterMessages": AlertCase(
        Scenario(
            "three messages dead-lettered two minutes ago",
            {_s("todo_dlq_messages_total", NS, service="todo-audit", group="audit"): "0x5 3x5"},
            "8m",
            {"namespace": NAMESPACE, "group": "audit"},
            {
                "summary": "Consumer group audit dead-lettered messages",
                "description": "audit in todo-app sent about 3 message(s) to audit.dlq in the "
                "last 15 minutes: their effects did not happen.",
            },
        ),
        (
            Scenario(
                "an old count that no longer moves",
                {_s("todo_dlq_messages_total", NS, service="todo-audit", group="audit"): "2x20"},
                "18m",
            ),
            Scenario(
                "a dead letter more than 15 minutes ago",
                {
                    _s(
                        "todo_dlq_messages_total", NS, service="todo-audit", group="audit"
                    ): "0x2 1x30"
                },
                "25m",
            ),
        ),
    ),
    "TodoRemindersLate": AlertCase(
        Scenario(
            "nine in ten reminders are 2 to 5 minutes late",
            dict(
                [
                    _lateness("email", "60", "0+1x30"),
                    _lateness("email", "120", "0+1x30"),
                    _lateness("email", "300", "0+10x30"),
                    _lateness("email", "+Inf", "0+10x30"),
                ]
            ),
            "25m",
            {"namespace": NAMESPACE},
            {
                "summary": "Reminders arrive 290 s late (p95)",
                "description": "95% of the reminders delivered in todo-app over the last 10 "
                "minutes were up to 290 s late (threshold 120 s).",
            },
        ),
        (
            Scenario(
                "every reminder within a minute",
                dict([_lateness("email", "60", "0+10x30"), _lateness("email", "+Inf", "0+10x30")]),
                "25m",
            ),
            Scenario(
                "one slow reminder among a hundred fast ones",
                dict(
                    [
                        _lateness("log", "60", "0+100x30"),
                        _lateness("log", "300", "0+101x30"),
                        _lateness("log", "+Inf", "0+101x30"),
                    ]
                ),
                "25m",
            ),
        ),
    ),
}
