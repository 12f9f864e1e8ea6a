"""The app's Deployments: one per process of the catalogue (app.core.processes), with what only
Kubernetes needs to know on top of it (port, size, how many replicas it may or must run).

The topology itself (commands, consumer groups, the topics each consumes) is read from the
catalogue, never restated here. The workload resources, the Dapr subscriptions and the KEDA
scalers are generated from :data:`APPS`, so adding a worker is one catalogue entry and one
line here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from app.core import processes
from app.core.events.topics import Topic, dead_letter_topic
from app.core.processes import ProcessSpec
from infra.app_names import app_id
from infra.platform import sizing

API_PORT: Final = 8000
WORKER_PORT: Final = 8080
MIGRATION_COMMAND: Final = ("alembic", "upgrade", "head")


@dataclass(frozen=True)
class Consumption:
    """One Kafka consumer group of a worker and the topic it reads."""

    group: str
    topic: Topic

    @property
    def dead_letter(self) -> Topic:
        return dead_letter_topic(self.group)


@dataclass(frozen=True)
class App:
    """One Deployment of the image."""

    key: str  # the process's catalogue name: "api", "relay", ...
    command: tuple[str, ...]
    port: int
    size: sizing.Size
    consumes: tuple[Consumption, ...] = ()
    # A single relay keeps outbox rows published in id order; it must never run twice at once.
    singleton: bool = False
    # The fewest replicas KEDA keeps (consumers; the API's come from the stack's apiReplicas).
    min_replicas: int = 1

    @property
    def app_id(self) -> str:
        """The Dapr app id, also the name of the Deployment, Service and ServiceAccount."""
        return app_id(self.key)

    @property
    def max_consumers(self) -> int:
        """Replicas beyond the partition count of the busiest topic would sit idle."""
        return max(c.topic.partitions for c in self.consumes)


def deployed(
    process: ProcessSpec,
    port: int,
    size: sizing.Size,
    *,
    serve_args: tuple[str, ...] = (),
    singleton: bool = False,
    min_replicas: int = 1,
) -> App:
    """The Deployment of ``process``: its command (plus ``serve_args``) and its consumer group's
    topics. A process without a group (the API's live feed) consumes nothing through Dapr."""
    consumes = (
        tuple(Consumption(process.group, topic) for topic in process.consumes)
        if process.group is not None
        else ()
    )
    command = (*process.command, *serve_args)
    return App(process.name, command, port, size, consumes, singleton, min_replicas)


API: Final = deployed(
    processes.API,
    API_PORT,
    sizing.API,
    # --no-proxy-headers: the app alone decides which proxies to believe (TRUSTED_PROXIES).
    serve_args=("--host", "0.0.0.0", "--port", str(API_PORT), "--no-proxy-headers"),  # noqa: S104
)
RELAY: Final = deployed(processes.RELAY, WORKER_PORT, sizing.WORKER, singleton=True)
RECURRING: Final = deployed(processes.RECURRING, WORKER_PORT, sizing.WORKER)
NOTIFIER: Final = deployed(
    processes.NOTIFIER,
    WORKER_PORT,
    sizing.WORKER,
    # Two, so one crash or restart does not delay due reminders: the claim in the database
    # (FOR UPDATE SKIP LOCKED) lets both fire reminders without sending one twice.
    min_replicas=2,
)
AUDIT: Final = deployed(processes.AUDIT, WORKER_PORT, sizing.WORKER)

APPS: Final[tuple[App, ...]] = (API, RELAY, RECURRING, NOTIFIER, AUDIT)
WORKERS: Final[tuple[App, ...]] = (RELAY, RECURRING, NOTIFIER, AUDIT)


def dapr_app_ids() -> dict[str, str]:
    """``{"api": "todo-api", ...}``: the stack output naming every Dapr app id."""
    return {app.key: app.app_id for app in APPS}
