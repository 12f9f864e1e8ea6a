"""The security baseline as pure functions over resource properties.

Each resource check takes a Pulumi resource type (``kubernetes:apps/v1:Deployment``) and the
resource's Kubernetes properties (camelCase, as the provider receives them) and returns one
message per violation. They import nothing from ``pulumi_policy``: the pack in
:mod:`infra.policy.pack` adapts them, and tests and tools call them directly (constructing a
``PolicyPack`` starts a gRPC server).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from infra.k8s_schema import is_unknown

ResourceCheck = Callable[[str, Mapping[str, Any]], list[str]]

PART_OF: Final = "app.kubernetes.io/part-of"
PLATFORM_NAME: Final = "todo-platform"
# Where the pod template sits in each workload kind.
_POD_PATHS: Final[dict[str, tuple[str, ...]]] = {
    "Pod": (),
    "Deployment": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
}
_SECRET_NAME: Final = re.compile(
    r"(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|CREDENTIAL|DATABASE_URL|DSN|AUTH)",
    re.IGNORECASE,
)
# A URL with a password in it (scheme://user:password@host).
_CREDENTIAL_URL: Final = re.compile(r"^[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@", re.IGNORECASE)
DAPR_REQUIRED: Final = ("dapr.io/app-id", "dapr.io/app-port", "dapr.io/config")


@dataclass(frozen=True)
class Workload:
    kind: str
    name: str
    labels: Mapping[str, Any]
    pod_annotations: Mapping[str, Any]
    pod_spec: Mapping[str, Any]

    def containers(self) -> Iterator[Mapping[str, Any]]:
        for key in ("initContainers", "containers"):
            yield from self.pod_spec.get(key) or []

    @property
    def ours(self) -> bool:
        return self.labels.get(PART_OF) == PLATFORM_NAME


def kind_of(resource_type: str) -> str:
    """``kubernetes:apps/v1:Deployment`` -> ``Deployment`` ("" for non-Kubernetes types)."""
    if not resource_type.startswith("kubernetes:"):
        return ""
    return resource_type.rsplit(":", 1)[-1]


def workload(resource_type: str, props: Mapping[str, Any]) -> Workload | None:
    """The pod-bearing view of a resource, or None when it runs no pods."""
    kind = kind_of(resource_type)
    path = _POD_PATHS.get(kind)
    if path is None:
        return None
    template: Mapping[str, Any] = props
    for key in path:
        template = template.get(key) or {}
    meta = props.get("metadata") or {}
    pod_meta = template.get("metadata") or {}
    return Workload(
        kind=kind,
        name=str(meta.get("name", "?")),
        labels=meta.get("labels") or {},
        pod_annotations=pod_meta.get("annotations") or {},
        pod_spec=template.get("spec") or {},
    )


ContainerCheck = Callable[[Mapping[str, Any], Mapping[str, Any]], Iterator[str]]


def _per_container(find: ContainerCheck) -> ResourceCheck:
    """A resource check that runs ``find`` on every container of a pod-bearing resource.

    ``find`` gets the container and the pod's security context (the fallback for the
    container's own) and yields what is wrong with it; each message is prefixed with where.
    """

    @functools.wraps(find)
    def check(resource_type: str, props: Mapping[str, Any]) -> list[str]:
        w = workload(resource_type, props)
        if w is None:
            return []
        pod_ctx = w.pod_spec.get("securityContext") or {}
        return [
            f"{w.kind} {w.name}: container {c.get('name', '?')} {problem}"
            for c in w.containers()
            for problem in find(c, pod_ctx)
        ]

    return check


@_per_container
def check_non_root(c: Mapping[str, Any], pod_ctx: Mapping[str, Any]) -> Iterator[str]:
    """Every container runs as a non-root user (container or pod security context)."""
    ctx = c.get("securityContext") or {}
    if ctx.get("runAsNonRoot", pod_ctx.get("runAsNonRoot")) is not True:
        yield "must set runAsNonRoot: true"
    if ctx.get("runAsUser", pod_ctx.get("runAsUser")) == 0:
        yield "must not run as user 0"


@_per_container
def check_read_only_root(c: Mapping[str, Any], pod_ctx: Mapping[str, Any]) -> Iterator[str]:
    """Every container has a read-only root filesystem."""
    if (c.get("securityContext") or {}).get("readOnlyRootFilesystem") is not True:
        yield "must set readOnlyRootFilesystem: true"


@_per_container
def check_no_privilege_escalation(
    c: Mapping[str, Any], pod_ctx: Mapping[str, Any]
) -> Iterator[str]:
    """No privilege escalation, not privileged, every capability dropped."""
    ctx = c.get("securityContext") or {}
    if ctx.get("allowPrivilegeEscalation") is not False:
        yield "must set allowPrivilegeEscalation: false"
    if ctx.get("privileged") is True:
        yield "must not be privileged"
    dropped = [str(cap).upper() for cap in (ctx.get("capabilities") or {}).get("drop") or []]
    if "ALL" not in dropped:
        yield "must drop ALL capabilities"


@_per_container
def check_limits(c: Mapping[str, Any], pod_ctx: Mapping[str, Any]) -> Iterator[str]:
    """Every container requests and limits both CPU and memory."""
    res = c.get("resources") or {}
    for section in ("requests", "limits"):
        missing = [r for r in ("cpu", "memory") if not (res.get(section) or {}).get(r)]
        if missing:
            yield f"has no {section} for {', '.join(missing)}"


@_per_container
def check_image_pinned(c: Mapping[str, Any], pod_ctx: Mapping[str, Any]) -> Iterator[str]:
    """Every image names a tag other than ``latest``, or a digest."""
    raw = c.get("image")
    if is_unknown(raw):
        return  # a registry not created yet (first preview): checked on update
    image = str(raw or "")
    if "@sha256:" in image:
        return
    last = image.rsplit("/", 1)[-1]
    tag = last.split(":", 1)[1] if ":" in last else ""
    if tag in ("", "latest"):
        yield f"image {image!r} must be pinned (not latest)"


@_per_container
def check_no_plaintext_secrets(c: Mapping[str, Any], pod_ctx: Mapping[str, Any]) -> Iterator[str]:
    """Secret-looking env vars come from a Secret (``valueFrom``), never a literal value."""
    for var in c.get("env") or []:
        value = var.get("value")
        if not value:
            continue
        name = str(var.get("name", ""))
        credential_url = not is_unknown(value) and _CREDENTIAL_URL.match(str(value))
        if _SECRET_NAME.search(name) or credential_url:
            yield f"env {name} holds a secret in plain text; use valueFrom.secretKeyRef"


def check_dapr_annotations(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    """Every app workload says whether it has a Dapr sidecar; a sidecar needs its id, port,
    Configuration and metrics."""
    w = workload(resource_type, props)
    if w is None or not w.ours:
        return []
    enabled = w.pod_annotations.get("dapr.io/enabled")
    if enabled not in ("true", "false"):
        return [f"{w.kind} {w.name}: pod template must set dapr.io/enabled to 'true' or 'false'"]
    if enabled == "false":
        # Only run-to-completion pods may go without a sidecar (it would never exit).
        if w.kind in ("Job", "CronJob"):
            return []
        return [f"{w.kind} {w.name}: app workloads run with a Dapr sidecar (dapr.io/enabled)"]
    problems = [
        f"{w.kind} {w.name}: pod template needs annotation {key}"
        for key in DAPR_REQUIRED
        if not w.pod_annotations.get(key)
    ]
    if w.pod_annotations.get("dapr.io/enable-metrics") != "true":
        problems.append(f"{w.kind} {w.name}: pod template needs dapr.io/enable-metrics: 'true'")
    return problems


RESOURCE_CHECKS: Final[dict[str, ResourceCheck]] = {
    "pods-run-as-non-root": check_non_root,
    "read-only-root-filesystem": check_read_only_root,
    "no-privilege-escalation": check_no_privilege_escalation,
    "resource-requests-and-limits": check_limits,
    "no-latest-images": check_image_pinned,
    "no-plaintext-secrets-in-env": check_no_plaintext_secrets,
    "dapr-annotations-on-app-workloads": check_dapr_annotations,
}


def _is_default_deny(props: Mapping[str, Any]) -> bool:
    spec = props.get("spec") or {}
    selects_all = not ((spec.get("podSelector") or {}).get("matchLabels") or {}) and not (
        (spec.get("podSelector") or {}).get("matchExpressions") or []
    )
    types = set(spec.get("policyTypes") or [])
    return (
        selects_all
        and {"Ingress", "Egress"} <= types
        and not spec.get("ingress")
        and not spec.get("egress")
    )


def check_network_policies(resources: Sequence[tuple[str, Mapping[str, Any]]]) -> list[str]:
    """Every namespace running app workloads has a default-deny NetworkPolicy."""
    app_namespaces: dict[str, str] = {}
    guarded: set[str] = set()
    for resource_type, props in resources:
        namespace = str((props.get("metadata") or {}).get("namespace") or "default")
        kind = kind_of(resource_type)
        if kind == "NetworkPolicy" and _is_default_deny(props):
            guarded.add(namespace)
        w = workload(resource_type, props)
        if w is not None and w.ours:
            app_namespaces.setdefault(namespace, f"{w.kind} {w.name}")
    return [
        f"namespace {ns} runs {example} but has no default-deny NetworkPolicy"
        for ns, example in sorted(app_namespaces.items())
        if ns not in guarded
    ]


def violations(resources: Sequence[tuple[str, Mapping[str, Any]]]) -> list[str]:
    """Every check over every resource: the whole pack, for tests and tools."""
    found = [
        f"[{name}] {message}"
        for resource_type, props in resources
        for name, check in RESOURCE_CHECKS.items()
        for message in check(resource_type, props)
    ]
    found += [f"[network-policy-present] {m}" for m in check_network_policies(resources)]
    return found
