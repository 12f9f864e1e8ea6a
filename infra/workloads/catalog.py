"""The processes of the app: one image, one entry per command, and the events each consumes.

Pure data. The workload resources, the Dapr component scopes of the platform and the capacity
check are all generated from :data:`APPS`, so adding a worker is one entry here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from app.core.events.topics import REMINDERS, TASK_EVENTS, Topic, dead_letter_topic
from infra.platform import sizing

IMAGE_NAME: Final = "todo-platform"
# The Secret holding the app's secrets; the Dapr secret store may read only this one.
APP_SECRET_NAME: Final = "todo-app-secrets"  # noqa: S105 (a name, not a secret)
DATABASE_URL_KEY: Final = "database-url"
JWT_SECRET_KEY: Final = "jwt-secret"  # noqa: S105 (a name, not a secret)

# Names of the platform's Dapr resources the app pods refer to.
DAPR_CONFIGURATION: Final = "todo-dapr"
PUBSUB_COMPONENT: Final = "kafka-pubsub"

API_PORT: Final = 8000
WORKER_PORT: Final = 8080


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

    key: str  # short name: "api", "relay", ...
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
        return f"todo-{self.key}"

    @property
    def max_consumers(self) -> int:
        """Replicas beyond the partition count of the busiest topic would sit idle."""
        return max(c.topic.partitions for c in self.consumes)


API: Final = App(
    "api",
    # --no-proxy-headers: the app alone decides which proxies to believe (TRUSTED_PROXIES).
    (
        "uvicorn",
        "--factory",
        "app.main:create_app",
        "--host",
        "0.0.0.0",  # noqa: S104
        "--port",
        str(API_PORT),
        "--no-proxy-headers",
    ),
    API_PORT,
    sizing.API,
)
RELAY: Final = App(
    "relay", ("python", "-m", "services.relay"), WORKER_PORT, sizing.WORKER, singleton=True
)
RECURRING: Final = App(
    "recurring",
    ("python", "-m", "services.recurring"),
    WORKER_PORT,
    sizing.WORKER,
    (Consumption("recurring", TASK_EVENTS),),
)
NOTIFIER: Final = App(
    "notifier",
    ("python", "-m", "services.notifier"),
    WORKER_PORT,
    sizing.WORKER,
    (Consumption("notifier-delivery", REMINDERS),),
    # Two, so one crash or restart does not delay due reminders: the claim in the database
    # (FOR UPDATE SKIP LOCKED) lets both fire reminders without sending one twice.
    min_replicas=2,
)
AUDIT: Final = App(
    "audit",
    ("python", "-m", "services.audit"),
    WORKER_PORT,
    sizing.WORKER,
    (Consumption("audit", TASK_EVENTS),),
)

APPS: Final[tuple[App, ...]] = (API, RELAY, RECURRING, NOTIFIER, AUDIT)
WORKERS: Final[tuple[App, ...]] = (RELAY, RECURRING, NOTIFIER, AUDIT)
# Apps that talk to Kafka through the Dapr pub/sub component (publish or subscribe).
PUBSUB_APPS: Final[tuple[App, ...]] = (RELAY, RECURRING, NOTIFIER, AUDIT)
MIGRATION_COMMAND: Final = ("alembic", "upgrade", "head")


def dapr_app_ids() -> dict[str, str]:
    """``{"api": "todo-api", ...}``: the stack output naming every Dapr app id."""
    return {app.key: app.app_id for app in APPS}
