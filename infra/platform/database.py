"""PostgreSQL: an external server (e.g. Neon) whose URL is a Pulumi secret, or a CloudNativePG
``Cluster`` in the cluster whose owner password is generated here, so the URL is known to the
program (and stays secret) without reading anything back from the cluster."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Literal

import pulumi
import pulumi_kubernetes as k8s

from infra.components import Outputs, child_opts
from infra.platform import namespaces, sizing, versions
from infra.platform.k8s import KubeObject, await_ready, metadata, object_meta, secret
from infra.platform.release import ChartArgs, ChartComponent, Release

CLUSTER: Final = "todo-db"
DATABASE: Final = "todo"
OWNER: Final = "todo"
OWNER_SECRET: Final = "todo-db-owner"  # noqa: S105 (a name, not a secret)
PORT: Final = 5432
# CloudNativePG's read-write service always points at the current primary.
HOST: Final = f"{CLUSTER}-rw.{namespaces.DATABASE}.svc"
OPERATOR: Final = Release("cnpg", versions.CLOUDNATIVE_PG, namespaces.CNPG)


@dataclass(frozen=True)
class DatabaseArgs(ChartArgs):
    mode: Literal["external", "incluster"]
    url: pulumi.Input[str] | None
    storage_gi: int
    storage_class: str | None
    # secret, alphanumeric (it goes into a URL unescaped); required when incluster
    owner_password: pulumi.Input[str] | None = None
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


class Database(ChartComponent[DatabaseArgs]):
    """``url`` is a secret output in both modes."""

    TYPE = "todo:platform:Database"

    url: pulumi.Output[str]

    def _build(self, name: str, args: DatabaseArgs, after: list[pulumi.Resource]) -> Outputs:
        self.ready = []
        if args.url is not None and args.mode == "external":
            self.url = secret(pulumi.Output.from_input(args.url).apply(libpq_url))
        else:
            self.url = self._in_cluster(args, after)
        return {"url": self.url}

    def _in_cluster(
        self, args: DatabaseArgs, depends_on: list[pulumi.Resource]
    ) -> pulumi.Output[str]:
        provider = args.provider
        values = {"resources": sizing.CNPG_OPERATOR.resources(), "config": {"clusterWide": True}}
        operator = self._release(args, OPERATOR, values, depends_on)
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
