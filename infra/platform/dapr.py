"""Dapr: the control plane from its chart, and the app namespace's Dapr resources: the
``kafka-pubsub``, ``statestore``, ``reminder-check`` and ``kubernetes-secrets`` components, the
``Configuration`` every sidecar loads, the ``Resiliency`` policy that bounds retries, and the
Role that lets the app service accounts read the one Secret the secret store serves."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import pulumi
import pulumi_kubernetes as k8s

from app.core import processes
from infra import app_names
from infra.app_names import app_id
from infra.components import Outputs, child_opts
from infra.platform import namespaces, sizing, versions
from infra.platform.k8s import KubeObject, metadata, object_meta
from infra.platform.release import ChartArgs, ChartComponent, Release

API_VERSION: Final = "dapr.io/v1alpha1"
PUBSUB: Final = app_names.PUBSUB_COMPONENT
STATESTORE: Final = "statestore"
REMINDER_CHECK: Final = "reminder-check"
SECRET_STORE: Final = "kubernetes-secrets"  # noqa: S105 (a name, not a secret)
CONFIGURATION: Final = app_names.DAPR_CONFIGURATION
RESILIENCY: Final = "todo-resiliency"
RELEASE: Final = Release("dapr", versions.DAPR, namespaces.DAPR)
SECRET_READER: Final = "dapr-secret-reader"  # noqa: S105 (a name, not a secret)
# The cron binding's backstop sweep; the notifier's own timers are the clock (ARCHITECTURE.md).
REMINDER_SWEEP_SCHEDULE: Final = "@every 1m"
# Bounded retries: Dapr's Kafka consumer otherwise retries a failing message forever and
# stalls its partition; after the last retry the message goes to the subscription's dead letter.
INBOUND_MAX_RETRIES: Final = 5


@dataclass(frozen=True)
class DaprArgs(ChartArgs):
    kafka_bootstrap: str


def _component(
    name: str, type_: str, meta: list[dict[str, Any]], scopes: Sequence[str]
) -> dict[str, Any]:
    component: dict[str, Any] = {
        "apiVersion": API_VERSION,
        "kind": "Component",
        "metadata": metadata(name, namespaces.APP),
        "spec": {"type": type_, "version": "v1", "metadata": meta},
        "scopes": list(scopes),
    }
    if any("secretKeyRef" in item for item in meta):
        component["auth"] = {"secretStore": SECRET_STORE}
    return component


def pubsub_manifest(bootstrap: str) -> dict[str, Any]:
    # No consumerGroup here: each app id is its own group (Dapr's default consumerID), so the
    # apps never share a group and each gets every event of the topics it subscribes to.
    return _component(
        PUBSUB,
        "pubsub.kafka",
        [
            {"name": "brokers", "value": bootstrap},
            {"name": "authType", "value": "none"},
            {"name": "disableTls", "value": "true"},
            {"name": "clientID", "value": "{appID}"},
            {"name": "initialOffset", "value": "oldest"},
        ],
        list(app_names.PUBSUB_APP_IDS),
    )


def statestore_manifest() -> dict[str, Any]:
    return _component(
        STATESTORE,
        "state.postgresql",
        [
            {
                "name": "connectionString",
                "secretKeyRef": {
                    "name": app_names.APP_SECRET_NAME,
                    "key": app_names.DATABASE_URL_KEY,
                },
            },
            # Own tables, so Dapr never touches the app's schema (Alembic owns that).
            {"name": "tableName", "value": "dapr_state"},
            {"name": "metadataTableName", "value": "dapr_metadata"},
        ],
        [app_id(processes.API.name)],
    )


def reminder_check_manifest() -> dict[str, Any]:
    # Dapr POSTs to /reminder-check on every tick, on every replica of each scoped app: the
    # notifier's reminder sweep and the recurring service's series repair sweep.
    return _component(
        REMINDER_CHECK,
        "bindings.cron",
        [
            {"name": "schedule", "value": REMINDER_SWEEP_SCHEDULE},
            {"name": "direction", "value": "input"},
        ],
        [app_id(processes.NOTIFIER.name), app_id(processes.RECURRING.name)],
    )


def secret_store_manifest() -> dict[str, Any]:
    return _component(SECRET_STORE, "secretstores.kubernetes", [], list(app_names.APP_IDS))


def configuration_manifest() -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": "Configuration",
        "metadata": metadata(CONFIGURATION, namespaces.APP),
        "spec": {
            "metric": {"enabled": True},
            # No `mtls` here: the control plane's own `daprsystem` Configuration (chart value
            # global.mtls.enabled) turns mTLS on for every sidecar, and Dapr 1.16's CRD requires
            # controlPlaneTrustDomain and sentryAddress whenever an app Configuration names it.
            # The secret store answers for the app Secret only, whatever an app asks for.
            "secrets": {
                "scopes": [
                    {
                        "storeName": SECRET_STORE,
                        "defaultAccess": "deny",
                        "allowedSecrets": [app_names.APP_SECRET_NAME],
                    }
                ]
            },
        },
    }


def resiliency_manifest() -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": "Resiliency",
        "metadata": metadata(RESILIENCY, namespaces.APP),
        "scopes": list(app_names.APP_IDS),
        "spec": {
            "policies": {
                "timeouts": {"component": "10s"},
                "retries": {
                    "deliver": {
                        "policy": "exponential",
                        "maxInterval": "30s",
                        "maxRetries": INBOUND_MAX_RETRIES,
                    },
                    "component": {"policy": "exponential", "maxInterval": "5s", "maxRetries": 3},
                },
                "circuitBreakers": {
                    "component": {
                        "maxRequests": 1,
                        "interval": "30s",
                        "timeout": "60s",
                        "trip": "consecutiveFailures >= 5",
                    }
                },
            },
            "targets": {
                "components": {
                    PUBSUB: {
                        "inbound": {"retry": "deliver"},
                        "outbound": {
                            "retry": "component",
                            "timeout": "component",
                            "circuitBreaker": "component",
                        },
                    },
                    STATESTORE: {
                        "outbound": {
                            "retry": "component",
                            "timeout": "component",
                            "circuitBreaker": "component",
                        }
                    },
                }
            },
        },
    }


def control_plane_values() -> dict[str, Any]:
    resources = sizing.DAPR_CONTROL_PLANE.resources()
    return {
        "global": {
            "ha": {"enabled": False},
            "logAsJson": True,
            "mtls": {"enabled": True},
            "prometheus": {"enabled": True},
            # The apps use pub/sub, state, a cron binding and secrets only: no actors,
            # workflows or jobs, so neither placement nor the scheduler runs. The 1.16 chart
            # runs the scheduler as three replicas with a volume each whenever it is on
            # (dapr_scheduler's "get-replicas" helper), 150 GB of block storage on OCI alone.
            "actors": {"enabled": False},
            "scheduler": {"enabled": False},
        },
        "dapr_operator": {"resources": resources},
        "dapr_sentry": {"resources": resources},
        # The app namespace enforces Pod Security `restricted`, which admits no container
        # keeping its capabilities; the injector adds `drop: [ALL]` to daprd only when told
        # to (there is no per-pod annotation for it).
        "dapr_sidecar_injector": {"resources": resources, "sidecarDropALLCapabilities": True},
    }


class Dapr(ChartComponent[DaprArgs]):
    TYPE = "todo:platform:Dapr"

    def _build(self, name: str, args: DaprArgs, after: list[pulumi.Resource]) -> Outputs:
        provider = args.provider
        control_plane = self._release(args, RELEASE, control_plane_values(), after, skip_crds=True)
        after_crds = child_opts(self, provider, [control_plane, *after])
        manifests = {
            PUBSUB: pubsub_manifest(args.kafka_bootstrap),
            STATESTORE: statestore_manifest(),
            REMINDER_CHECK: reminder_check_manifest(),
            SECRET_STORE: secret_store_manifest(),
            CONFIGURATION: configuration_manifest(),
            RESILIENCY: resiliency_manifest(),
        }
        self.resources = {
            name: KubeObject(f"dapr-{name}", manifest, after_crds)
            for name, manifest in manifests.items()
        }
        role = k8s.rbac.v1.Role(
            SECRET_READER,
            metadata=object_meta(SECRET_READER, namespaces.APP),
            rules=[
                k8s.rbac.v1.PolicyRuleArgs(
                    api_groups=[""],
                    resources=["secrets"],
                    resource_names=[app_names.APP_SECRET_NAME],
                    verbs=["get"],
                )
            ],
            opts=child_opts(self, provider, after),
        )
        binding = k8s.rbac.v1.RoleBinding(
            SECRET_READER,
            metadata=object_meta(SECRET_READER, namespaces.APP),
            role_ref=k8s.rbac.v1.RoleRefArgs(
                api_group="rbac.authorization.k8s.io", kind="Role", name=SECRET_READER
            ),
            subjects=[
                k8s.rbac.v1.SubjectArgs(kind="ServiceAccount", name=name, namespace=namespaces.APP)
                for name in app_names.APP_IDS
            ],
            opts=child_opts(self, provider, [role]),
        )
        self.ready = [control_plane, *self.resources.values(), role, binding]
        return {}
