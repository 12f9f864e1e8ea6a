"""Pod Security admission's ``restricted`` level as the API server applies it to a pod, and the
``daprd`` container Dapr's injector adds to a pod before admission sees it.

Rules from the Pod Security Standards (https://kubernetes.io/docs/concepts/security/pod-security-standards/,
"Restricted" and the "Baseline" controls it includes), as implemented in
k8s.io/pod-security-admission/policy (check_*.go): only the controls our pods could break.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Restricted: "Volume Types" (check_restrictedVolumes.go).
_ALLOWED_VOLUMES = frozenset(
    {
        "configMap",
        "csi",
        "downwardAPI",
        "emptyDir",
        "ephemeral",
        "persistentVolumeClaim",
        "projected",
        "secret",
    }
)


def restricted_violations(pod_spec: Mapping[str, Any]) -> list[str]:
    """What ``restricted`` refuses in ``pod_spec`` (camelCase, as sent to the API server)."""
    problems: list[str] = []
    pod_ctx = pod_spec.get("securityContext") or {}
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        if pod_spec.get(key):
            problems.append(f"{key}=true")
    for volume in pod_spec.get("volumes") or []:
        kinds = set(volume) - {"name"}
        if not kinds <= _ALLOWED_VOLUMES:
            problems.append(f"volume {volume.get('name')} uses {sorted(kinds)}")
    pod_seccomp = (pod_ctx.get("seccompProfile") or {}).get("type")
    for container in [*(pod_spec.get("initContainers") or []), *pod_spec["containers"]]:
        name = container.get("name", "?")
        ctx = container.get("securityContext") or {}
        if ctx.get("privileged"):
            problems.append(f"{name}: privileged")
        if ctx.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{name}: allowPrivilegeEscalation != false")
        caps = ctx.get("capabilities") or {}
        if "ALL" not in (caps.get("drop") or []):
            problems.append(f"{name}: capabilities.drop lacks ALL")
        if set(caps.get("add") or []) - {"NET_BIND_SERVICE"}:
            problems.append(f"{name}: adds capabilities {caps.get('add')}")
        non_root = ctx.get("runAsNonRoot", pod_ctx.get("runAsNonRoot"))
        if non_root is not True:
            problems.append(f"{name}: runAsNonRoot != true")
        if ctx.get("runAsUser", pod_ctx.get("runAsUser")) == 0:
            problems.append(f"{name}: runAsUser=0")
        seccomp = (ctx.get("seccompProfile") or {}).get("type", pod_seccomp)
        if seccomp not in ("RuntimeDefault", "Localhost"):
            problems.append(f"{name}: seccompProfile {seccomp!r}")
        for port in container.get("ports") or []:
            if port.get("hostPort"):
                problems.append(f"{name}: hostPort {port['hostPort']}")
    return problems


def injected_daprd(injector_values: Mapping[str, Any], annotations: Mapping[str, str]) -> dict:
    """The ``daprd`` container as Dapr 1.16's injector builds it: its security context from
    ``getSidecarContainer`` (https://github.com/dapr/dapr/blob/v1.16.9/pkg/injector/patcher/sidecar_container.go,
    "Security context"), fed by the chart's ``dapr_sidecar_injector`` values (the
    SIDECAR_RUN_AS_NON_ROOT, SIDECAR_READ_ONLY_ROOT_FILESYSTEM and SIDECAR_DROP_ALL_CAPABILITIES
    environment of the injector Deployment) and the pod's ``dapr.io/sidecar-seccomp-profile-type``
    annotation. The daprd image runs as a non-root user (65532)."""
    ctx: dict[str, Any] = {
        "allowPrivilegeEscalation": False,
        "runAsNonRoot": bool(injector_values.get("sidecarRunAsNonRoot")),
        "readOnlyRootFilesystem": bool(injector_values.get("sidecarReadOnlyRootFilesystem")),
    }
    seccomp = annotations.get("dapr.io/sidecar-seccomp-profile-type", "")
    if seccomp:
        ctx["seccompProfile"] = {"type": seccomp}
    if injector_values.get("sidecarDropALLCapabilities"):
        ctx["capabilities"] = {"drop": ["ALL"]}
    return {"name": "daprd", "securityContext": ctx, "ports": [{"containerPort": 3500}]}


def with_injected_sidecar(
    pod_spec: Mapping[str, Any], injector_values: Mapping[str, Any], annotations: Mapping[str, str]
) -> dict[str, Any]:
    """``pod_spec`` as admission sees it: with daprd when the pod asks for Dapr (the injector
    is a mutating webhook, so it runs before Pod Security's validating admission)."""
    if annotations.get("dapr.io/enabled") != "true":
        return dict(pod_spec)
    daprd = injected_daprd(injector_values, annotations)
    token = {"name": "dapr-identity-token", "projected": {"sources": []}}
    return {
        **pod_spec,
        "containers": [*pod_spec["containers"], daprd],
        "volumes": [*(pod_spec.get("volumes") or []), token],
    }
