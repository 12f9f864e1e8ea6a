"""The Kafka topics of the platform: the one definition the services and the Pulumi stacks read.

The Strimzi ``KafkaTopic`` resources are generated from :data:`TOPICS`, and the workers
subscribe and publish by these names, so a rename or a partition change happens here once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final


@dataclass(frozen=True, slots=True)
class Topic:
    """A Kafka topic: its name, partition count and the broker-side config it needs."""

    name: str
    partitions: int
    # Kafka topic-level configs (``cleanup.policy``, ``retention.ms``, ...), as strings
    # because that is how both the broker and Strimzi take them.
    config: dict[str, str] = field(default_factory=dict)


SEVEN_DAYS_MS: Final = str(7 * 24 * 3600 * 1000)
THIRTY_DAYS_MS: Final = str(30 * 24 * 3600 * 1000)

# Every task change, keyed by task id so one task's events keep their order.
TASK_EVENTS: Final = Topic("task-events", 3, {"retention.ms": SEVEN_DAYS_MS})
# reminder.due events, keyed by task id; the notifier's delivery workers consume them.
REMINDERS: Final = Topic("reminders", 3, {"retention.ms": SEVEN_DAYS_MS})
# A compact change notice per task change, keyed by owner, for live clients (web UI).
# Compaction keeps the latest notice per owner; live clients only need "something changed".
TASK_UPDATES: Final = Topic(
    "task-updates", 3, {"cleanup.policy": "compact", "min.compaction.lag.ms": "60000"}
)

# Consumer groups of the worker services; each has a dead-letter topic "<group>.dlq".
# The notifier claims reminders from the database (woken by NOTIFY); only its delivery workers
# consume a topic.
CONSUMER_GROUPS: Final = ("recurring", "audit", "notifier-delivery")


def dead_letter_topic(group: str) -> Topic:
    """The dead-letter topic of a consumer group: poison messages kept 30 days for inspection."""
    return Topic(f"{group}.dlq", 1, {"retention.ms": THIRTY_DAYS_MS})


TOPICS: Final[tuple[Topic, ...]] = (
    TASK_EVENTS,
    REMINDERS,
    TASK_UPDATES,
    *(dead_letter_topic(group) for group in CONSUMER_GROUPS),
)
