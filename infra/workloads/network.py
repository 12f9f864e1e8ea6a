"""NetworkPolicies of the app namespace: deny everything, then allow only the flows of the
architecture. Each policy is one flow, named for it, so a denied connection is easy to place."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import pulumi_kubernetes as k8s

from infra.platform import namespaces
from infra.platform.k8s import PART_OF, PLATFORM_NAME
from infra.workloads import catalog, pods

net = k8s.networking.v1
meta = k8s.meta.v1

KAFKA_PORT: Final = 9092
POSTGRES_PORT: Final = 5432
ACME_SOLVER_PORT: Final = 8089
ANYWHERE: Final = "0.0.0.0/0"
# Private ranges: outbound webhooks, e-mail and AI calls must not reach in-cluster or VPC
# addresses (a user-supplied webhook URL is otherwise a way into the network).
PRIVATE_RANGES: Final = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16")


@dataclass(frozen=True)
class Flow:
    """One NetworkPolicy: which pods, and which ingress/egress rules they get."""

    name: str
    pods: dict[str, str]
    ingress: list[net.NetworkPolicyIngressRuleArgs] | None = None
    egress: list[net.NetworkPolicyEgressRuleArgs] | None = None

    def spec(self) -> net.NetworkPolicySpecArgs:
        types = []
        if self.ingress is not None:
            types.append("Ingress")
        if self.egress is not None:
            types.append("Egress")
        return net.NetworkPolicySpecArgs(
            pod_selector=meta.LabelSelectorArgs(match_labels=self.pods or None),
            policy_types=types,
            ingress=self.ingress,
            egress=self.egress,
        )


def _namespace(name: str) -> net.NetworkPolicyPeerArgs:
    return net.NetworkPolicyPeerArgs(
        namespace_selector=meta.LabelSelectorArgs(
            match_labels={"kubernetes.io/metadata.name": name}
        )
    )


def _ports(*numbers: int, protocol: str = "TCP") -> list[net.NetworkPolicyPortArgs]:
    return [net.NetworkPolicyPortArgs(port=n, protocol=protocol) for n in numbers]


def _ip(cidr: str, excluding: tuple[str, ...] = ()) -> net.NetworkPolicyPeerArgs:
    return net.NetworkPolicyPeerArgs(
        ip_block=net.IPBlockArgs(cidr=cidr, except_=list(excluding) or None)
    )


def _from_namespace(name: str, *ports: int) -> net.NetworkPolicyIngressRuleArgs:
    """Ingress from every pod of namespace ``name`` to ``ports``."""
    return net.NetworkPolicyIngressRuleArgs(from_=[_namespace(name)], ports=_ports(*ports))


def _to(peers: list[net.NetworkPolicyPeerArgs], *ports: int) -> net.NetworkPolicyEgressRuleArgs:
    """Egress to ``peers``, on ``ports`` only when any are given (none: every port)."""
    return net.NetworkPolicyEgressRuleArgs(to=peers, ports=_ports(*ports) if ports else None)


def flows(chat_ai_port: int | None = None) -> list[Flow]:
    """The policies; ``chat_ai_port``: the chat's AI service's port, None without one."""
    ours = {PART_OF: PLATFORM_NAME}
    everyone: dict[str, str] = {}
    return [
        Flow("default-deny", everyone, ingress=[], egress=[]),
        # Name resolution; node-local DNS caches listen on link-local addresses, so by port.
        Flow(
            "allow-dns",
            everyone,
            egress=[
                net.NetworkPolicyEgressRuleArgs(ports=[*_ports(53, protocol="UDP"), *_ports(53)])
            ],
        ),
        Flow(
            "allow-ingress-to-api",
            pods.selector(catalog.API.app_id),
            ingress=[_from_namespace(namespaces.INGRESS, catalog.API_PORT)],
        ),
        # cert-manager answers Let's Encrypt's HTTP-01 challenge from a solver pod it starts
        # next to the Ingress; the challenge reaches it through ingress-nginx.
        Flow(
            "allow-acme-http01-solver",
            {"acme.cert-manager.io/http01-solver": "true"},
            ingress=[_from_namespace(namespaces.INGRESS, ACME_SOLVER_PORT)],
        ),
        Flow(
            "allow-prometheus-scrape",
            ours,
            ingress=[
                _from_namespace(
                    namespaces.MONITORING,
                    catalog.API_PORT,
                    catalog.WORKER_PORT,
                    pods.DAPR_METRICS_PORT,
                )
            ],
        ),
        Flow(
            "allow-kafka",
            ours,
            egress=[_to([_namespace(namespaces.KAFKA)], KAFKA_PORT)],
        ),
        # In-cluster CloudNativePG, or an external server (e.g. Neon) outside the cluster.
        Flow(
            "allow-postgres",
            ours,
            egress=[_to([_namespace(namespaces.DATABASE), _ip(ANYWHERE)], POSTGRES_PORT)],
        ),
        # Sidecars: Dapr control plane (sentry, operator, placement, scheduler), and the
        # Kubernetes API for the secret store (its address differs per cluster).
        Flow(
            "allow-dapr-control-plane",
            {pods.DAPR_LABEL: "enabled"},
            egress=[_to([_namespace(namespaces.DAPR)]), _to([_ip(ANYWHERE)], 443, 6443)],
        ),
        # Address verification e-mails from the API: SMTP submission, public addresses only.
        _public_egress("allow-api-mail", catalog.API, 465, 587),
        # Reminder delivery: HTTPS webhooks and SMTP submission, public addresses only.
        _public_egress("allow-notifier-delivery", catalog.NOTIFIER, 443, 465, 587),
        # The chat's AI service (infra/workloads/chat_agent.py), only when one is configured.
        *([_public_egress("allow-api-chat-ai", catalog.API, chat_ai_port)] if chat_ai_port else []),
    ]


def _public_egress(name: str, app: catalog.App, *ports: int) -> Flow:
    """``app``'s connections out of the cluster on ``ports``, to public addresses only."""
    return Flow(
        name,
        pods.selector(app.app_id),
        egress=[_to([_ip(ANYWHERE, PRIVATE_RANGES)], *ports)],
    )
