"""PostgreSQL: an external server (e.g. Neon) whose URL is a Pulumi secret, or a CloudNativePG
``Cluster`` in the cluster whose owner password is generated here, so the URL is known to the
program (and stays secret) without reading anything back from the cluster."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from infra.platform import namespaces, sizing, versions
from infra.platform.k8s import KubeObject, helm_release, metadata, object_meta, secret

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

    def __post_init__(self) -> None:
        if self.mode not in ("external", "incluster"):
            raise ValueError(f"database_mode must be 'external' or 'incluster', got {self.mode!r}")
        if self.mode == "external" and self.url is None:
            raise ValueError("database_url is required when database_mode is 'external'")
        if self.mode == "incluster" and self.storage_gi < 1:
            raise ValueError(f"database_storage_gi must be at least 1, got {self.storage_gi}")


def libpq_url(url: str) -> str:
    """The plain ``postgresql://`` form every client here takes (the app adds its driver;
    Dapr's PostgreSQL state store would not understand ``postgresql+asyncpg://``)."""
    for prefix in ("postgresql+asyncpg://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql://" + url.removeprefix(prefix)
    if not url.startswith("postgresql://"):
        raise ValueError("database_url must be a postgresql:// URL")
    return url


def cluster_manifest(storage_gi: int, storage_class: str | None) -> dict[str, Any]:
    storage: dict[str, Any] = {"size": f"{storage_gi}Gi"}
    if storage_class is not None:
        storage["storageClass"] = storage_class
    return {
        "apiVersion": "postgresql.cnpg.io/v1",
        "kind": "Cluster",
        "metadata": metadata(
            CLUSTER, namespaces.DATABASE, annotations={"pulumi.com/waitFor": "condition=Ready"}
        ),
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
        self,
        name: str,
        args: DatabaseArgs,
        depends_on: Sequence[pulumi.Resource],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("todo:platform:Database", name, None, opts)
        self.ready = []
        if args.url is not None and args.mode == "external":
            self.url = secret(pulumi.Output.from_input(args.url).apply(libpq_url))
        else:
            self.url = self._in_cluster(args, list(depends_on))
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
            pulumi.ResourceOptions(parent=self, provider=provider, depends_on=depends_on),
        )
        # Alphanumeric only: the password goes into a URL without escaping.
        password = random.RandomPassword(
            "db-owner-password",
            length=32,
            special=False,
            opts=pulumi.ResourceOptions(parent=self),
        )
        owner = k8s.core.v1.Secret(
            OWNER_SECRET,
            metadata=object_meta(OWNER_SECRET, namespaces.DATABASE),
            type="kubernetes.io/basic-auth",
            string_data={"username": OWNER, "password": password.result},
            opts=pulumi.ResourceOptions(parent=self, provider=provider, depends_on=depends_on),
        )
        cluster = KubeObject(
            "postgres",
            cluster_manifest(args.storage_gi, args.storage_class),
            pulumi.ResourceOptions(
                parent=self,
                provider=provider,
                depends_on=[operator, owner],
                custom_timeouts=pulumi.CustomTimeouts(create="20m", update="20m"),
            ),
        )
        self.ready = [operator, cluster]
        return secret(
            pulumi.Output.format(
                "postgresql://{0}:{1}@{2}:{3}/{4}", OWNER, password.result, HOST, PORT, DATABASE
            )
        )
