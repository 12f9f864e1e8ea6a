"""A small set_mocks harness for the platform/workloads tests: it runs a Pulumi program under
mocks (preview or update) and records every registered resource with its inputs.

Kept local until the shared harness (tests/infra/mocks.py) covers the same needs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
from pulumi.runtime.mocks import MockMonitor

from infra.k8s_schema import unwrap

SECRET_SIG = "4dabf18193072939515e22adb298388d"
LB_ADDRESS = "203.0.113.7"


@dataclass(frozen=True)
class Registered:
    typ: str
    name: str
    inputs: dict[str, Any]  # as sent to the provider: secrets still wrapped
    urn: str = ""
    parent: str = ""
    dependencies: tuple[str, ...] = ()

    @property
    def manifest(self) -> dict[str, Any]:
        """The inputs as plain JSON (secret wrappers removed)."""
        value = unwrap(self.inputs)
        assert isinstance(value, dict)
        return value

    @property
    def kind(self) -> str:
        return self.typ.rsplit(":", 1)[-1]

    @property
    def k8s_name(self) -> str:
        return str((self.manifest.get("metadata") or {}).get("name", ""))


@dataclass
class Run:
    resources: list[Registered]
    outputs: dict[str, Any] = field(default_factory=dict)
    secret_outputs: set[str] = field(default_factory=set)

    def of_type(self, typ: str) -> list[Registered]:
        return [r for r in self.resources if r.typ == typ]

    def one(self, typ: str, k8s_name: str) -> Registered:
        found = [r for r in self.of_type(typ) if r.k8s_name == k8s_name]
        assert len(found) == 1, f"expected one {typ} named {k8s_name}, got {len(found)}"
        return found[0]

    def kubernetes(self) -> list[Registered]:
        return [
            r for r in self.resources
            if r.typ.startswith("kubernetes:") and not r.typ.startswith("kubernetes:helm.sh")
            and r.typ != "pulumi:providers:kubernetes"
        ]


def is_secret(value: Any) -> bool:
    return isinstance(value, Mapping) and SECRET_SIG in value


class RecordingMocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.resources: list[Registered] = []
        self.pending: dict[tuple[str, str], tuple[str, str, tuple[str, ...]]] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        urn, parent, deps = self.pending.pop((args.typ, args.name), ("", "", ()))
        self.resources.append(
            Registered(args.typ, args.name, dict(args.inputs), urn, parent, deps)
        )
        state = dict(args.inputs)
        if args.typ == "random:index/randomPassword:RandomPassword":
            state["result"] = "R" * int(args.inputs["length"])
        if args.typ == "kubernetes:networking.k8s.io/v1:Ingress":
            # What the provider's Ingress await returns once the controller has an address.
            state["status"] = {"loadBalancer": {"ingress": [{"ip": LB_ADDRESS}]}}
        return f"{args.name}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], None]:
        return {}, None


class RecordingMonitor(MockMonitor):
    """Also records each resource's parent and explicit dependencies (URNs)."""

    def __init__(self, mocks: RecordingMocks) -> None:
        super().__init__(mocks)
        self.recording = mocks

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 (the gRPC method name)
        urn = self.make_urn(request.parent, request.type, request.name)
        self.recording.pending[(request.type, request.name)] = (
            urn,
            request.parent,
            tuple(request.dependencies),
        )
        return super().RegisterResource(request)


def run(program: Callable[[], Mapping[str, pulumi.Output[Any]]], preview: bool) -> Run:
    """Run ``program`` under mocks; it returns the outputs to resolve (value and secretness)."""
    mocks = RecordingMocks()
    pulumi.runtime.set_mocks(
        mocks,
        project="todo-platform",
        stack="test",
        preview=preview,
        monitor=RecordingMonitor(mocks),
    )
    result = Run(mocks.resources)

    @pulumi.runtime.test
    def _program() -> pulumi.Output[Any]:
        outputs = program()

        async def resolve() -> None:
            for key, output in outputs.items():
                result.outputs[key] = await output.future()
                if await output.is_secret():
                    result.secret_outputs.add(key)

        return pulumi.Output.from_input(asyncio.ensure_future(resolve()))

    _program()
    return result


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
        "grafana_admin_password": None,
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

    def program() -> dict[str, pulumi.Output[Any]]:
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
            "depends_on": plat.ready,
        }
        wl_kwargs.update(workloads or {})
        wl = Workloads("workloads", WorkloadsArgs(provider=provider, **wl_kwargs))
        return {
            "api_url": wl.api_url,
            "database_url": plat.database_url,
            "kafka_bootstrap": plat.kafka_bootstrap,
            "grafana_url": plat.grafana_url,
        }

    return run(program, preview)
