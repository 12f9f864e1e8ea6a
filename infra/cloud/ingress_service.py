"""How a cluster's ingress controller is reached from outside: the cloud layer's answer (each
foundation knows its load balancer), which the platform's ingress chart is installed with."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final, Literal

# The range the API server allocates node ports from (--service-node-port-range default).
NODE_PORT_RANGE: Final = range(30000, 32768)


@dataclass(frozen=True)
class IngressService:
    """How the ingress controller's Service is reached from outside the cluster.

    Clouds put a load balancer in front of it (``LoadBalancer``, tuned by the cloud controller's
    ``annotations``). A cluster without a load-balancer implementation (kind) exposes fixed node
    ports instead, which the cluster's port mappings forward from the host to ``url``: a
    ``LoadBalancer`` Service there never gets an address, so Helm's wait would time out.
    """

    type: Literal["LoadBalancer", "NodePort"] = "LoadBalancer"
    annotations: Mapping[str, str] = field(default_factory=dict)
    node_ports: tuple[int, int] | None = None  # (http, https), NodePort only
    url: str | None = None  # where clients reach the NodePorts, e.g. http://localhost:8080

    def __post_init__(self) -> None:
        if self.type == "NodePort":
            if self.node_ports is None or self.url is None:
                raise ValueError("a NodePort ingress needs node_ports and the url they reach")
            if not all(port in NODE_PORT_RANGE for port in self.node_ports):
                raise ValueError(f"node ports must be in 30000-32767, got {self.node_ports}")
        elif self.node_ports is not None or self.url is not None:
            raise ValueError("node_ports and url apply to a NodePort ingress only")
