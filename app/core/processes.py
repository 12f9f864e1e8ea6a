"""The process catalogue: every process of the platform declared once, with its command, the
Kafka consumer group it reads with and the topics it consumes.

The topic contract (a dead-letter topic per consumer group: :data:`TOPICS`), the metric
catalogue (which process exports what) and the workers (their group and topics) read it; the
tests check the Kubernetes workloads and the workers' consumers against it. Standard library
only, like the contracts that read it.
"""

from __future__ import annotations

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


@dataclass(frozen=True, slots=True)
class ProcessSpec:
    name: ProcessName
    command: tuple[str, ...]  # how the image runs it
    # The consumer group it reads ``consumes`` with; a process without one reads no topic
    # through a group (the API's live feed reads without committing offsets).
    group: str | None = None
    consumes: tuple[Topic, ...] = ()

    @property
    def consumer_group(self) -> str:
        """The group, for a process that has one (a catalogue error otherwise)."""
        if self.group is None:
            raise LookupError(f"process {self.name!r} has no consumer group")
        return self.group


API: Final = ProcessSpec(
    "api",
    ("uvicorn", "--factory", "app.main:create_app"),
    consumes=(TASK_UPDATES, REMINDERS),  # the web UI's live feed, without a group
)
# The relay reads the outbox table (woken by NOTIFY) and publishes; it consumes no topic.
RELAY: Final = ProcessSpec("relay", ("python", "-m", "services.relay"))
RECURRING: Final = ProcessSpec(
    "recurring", ("python", "-m", "services.recurring"), "recurring", (TASK_EVENTS,)
)
# The notifier claims due reminders from the database; only its delivery workers consume a topic.
NOTIFIER: Final = ProcessSpec(
    "notifier", ("python", "-m", "services.notifier"), "notifier-delivery", (REMINDERS,)
)
AUDIT: Final = ProcessSpec("audit", ("python", "-m", "services.audit"), "audit", (TASK_EVENTS,))

PROCESSES: Final[tuple[ProcessSpec, ...]] = (API, RELAY, RECURRING, NOTIFIER, AUDIT)
WORKERS: Final = tuple(p for p in PROCESSES if p.name != "api")
CONSUMER_GROUPS: Final = tuple(p.group for p in PROCESSES if p.group is not None)

# Every topic: the contract's three, and the dead-letter topic of each consumer group.
TOPICS: Final[tuple[Topic, ...]] = (
    TASK_EVENTS,
    REMINDERS,
    TASK_UPDATES,
    *(dead_letter_topic(group) for group in CONSUMER_GROUPS),
)
