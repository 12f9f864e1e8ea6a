"""PostgreSQL: an external server (e.g. Neon) whose URL is a Pulumi secret, or a CloudNativePG
``Cluster`` in the cluster whose owner password is generated here, so the URL is known to the
program (and stays secret) without reading anything back from the cluster."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Literal

import pulumi
import pulumi_kubernetes as k8s

from infra.components import child_opts, waits_for
from infra.platform import namespaces, sizing, versions
from infra.platform.k8s import (
    REMOTE_CHARTS,
    ChartSource,
    KubeObject,
    await_ready,
    helm_release,
    metadata,
    object_meta,
    secret,
)

CLUSTER: Final = "todo-db"
DATABASE: Final = "todo"
OWNER: Final = "todo"
OWNER_SECRET: Final = "todo-db-owner"  # noqa: S105 (a name, not a secret)
PORT: Final = 5432
# CloudNativePG's read-write service always points at the current primary.
HOST: Final = f"{CLUSTER}-rw.{namespaces.DATABASE}.svc"


@dataclass(frozen=True)
class DatabaseArgs:
    provider: k8s.Provider
    mode: Literal["external", "incluster"]
    url: pulumi.Input[str] | None
    storage_gi: int
    storage_class: str | None
    # secret, alphanumeric (it goes into a URL unescaped); required when incluster
    owner_password: pulumi.Input[str] | None = None
    charts: ChartSource = REMOTE_CHARTS
    # Wait for CloudNativePG to report the cluster Ready (see k8s.await_ready).
    await_operator: bool = True

    def __post_init__(self) -> None:
        if self.mode not in ("external", "incluster"):
            raise ValueError(f"database_mode must be 'external' or 'incluster', got {self.mode!r}")
        if self.mode == "external" and self.url is None:
            raise ValueError("database_url is required when database_mode is 'external'")
        if self.mode == "incluster" and self.storage_gi < 1:
            raise ValueError(f"database_storage_gi must be at least 1, got {self.storage_gi}")
        if self.mode == "incluster" and self.owner_password is None:
            raise ValueError("database_owner_password is required when database_mode=incluster")


def libpq_url(url: str) -> str:
    """The plain ``postgresql://`` form every client here takes (the app adds its driver;
    Dapr's PostgreSQL state store would not understand ``postgresql+asyncpg://``)."""
    for prefix in ("postgresql+asyncpg://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql://" + url.removeprefix(prefix)
    if not url.startswith("postgresql://"):
        raise ValueError("database_url must be a postgresql:// URL")
    return url


def cluster_manifest(
    storage_gi: int, storage_class: str | None, wait: bool = True
) -> dict[str, Any]:
    storage: dict[str, Any] = {"size": f"{storage_gi}Gi"}
    if storage_class is not None:
        storage["storageClass"] = storage_class
    return {
        "apiVersion": "postgresql.cnpg.io/v1",
        "kind": "Cluster",
        "metadata": metadata(CLUSTER, namespaces.DATABASE, annotations=await_ready(wait)),
        "spec": {
            "instances": 1,
            "imageName": versions.POSTGRES_IMAGE,
            "storage": storage,
            "resources": sizing.POSTGRES_INSTANCE.resources(),
            "bootstrap": {
                "initdb": {"database": DATABASE, "owner": OWNER, "secret": {"name": OWNER_SECRET}}
            },
        },
    }


class Database(pulumi.ComponentResource):
    """Type ``todo:platform:Database``. ``url`` is a secret output in both modes."""

    url: pulumi.Output[str]
    ready: list[pulumi.Resource]

    def __init__(
        self, name: str, args: DatabaseArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("todo:platform:Database", name, None, opts)
        self.ready = []
        if args.url is not None and args.mode == "external":
            self.url = secret(pulumi.Output.from_input(args.url).apply(libpq_url))
        else:
            self.url = self._in_cluster(args, waits_for(opts))
        self.register_outputs({"url": self.url})

    def _in_cluster(
        self, args: DatabaseArgs, depends_on: list[pulumi.Resource]
    ) -> pulumi.Output[str]:
        provider = args.provider
        operator = helm_release(
            "cnpg",
            versions.CLOUDNATIVE_PG,
            namespaces.CNPG,
            {"resources": sizing.CNPG_OPERATOR.resources(), "config": {"clusterWide": True}},
            child_opts(self, provider, depends_on),
            args.charts,
        )
        password = secret(pulumi.Output.from_input(args.owner_password or ""))
        owner = k8s.core.v1.Secret(
            OWNER_SECRET,
            metadata=object_meta(OWNER_SECRET, namespaces.DATABASE),
            type="kubernetes.io/basic-auth",
            string_data={"username": OWNER, "password": password},
            opts=child_opts(self, provider, depends_on),
        )
        cluster = KubeObject(
            "postgres",
            cluster_manifest(args.storage_gi, args.storage_class, args.await_operator),
            child_opts(self, provider, [operator, owner], slow="20m"),
        )
        self.ready = [operator, cluster]
        return secret(
            pulumi.Output.format(
                "postgresql://{0}:{1}@{2}:{3}/{4}", OWNER, password, HOST, PORT, DATABASE
            )
        )
