"""Platform + Workloads run on their own (without a cloud) under the shared mocks harness
(:mod:`devtools.testkit.pulumi_mocks`), with a view of the registered resources suited to these
tests."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from devtools.testkit.pulumi_mocks import (
    LOAD_BALANCER_ADDRESS,
    ProgramRun,
    RecordedResource,
    evaluate,
)

LB_ADDRESS = LOAD_BALANCER_ADDRESS
# Any committed stack: the program below reads no stack config.
CONFIG_STACK = "oke"


@dataclass(frozen=True)
class Registered:
    """One registered resource; ``manifest`` is its inputs as plain JSON."""

    resource: RecordedResource

    @property
    def typ(self) -> str:
        return self.resource.type

    @property
    def name(self) -> str:
        return self.resource.name

    @property
    def urn(self) -> str:
        return self.resource.urn

    @property
    def dependencies(self) -> list[str]:
        return self.resource.dependencies

    @property
    def manifest(self) -> dict[str, Any]:
        return self.resource.inputs

    @property
    def kind(self) -> str:
        return self.typ.rsplit(":", 1)[-1]

    @property
    def k8s_name(self) -> str:
        return str((self.manifest.get("metadata") or {}).get("name", ""))

    def secret(self, key: str) -> bool:
        """Was the top-level input ``key`` registered as a secret?"""
        return key in self.resource.secret_inputs


@dataclass(frozen=True)
class Run:
    program_run: ProgramRun

    @property
    def resources(self) -> list[Registered]:
        return [Registered(r) for r in self.program_run.resources]

    @property
    def outputs(self) -> dict[str, Any]:
        return {key: out.value for key, out in self.program_run.outputs.items()}

    @property
    def secret_outputs(self) -> set[str]:
        return {key for key, out in self.program_run.outputs.items() if out.secret}

    def of_type(self, typ: str) -> list[Registered]:
        return [r for r in self.resources if r.typ == typ]

    def one(self, typ: str, k8s_name: str) -> Registered:
        found = [r for r in self.of_type(typ) if r.k8s_name == k8s_name]
        assert len(found) == 1, f"expected one {typ} named {k8s_name}, got {len(found)}"
        return found[0]

    def kubernetes(self) -> list[Registered]:
        """Kubernetes objects (not providers, Helm releases or the CRDs' YAML groups)."""
        return [
            r
            for r in self.resources
            if r.typ.startswith("kubernetes:")
            and not r.typ.startswith(("kubernetes:helm.sh", "kubernetes:yaml/"))
        ]


REGISTRY = "iad.ocir.io/tenancy/todo"
TAG = "1.4.2"
EXTERNAL_DB_URL = "postgresql+asyncpg://neon:s3cret@ep-1.eu.aws.neon.tech/todo"


def platform_kwargs(**changes: Any) -> dict[str, Any]:
    """PlatformArgs fields (without the provider) of a free-tier stack, with ``changes``."""
    base: dict[str, Any] = {
        "storage_class": "oci-bv",
        "kafka_replicas": 1,
        "kafka_storage_gi": 20,
        "database_mode": "incluster",
        "database_url": None,
        "database_storage_gi": 10,
        "domain": "todo.example.com",
        "tls_email": "ops@example.com",
        "alert_email_to": None,
        "alert_slack_webhook": None,
        "grafana_admin_password": "G" * 24,
        "database_owner_password": "D" * 32,
    }
    base.update(changes)
    return base


def stack(
    preview: bool = False,
    platform: Mapping[str, Any] | None = None,
    workloads: Mapping[str, Any] | None = None,
) -> Run:
    """Platform + Workloads wired as the stacks wire them, under mocks."""
    from infra.platform import Platform, PlatformArgs
    from infra.workloads import Workloads, WorkloadsArgs

    def program() -> None:
        provider = k8s.Provider("cluster", kubeconfig=pulumi.Output.secret("apiVersion: v1"))
        plat = Platform(
            "platform", PlatformArgs(provider=provider, **platform_kwargs(**(platform or {})))
        )
        wl_kwargs: dict[str, Any] = {
            "namespace": plat.app_namespace,
            "image_registry": REGISTRY,
            "image_tag": TAG,
            "registry_username": "tenancy/ci",
            "registry_password": pulumi.Output.secret("registry-token"),
            "node_arch": "arm64",
            "database_url": plat.database_url,
            "kafka_bootstrap": plat.kafka_bootstrap,
            "domain": (platform or {}).get("domain", "todo.example.com"),
            "api_replicas": 2,
            "api_max_replicas": 4,
            "jwt_signing_key": "J" * 64,
        }
        wl_kwargs.update(workloads or {})
        wl = Workloads(
            "workloads",
            WorkloadsArgs(provider=provider, **wl_kwargs),
            pulumi.ResourceOptions(depends_on=plat.ready),
        )
        pulumi.export("api_url", wl.api_url)
        pulumi.export("database_url", plat.database_url)
        pulumi.export("kafka_bootstrap", plat.kafka_bootstrap)
        pulumi.export("grafana_url", plat.grafana_url)

    with tempfile.TemporaryDirectory(prefix="platform-mocks-") as workdir:
        return Run(evaluate(CONFIG_STACK, Path(workdir), preview=preview, program=program).ok())


# Stack shapes worth checking as a whole: (platform changes, workloads changes).
VARIANTS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "free-tier": ({}, {}),
    "production": (
        {
            "kafka_replicas": 3,
            "kafka_storage_gi": 100,
            "storage_class": None,
            "database_mode": "external",
            "database_url": EXTERNAL_DB_URL,
            "domain": None,
            "tls_email": None,
            "alert_slack_webhook": "https://hooks.slack.com/services/T0/B0/X",
        },
        {"api_replicas": 3, "api_max_replicas": 10},
    ),
    "dapr-transport": (
        {},
        {"event_transport": "dapr", "registry_username": None, "registry_password": None},
    ),
}


# Every variant as an update and as the first preview of a fresh stack.
VARIANT_RUNS: list[tuple[str, bool]] = [
    (name, preview) for name in VARIANTS for preview in (False, True)
]


def variant_id(param: tuple[str, bool]) -> str:
    return f"{param[0]}-{'preview' if param[1] else 'update'}"


def variant(name: str, preview: bool) -> Run:
    platform, workloads = VARIANTS[name]
    return stack(preview=preview, platform=platform, workloads=workloads)
