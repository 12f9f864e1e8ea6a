"""Dapr declarative Subscriptions, created when the Dapr sidecars consume the events."""

from __future__ import annotations

from typing import Any

from infra import app_names
from infra.platform import namespaces
from infra.platform.k8s import metadata
from infra.workloads import catalog


def subscription_manifests(app: catalog.App) -> list[dict[str, Any]]:
    """Dapr declarative subscriptions of ``app`` (Dapr transport), each with its dead letter.

    The route is ``/events/<topic>`` on the app port; after the Resiliency policy's last
    retry, Dapr publishes the message to the group's dead-letter topic instead of stalling.
    """
    return [
        {
            "apiVersion": "dapr.io/v2alpha1",
            "kind": "Subscription",
            "metadata": metadata(f"{app.app_id}-{consumption.topic.name}", namespaces.APP),
            "spec": {
                "pubsubname": app_names.PUBSUB_COMPONENT,
                "topic": consumption.topic.name,
                "routes": {"default": f"/events/{consumption.topic.name}"},
                "deadLetterTopic": consumption.dead_letter.name,
            },
            "scopes": [app.app_id],
        }
        for consumption in app.consumes
    ]
