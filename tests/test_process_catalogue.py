"""The process catalogue (app.core.processes) is the one declaration of the topology: what
still declares it a second time must agree with it, and what derives from it must match."""

from __future__ import annotations

import ast
import re
from dataclasses import replace
from pathlib import Path
from typing import get_args

import pytest

from app.core import processes
from app.core.events.contract import SOURCE_API
from app.core.events.topics import TASK_EVENTS, dead_letter_topic
from app.core.observability import metric_catalog
from app.core.processes import PROCESSES, ProcessName, UndeclaredTopic, check_writes
from app.tasks.occurrences import SOURCE_RECURRING
from infra.workloads import catalog as workloads
from services.audit.worker import audit_consumer
from services.common.settings import WorkerSettings
from services.common.worker import check_consumers
from services.notifier.claims import SOURCE_NOTIFIER

ROOT = Path(__file__).parents[1]
ARCHITECTURE = ROOT / "docs" / "architecture.md"
# What writes to a topic: a Kafka producer, the helper that sends through one, a Dapr publish.
_WRITERS = {"AIOKafkaProducer", "durable_producer", "send_all", "KafkaPublisher", "DaprPublisher"}


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


def test_each_process_declares_the_topics_it_produces() -> None:
    # produces: its own Kafka producer (the relay's outbox topics, a consumer group's dead
    # letters); records: the topics of the events it writes to the outbox for the relay.
    declared = {
        p.name: ([t.name for t in p.produces], [t.name for t in p.records]) for p in PROCESSES
    }
    assert declared == {
        "api": ([], ["task-events"]),
        "relay": (["task-events", "reminders", "task-updates"], []),
        "recurring": (["recurring.dlq"], ["task-events"]),
        "notifier": (["notifier-delivery.dlq"], ["reminders"]),
        "audit": (["audit.dlq"], []),
    }


def test_every_consumed_or_recorded_topic_is_produced_and_the_relay_publishes_the_outbox() -> None:
    produced = {t.name for t in processes.TOPICS}
    consumed = {t.name for p in PROCESSES for t in p.consumes}
    recorded = {t.name for p in PROCESSES for t in p.records}
    assert consumed | recorded == {"task-events", "reminders", "task-updates"}
    assert consumed | recorded < produced
    # The outbox has one reader: whatever a process records, the relay must publish.
    assert recorded <= {t.name for t in processes.RELAY.publishes}


@pytest.mark.parametrize(
    ("changed", "missing"),
    [
        # The relay no longer publishing what the API's live feed consumes.
        (replace(processes.RELAY, publishes=(TASK_EVENTS,)), "reminders, task-updates"),
        # A topic recorded in the outbox that the relay does not publish.
        (replace(processes.AUDIT, records=(dead_letter_topic("audit"),)), "audit.dlq"),
    ],
)
def test_a_catalogue_naming_a_topic_nobody_writes_is_refused(
    changed: processes.ProcessSpec, missing: str
) -> None:
    edited = [changed if p.name == changed.name else p for p in PROCESSES]
    with pytest.raises(UndeclaredTopic) as refused:
        processes.check_catalogue(edited)
    assert str(refused.value) == f"app/core/processes.py: no process produces {missing}"
    processes.check_catalogue(PROCESSES)


def test_the_event_sources_name_their_process() -> None:
    assert (SOURCE_API, SOURCE_RECURRING, SOURCE_NOTIFIER) == (
        "/todo-platform/api",
        "/todo-platform/recurring",
        "/todo-platform/notifier",
    )
    assert processes.by_source(SOURCE_RECURRING) is processes.RECURRING
    with pytest.raises(LookupError, match="no process of the catalogue has the event source"):
        processes.by_source("/todo-platform/nobody")


@pytest.mark.parametrize(
    ("process", "topics", "outbox", "message"),
    [
        (
            processes.AUDIT,
            ["audit.dlq", "task-events"],
            False,
            "process 'audit' may not write task-events: its 'produces' in app/core/processes.py"
            " declares audit.dlq",
        ),
        (
            processes.NOTIFIER,
            ["task-events"],
            True,
            "process 'notifier' may not write task-events: its 'records' in "
            "app/core/processes.py declares reminders",
        ),
        (
            processes.API,
            ["task-updates"],
            False,
            "process 'api' may not write task-updates: its 'produces' in app/core/processes.py"
            " declares no topic",
        ),
    ],
)
def test_a_write_the_catalogue_does_not_declare_is_refused(
    process: processes.ProcessSpec, topics: list[str], outbox: bool, message: str
) -> None:
    with pytest.raises(UndeclaredTopic) as refused:
        check_writes(process, topics, outbox=outbox)
    assert str(refused.value) == message
    # Exactly the declared topics pass.
    declared = process.records if outbox else process.produces
    check_writes(process, [t.name for t in declared], outbox=outbox)


def test_a_worker_may_run_only_the_consumers_its_process_declares() -> None:
    audit = audit_consumer(WorkerSettings())
    check_consumers(processes.AUDIT, [audit])
    with pytest.raises(UndeclaredTopic) as refused:
        check_consumers(processes.RECURRING, [audit])
    assert str(refused.value) == (
        "a consumer of task-events in group 'audit' is not process 'recurring''s: "
        "app/core/processes.py declares group 'recurring' on task-events"
    )
    with pytest.raises(UndeclaredTopic):
        check_consumers(processes.RELAY, [audit])


def test_topics_are_written_only_where_the_catalogue_checks_them() -> None:
    # The Kafka producers are made in one helper; the relay's publishers reach them only
    # through DeclaredTopics (tests/services/test_process_produces.py), the consumers' dead
    # letters only from the runtime, whose group check_consumers ties to the process.
    found: dict[str, set[str]] = {}
    for path in sorted([*ROOT.glob("app/**/*.py"), *ROOT.glob("services/**/*.py")]):
        for node in ast.walk(ast.parse(path.read_text())):
            call = node.func if isinstance(node, ast.Call) else None
            if isinstance(call, ast.Name) and call.id in _WRITERS:
                found.setdefault(str(path.relative_to(ROOT)), set()).add(call.id)
    assert found == {
        "services/common/kafka.py": {"AIOKafkaProducer"},
        "services/common/runtime.py": {"durable_producer", "send_all"},
        "services/relay/publishers.py": {"durable_producer", "send_all"},
        "services/relay/worker.py": {"KafkaPublisher", "DaprPublisher"},
    }


def _process_table() -> dict[str, tuple[set[str], set[str], set[str]]]:
    """docs/architecture.md's process table: the topic names in backticks per column."""
    section = ARCHITECTURE.read_text().split("## Processes", 1)[1].split("\n## ", 1)[0]
    names = {t.name for t in processes.TOPICS}
    rows: dict[str, tuple[set[str], set[str], set[str]]] = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[0] in get_args(ProcessName):
            consumes, produces, records = (
                set(re.findall(r"`([^`]+)`", cell)) & names for cell in cells[2:]
            )
            rows[cells[0]] = (consumes, produces, records)
    return rows


def test_the_architecture_docs_table_lists_what_the_catalogue_declares() -> None:
    assert _process_table() == {
        p.name: (
            {t.name for t in p.consumes},
            {t.name for t in p.produces},
            {t.name for t in p.records},
        )
        for p in PROCESSES
    }


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
