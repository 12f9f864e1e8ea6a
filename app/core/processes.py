"""The process catalogue: every process of the platform declared once, with its command, the
Kafka consumer group it reads with, the topics it consumes and the topics it produces.

A process produces a topic in one of two ways, and the catalogue keeps them apart because
different code enforces each: its own Kafka producer writes the topic (``produces``: the relay's
topics, a consumer group's dead-letter topic; ``services.common.publisher.DeclaredTopics``
refuses any other), or it records the topic's events in the outbox in the transaction of the
change and the relay publishes them (``records``; :mod:`app.core.events.outbox` refuses an event
whose ``source`` process does not declare its topic).

The topic list (:data:`TOPICS`: the topics some process produces, each consumed topic among
them), the metric catalogue (which process exports what) and the workers (their group and
topics) read it; the tests check the Kubernetes workloads, the workers' consumers and
docs/architecture.md's process table against it. Standard library only, like the contracts that
read it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final, Literal

from app.core.events.topics import (
    REMINDERS,
    TASK_EVENTS,
    TASK_UPDATES,
    Topic,
    dead_letter_topic,
)

ProcessName = Literal["api", "relay", "recurring", "notifier", "audit"]


class UndeclaredTopic(LookupError):
    """A process tried to write a topic its catalogue entry does not declare; nothing was
    written."""


@dataclass(frozen=True, slots=True)
class ProcessSpec:
    name: ProcessName
    command: tuple[str, ...]  # how the image runs it
    # The consumer group it reads ``consumes`` with; a process without one reads no topic
    # through a group (the API's live feed reads without committing offsets).
    group: str | None = None
    consumes: tuple[Topic, ...] = ()
    # Topics its own Kafka producer writes, besides its group's dead-letter topic.
    publishes: tuple[Topic, ...] = ()
    # Topics of the events it writes to the outbox; the relay publishes them.
    records: tuple[Topic, ...] = ()

    @property
    def consumer_group(self) -> str:
        """The group, for a process that has one (a catalogue error otherwise)."""
        if self.group is None:
            raise LookupError(f"process {self.name!r} has no consumer group")
        return self.group

    @property
    def produces(self) -> tuple[Topic, ...]:
        """Every topic the process writes to Kafka itself: what it publishes and, for a consumer,
        the dead-letter topic of its group (where it sends what it cannot process)."""
        if self.group is None:
            return self.publishes
        return (*self.publishes, dead_letter_topic(self.group))

    @property
    def source(self) -> str:
        """The CloudEvents ``source`` of the events it records (``/todo-platform/<name>``)."""
        return f"/todo-platform/{self.name}"


API: Final = ProcessSpec(
    "api",
    ("uvicorn", "--factory", "app.main:create_app"),
    consumes=(TASK_UPDATES, REMINDERS),  # the web UI's live feed, without a group
    records=(TASK_EVENTS,),  # task.* and reminder.scheduled
)
# The relay reads the outbox table (woken by NOTIFY) and publishes it: every recorded event on
# its topic, and a compact task-updates notice per task change. It consumes no topic.
RELAY: Final = ProcessSpec(
    "relay",
    ("python", "-m", "services.relay"),
    publishes=(TASK_EVENTS, REMINDERS, TASK_UPDATES),
)
RECURRING: Final = ProcessSpec(
    "recurring",
    ("python", "-m", "services.recurring"),
    "recurring",
    (TASK_EVENTS,),
    records=(TASK_EVENTS,),  # the next occurrence's task.created and reminder.scheduled
)
# The notifier claims due reminders from the database; only its delivery workers consume a topic.
NOTIFIER: Final = ProcessSpec(
    "notifier",
    ("python", "-m", "services.notifier"),
    "notifier-delivery",
    (REMINDERS,),
    records=(REMINDERS,),  # reminder.due when claimed, notification.sent when delivered
)
AUDIT: Final = ProcessSpec("audit", ("python", "-m", "services.audit"), "audit", (TASK_EVENTS,))

PROCESSES: Final[tuple[ProcessSpec, ...]] = (API, RELAY, RECURRING, NOTIFIER, AUDIT)
WORKERS: Final = tuple(p for p in PROCESSES if p.name != "api")
CONSUMER_GROUPS: Final = tuple(p.group for p in PROCESSES if p.group is not None)


def produced_topics(processes: Iterable[ProcessSpec]) -> tuple[Topic, ...]:
    """Every topic some of ``processes`` produces, once each, in their order."""
    return tuple({topic.name: topic for p in processes for topic in p.produces}.values())


def check_catalogue(processes: Sequence[ProcessSpec]) -> None:
    """Refuse a catalogue naming a topic nobody writes: whatever a process consumes, some
    process produces; whatever it records in the outbox, the relay (its one reader) publishes."""
    produced = {topic.name for topic in produced_topics(processes)}
    published = {t.name for p in processes if p.name == "relay" for t in p.publishes}
    consumed = {t.name for p in processes for t in p.consumes}
    recorded = {t.name for p in processes for t in p.records}
    missing = sorted((consumed - produced) | (recorded - published))
    if missing:
        raise UndeclaredTopic(f"app/core/processes.py: no process produces {', '.join(missing)}")


check_catalogue(PROCESSES)
# Every topic some process produces: the relay's (the contract's three), then each consumer
# group's dead-letter topic. Kafka creates exactly these.
TOPICS: Final = produced_topics(PROCESSES)


_BY_SOURCE: Final = {process.source: process for process in PROCESSES}


def by_source(source: str) -> ProcessSpec:
    """The process whose CloudEvents ``source`` this is (a ``LookupError`` for any other)."""
    try:
        return _BY_SOURCE[source]
    except KeyError:
        raise LookupError(f"no process of the catalogue has the event source {source!r}") from None


def check_writes(process: ProcessSpec, topics: Iterable[str], *, outbox: bool = False) -> None:
    """Refuse (:class:`UndeclaredTopic`) any of ``topics`` that ``process`` does not declare:
    in ``records`` for an outbox write, in ``produces`` for a write of its own producer."""
    declared = process.records if outbox else process.produces
    names = {topic.name for topic in declared}
    stray = sorted(set(topics) - names)
    if stray:
        field = "records" if outbox else "produces"
        raise UndeclaredTopic(
            f"process {process.name!r} may not write {', '.join(stray)}: its {field!r} in "
            f"app/core/processes.py declares {', '.join(sorted(names)) or 'no topic'}"
        )
