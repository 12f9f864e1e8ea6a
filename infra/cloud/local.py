"""A cluster that already exists (kind, k3d, minikube, any distribution): no cloud resources.

The stack reaches it through a kubeconfig context. Images come from an optional registry;
without one they are expected in the nodes' image store (``kind load docker-image
todo-platform:<tag>`` tags them ``docker.io/library/todo-platform:<tag>``, which is also how
Kubernetes spells the bare name).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import pulumi

from infra.cloud.base import (
    Allocatable,
    CloudCluster,
    ClusterOutputs,
    RegistryAccess,
    kubernetes_provider,
)
from infra.cloud.ingress_service import IngressService
from infra.cloud.shapes import NodeArch
from infra.components import Outputs

DEFAULT_REGISTRY: Final = "docker.io/library"
# kind (and most local clusters) have no load-balancer implementation: the ingress listens on
# fixed node ports which the cluster's port mappings forward from the host (docs/deploy.md has
# the kind config: 30080 -> localhost:8080, 30443 -> localhost:8443).
INGRESS_NODE_PORTS: Final = (30080, 30443)
INGRESS_URL: Final = "http://localhost:8080"
INGRESS_SERVICE: Final = IngressService(
    type="NodePort", node_ports=INGRESS_NODE_PORTS, url=INGRESS_URL
)


@dataclass(frozen=True)
class LocalClusterArgs:
    kubeconfig: pulumi.Input[str]  # secret: the kubeconfig document
    context: str
    allocatable: Allocatable  # declared in config: this program cannot measure the cluster
    node_arch: NodeArch
    registry_server: str | None = None
    storage_class: str | None = None


class LocalCluster(CloudCluster[LocalClusterArgs]):
    """Binds the stack to an existing cluster's context."""

    TYPE = "todo:cloud:LocalCluster"

    def _build(self, name: str, args: LocalClusterArgs, after: list[pulumi.Resource]) -> Outputs:
        kubeconfig = pulumi.Output.secret(args.kubeconfig)
        return self._complete(
            ClusterOutputs(
                name=pulumi.Output.from_input(args.context),
                kubeconfig=kubeconfig,
                provider=kubernetes_provider(
                    f"{name}-k8s",
                    kubeconfig=kubeconfig,
                    context=args.context,
                    # The context names the cluster; switching context means another cluster.
                    cluster_identifier=args.context,
                    parent=self,
                ),
                registry=RegistryAccess(
                    pulumi.Output.from_input(args.registry_server or DEFAULT_REGISTRY)
                ),
                node_arch=args.node_arch,
                storage_class=args.storage_class,
                allocatable_cpu_millicores=args.allocatable.cpu_millicores,
                allocatable_memory_mib=args.allocatable.memory_mib,
                ingress_service=INGRESS_SERVICE,
            )
        )
