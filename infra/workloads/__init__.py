"""The app as typed Kubernetes resources."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s


@dataclass(frozen=True)
class WorkloadsArgs:
    provider: k8s.Provider
    namespace: str
    image_registry: pulumi.Input[str]
    image_tag: str  # never "latest"
    registry_username: pulumi.Input[str] | None
    registry_password: pulumi.Input[str] | None  # secret -> imagePullSecret
    node_arch: str
    database_url: pulumi.Input[str]  # secret
    kafka_bootstrap: pulumi.Input[str]
    domain: str | None
    api_replicas: int
    api_max_replicas: int
    depends_on: Sequence[pulumi.Resource]


class Workloads(pulumi.ComponentResource):
    """Type ``todo:workloads:Workloads``."""

    api_url: pulumi.Output[str]
    dapr_app_ids: dict[str, str]

    def __init__(
        self, name: str, args: WorkloadsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("todo:workloads:Workloads", name, None, opts)
        raise NotImplementedError
