"""The names the infra layers agree on about the app: its image, its Secret, the Dapr resources
its pods refer to, and each process's app id.

The lowest infra module (it imports only the core's process catalogue): the cloud layer names
the image its registry holds, the platform scopes its Dapr components to the app ids, and the
workloads deploy under those names, without any of them importing a layer above it.
"""

from __future__ import annotations

from typing import Final

import pulumi

from app.core.processes import PROCESSES, WORKERS

IMAGE_NAME: Final = "todo-platform"
# The application's images (one today; every workload runs it with its own command).
APP_IMAGES: Final[tuple[str, ...]] = (IMAGE_NAME,)

# The Secret holding the app's secrets; the Dapr secret store may read only this one.
APP_SECRET_NAME: Final = "todo-app-secrets"  # noqa: S105 (a name, not a secret)
DATABASE_URL_KEY: Final = "database-url"
JWT_SECRET_KEY: Final = "jwt-secret"  # noqa: S105 (a name, not a secret)

# Names of the platform's Dapr resources the app pods refer to.
DAPR_CONFIGURATION: Final = "todo-dapr"
PUBSUB_COMPONENT: Final = "kafka-pubsub"


def app_id(process: str) -> str:
    """The Dapr app id of a process (by its catalogue name), also the name of its Deployment,
    Service and ServiceAccount."""
    return f"todo-{process}"


APP_IDS: Final[tuple[str, ...]] = tuple(app_id(p.name) for p in PROCESSES)
# Apps that talk to Kafka through the Dapr pub/sub component (publish or subscribe): the
# workers; the API writes its events to the outbox and reads the live feed without Dapr.
PUBSUB_APP_IDS: Final[tuple[str, ...]] = tuple(app_id(p.name) for p in WORKERS)


def image_ref(registry: pulumi.Input[str], tag: str) -> pulumi.Output[str]:
    """``<registry>/todo-platform:<tag>``: the image the workloads pull when not built here."""
    return pulumi.Output.concat(registry, "/", IMAGE_NAME, ":", tag)
