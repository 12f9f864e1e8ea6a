"""The namespaces of the platform, each with its Pod Security Admission level.

Our app namespace enforces ``restricted``. Third-party components get the strictest level they
are documented to run under, and ``warn``/``audit`` at ``restricted`` so drift is visible.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

import pulumi
import pulumi_kubernetes as k8s

from infra.components import Component, Outputs, child_opts
from infra.platform.k8s import object_meta

Level = Literal["privileged", "baseline", "restricted"]

APP: Final = "todo-app"
KAFKA: Final = "kafka"
DAPR: Final = "dapr-system"
MONITORING: Final = "monitoring"
INGRESS: Final = "ingress-nginx"
CERT_MANAGER: Final = "cert-manager"
KEDA: Final = "keda"
CNPG: Final = "cnpg-system"
DATABASE: Final = "todo-db"


@dataclass(frozen=True)
class NamespaceSpec:
    name: str
    enforce: Level


def psa_labels(enforce: Level) -> dict[str, str]:
    """Pod Security Admission labels: enforce ``enforce``, warn and audit at ``restricted``."""
    return {
        "pod-security.kubernetes.io/enforce": enforce,
        "pod-security.kubernetes.io/enforce-version": "latest",
        "pod-security.kubernetes.io/warn": "restricted",
        "pod-security.kubernetes.io/audit": "restricted",
    }


def namespace_specs(with_tls: bool, in_cluster_database: bool) -> list[NamespaceSpec]:
    """The namespaces a stack needs; cert-manager and the database ones only when used."""
    specs = [
        NamespaceSpec(APP, "restricted"),
        NamespaceSpec(KAFKA, "baseline"),
        NamespaceSpec(DAPR, "baseline"),
        NamespaceSpec(KEDA, "baseline"),
        # ingress-nginx binds :80/:443 with NET_BIND_SERVICE, which baseline allows.
        NamespaceSpec(INGRESS, "baseline"),
        # node-exporter reads the host's /proc and /sys with hostPID/hostNetwork.
        NamespaceSpec(MONITORING, "privileged"),
    ]
    if with_tls:
        specs.append(NamespaceSpec(CERT_MANAGER, "restricted"))
    if in_cluster_database:
        specs += [NamespaceSpec(CNPG, "baseline"), NamespaceSpec(DATABASE, "restricted")]
    return specs


@dataclass(frozen=True)
class NamespacesArgs:
    provider: k8s.Provider
    specs: Sequence[NamespaceSpec]


class Namespaces(Component[NamespacesArgs]):
    """One Namespace per :class:`NamespaceSpec`."""

    TYPE = "todo:platform:Namespaces"

    def _build(self, name: str, args: NamespacesArgs, after: list[pulumi.Resource]) -> Outputs:
        child = child_opts(self, args.provider, after)
        self.by_name: dict[str, k8s.core.v1.Namespace] = {
            spec.name: k8s.core.v1.Namespace(
                spec.name,
                metadata=object_meta(spec.name, labels=psa_labels(spec.enforce)),
                opts=child,
            )
            for spec in args.specs
        }
        return {"names": list(self.by_name)}
