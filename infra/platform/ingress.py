"""Ingress: the ingress-nginx controller behind the cloud's load balancer, and, when the stack
has a domain, cert-manager with a Let's Encrypt ClusterIssuer for the Ingress TLS certificates."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

import pulumi

from infra.cloud.ingress_service import IngressService
from infra.components import Outputs, child_opts
from infra.platform import namespaces, sizing, versions
from infra.platform.k8s import KubeObject, metadata
from infra.platform.release import ChartArgs, ChartComponent, Release

INGRESS_CLASS: Final = "nginx"
CLUSTER_ISSUER: Final = "letsencrypt"
LETS_ENCRYPT: Final = "https://acme-v02.api.letsencrypt.org/directory"
CONTROLLER: Final = Release("ingress-nginx", versions.INGRESS_NGINX, namespaces.INGRESS)
CERT_MANAGER: Final = Release("cert-manager", versions.CERT_MANAGER, namespaces.CERT_MANAGER)


def service_values(service: IngressService) -> dict[str, object]:
    """The chart's ``controller.service`` values."""
    values: dict[str, object] = {
        "type": service.type,
        "annotations": dict(service.annotations),
        # Traffic keeps the client's source address, which nginx passes on in
        # X-Forwarded-For; the API's login throttle keys on it.
        "externalTrafficPolicy": "Local",
    }
    if service.node_ports is not None:
        http, https = service.node_ports
        values["nodePorts"] = {"http": http, "https": https}
    return values


@dataclass(frozen=True)
class IngressArgs(ChartArgs):
    domain: str | None
    tls_email: str | None
    service: IngressService = field(default_factory=IngressService)

    def __post_init__(self) -> None:
        if self.domain and not self.tls_email:
            raise ValueError("tls_email is required when a domain is set (Let's Encrypt account)")


def controller_values(service: IngressService) -> dict[str, object]:
    return {
        "controller": {
            "replicaCount": 1,
            "ingressClassResource": {"name": INGRESS_CLASS, "default": True},
            "resources": sizing.INGRESS_CONTROLLER.resources(),
            "service": service_values(service),
            # Configuration snippets let an Ingress author inject nginx config: off.
            "allowSnippetAnnotations": False,
            "config": {"hsts": "true", "server-tokens": "false"},
            "metrics": {"enabled": True},
            "podSecurityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
        }
    }


def cert_manager_values() -> dict[str, object]:
    return {
        "crds": {"enabled": True, "keep": True},
        "resources": sizing.CERT_MANAGER_CONTROLLER.resources(),
        "webhook": {"resources": sizing.CERT_MANAGER_WEBHOOK.resources()},
        "cainjector": {"resources": sizing.CERT_MANAGER_CAINJECTOR.resources()},
        "prometheus": {"enabled": True},
    }


def cluster_issuer_manifest(email: str) -> dict[str, object]:
    return {
        "apiVersion": "cert-manager.io/v1",
        "kind": "ClusterIssuer",
        "metadata": metadata(CLUSTER_ISSUER),
        "spec": {
            "acme": {
                "server": LETS_ENCRYPT,
                "email": email,
                "privateKeySecretRef": {"name": f"{CLUSTER_ISSUER}-account-key"},
                "solvers": [{"http01": {"ingress": {"ingressClassName": INGRESS_CLASS}}}],
            }
        },
    }


class Ingress(ChartComponent[IngressArgs]):
    TYPE = "todo:platform:Ingress"

    def _build(self, name: str, args: IngressArgs, after: list[pulumi.Resource]) -> Outputs:
        controller = self._release(args, CONTROLLER, controller_values(args.service), after)
        self.ready = [controller]
        if args.domain and args.tls_email:
            cert_manager = self._release(args, CERT_MANAGER, cert_manager_values(), after)
            issuer = KubeObject(
                "letsencrypt-issuer",
                cluster_issuer_manifest(args.tls_email),
                child_opts(self, args.provider, [cert_manager, controller]),
            )
            self.ready += [cert_manager, issuer]
        return {}
