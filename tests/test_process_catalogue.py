"""The process catalogue (app.core.processes) is the one declaration of the topology: what
still declares it a second time must agree with it, and what derives from it must match."""

from __future__ import annotations

from typing import get_args

from app.core import processes
from app.core.observability import metric_catalog
from app.core.processes import PROCESSES, ProcessName
from infra.workloads import catalog as workloads


def test_every_process_name_is_declared_once() -> None:
    names = [p.name for p in PROCESSES]
    assert names == ["api", "relay", "recurring", "notifier", "audit"]
    assert set(names) == set(get_args(ProcessName))
    assert processes.CONSUMER_GROUPS == ("recurring", "notifier-delivery", "audit")


def test_topics_are_the_contract_plus_one_dead_letter_topic_per_group() -> None:
    assert [t.name for t in processes.TOPICS] == [
        "task-events",
        "reminders",
        "task-updates",
        "recurring.dlq",
        "notifier-delivery.dlq",
        "audit.dlq",
    ]


def test_the_metric_catalogue_reads_its_process_sets_from_the_catalogue() -> None:
    assert {"api", "relay", "recurring", "notifier", "audit"} == metric_catalog.EVERY_PROCESS
    assert {"relay", "recurring", "notifier", "audit"} == metric_catalog.WORKERS
    assert {"recurring", "notifier", "audit"} == metric_catalog.CONSUMERS


def test_the_kubernetes_workloads_agree_with_the_catalogue() -> None:
    # infra/workloads derives its Deployments from the catalogue; one per process, in order,
    # each running the process's command (plus its serving flags) and consuming its topics.
    declared = {
        app.key: (
            app.command[: len(spec.command)],
            tuple((c.group, c.topic.name) for c in app.consumes),
        )
        for app, spec in zip(workloads.APPS, PROCESSES, strict=True)
    }
    assert declared == {
        spec.name: (
            spec.command,
            () if spec.group is None else tuple((spec.group, t.name) for t in spec.consumes),
        )
        for spec in PROCESSES
    }


def test_the_workers_consume_what_the_catalogue_says() -> None:
    from services.audit.worker import audit_consumer
    from services.common.settings import WorkerSettings

    consumer = audit_consumer(WorkerSettings())
    assert (consumer.group, consumer.topics) == ("audit", ("task-events",))
