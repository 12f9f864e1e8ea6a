"""Pod and container specs of the app: the security baseline, probes, resources, environment
and Dapr sidecar annotations every workload of ours shares."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import pulumi
import pulumi_kubernetes as k8s

from infra import app_names
from infra.platform import sizing
from infra.platform.k8s import PART_OF, PLATFORM_NAME
from infra.workloads import catalog

core = k8s.core.v1

# Label on pods that run a Dapr sidecar: the NetworkPolicy towards the Dapr control plane and
# the Kubernetes API selects them.
DAPR_LABEL: Final = "todo-platform/dapr"
RUN_AS: Final = 10001
TMP_VOLUME: Final = "tmp"
DAPR_METRICS_PORT: Final = 9090
# Private (RFC 1918 / RFC 4193) networks: every cluster's pod network is one of them.
TRUSTED_PROXIES: Final = '["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"]'


def labels(app_id: str, component: str, dapr: bool) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": app_id,
        "app.kubernetes.io/component": component,
        PART_OF: PLATFORM_NAME,
        DAPR_LABEL: "enabled" if dapr else "disabled",
    }


def selector(app_id: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": app_id, PART_OF: PLATFORM_NAME}


def dapr_annotations(app: catalog.App) -> dict[str, str]:
    """The sidecar of ``app``: its id and port, metrics, our Configuration, its own sizing."""
    side = sizing.DAPR_SIDECAR
    return {
        "dapr.io/enabled": "true",
        "dapr.io/app-id": app.app_id,
        "dapr.io/app-port": str(app.port),
        "dapr.io/app-protocol": "http",
        "dapr.io/config": app_names.DAPR_CONFIGURATION,
        "dapr.io/enable-metrics": "true",
        "dapr.io/metrics-port": str(DAPR_METRICS_PORT),
        "dapr.io/log-as-json": "true",
        "dapr.io/enable-app-health-check": "true",
        "dapr.io/app-health-check-path": "/healthz",
        # Only our scoped `kubernetes-secrets` store, not Dapr's implicit unscoped one.
        "dapr.io/disable-builtin-k8s-secret-store": "true",
        "dapr.io/sidecar-seccomp-profile-type": "RuntimeDefault",
        "dapr.io/sidecar-cpu-request": f"{side.cpu_m}m",
        "dapr.io/sidecar-memory-request": f"{side.memory_mi}Mi",
        "dapr.io/sidecar-cpu-limit": f"{side.cpu_limit_m}m",
        "dapr.io/sidecar-memory-limit": f"{side.memory_limit_mi}Mi",
    }


# The Job runs to completion; a sidecar would keep its pod running forever.
NO_DAPR: Final = {"dapr.io/enabled": "false"}


def _identity() -> dict[str, Any]:
    """Who our processes run as, and their seccomp profile: stated on the pod and again on each
    container (a container's own context wins over the pod's, so either alone holds)."""
    return {
        "run_as_non_root": True,
        "run_as_user": RUN_AS,
        "run_as_group": RUN_AS,
        "seccomp_profile": core.SeccompProfileArgs(type="RuntimeDefault"),
    }


def container_security() -> core.SecurityContextArgs:
    return core.SecurityContextArgs(
        allow_privilege_escalation=False,
        read_only_root_filesystem=True,
        privileged=False,
        capabilities=core.CapabilitiesArgs(drop=["ALL"]),
        **_identity(),
    )


def pod_security() -> core.PodSecurityContextArgs:
    return core.PodSecurityContextArgs(fs_group=RUN_AS, **_identity())


def resources(size: sizing.Size) -> core.ResourceRequirementsArgs:
    spec = size.resources()
    return core.ResourceRequirementsArgs(requests=spec["requests"], limits=spec["limits"])


def _http_probe(path: str, period: int, failures: int) -> core.ProbeArgs:
    return core.ProbeArgs(
        http_get=core.HTTPGetActionArgs(path=path, port="http"),
        period_seconds=period,
        timeout_seconds=2,
        failure_threshold=failures,
    )


def secret_env(name: str, key: str, secret: str = app_names.APP_SECRET_NAME) -> core.EnvVarArgs:
    """``name`` read from entry ``key`` of a Secret (the app Secret unless named)."""
    return core.EnvVarArgs(
        name=name,
        value_from=core.EnvVarSourceArgs(
            secret_key_ref=core.SecretKeySelectorArgs(name=secret, key=key)
        ),
    )


def environment(
    app: catalog.App | None, kafka_bootstrap: pulumi.Input[str], event_publisher: str
) -> list[core.EnvVarArgs]:
    """Process settings (``app/settings.py``, ``services/common/settings.py``); secrets only
    through ``secretKeyRef``. ``app`` None is the migration Job."""
    env = [
        secret_env("DATABASE_URL", app_names.DATABASE_URL_KEY),
        core.EnvVarArgs(name="KAFKA_BOOTSTRAP", value=kafka_bootstrap),
        core.EnvVarArgs(name="LOG_LEVEL", value="INFO"),
        # The root filesystem is read-only: no bytecode cache, and a writable HOME on /tmp.
        core.EnvVarArgs(name="PYTHONDONTWRITEBYTECODE", value="1"),
        core.EnvVarArgs(name="HOME", value="/tmp"),  # noqa: S108
    ]
    if app is catalog.API:
        env.append(secret_env("JWT_SECRET", app_names.JWT_SECRET_KEY))
        # The API believes X-Forwarded-For/-Proto only from these peers (app/auth/
        # client_address.py): the cluster's private pod networks, where ingress-nginx runs (the
        # NetworkPolicy admits nothing else). The rightmost public address is then the client
        # nginx saw, and the session cookie is marked Secure behind the TLS-terminating ingress.
        env.append(core.EnvVarArgs(name="TRUSTED_PROXIES", value=TRUSTED_PROXIES))
    elif app is not None:
        # A worker serves /healthz, /readyz and /metrics on loopback unless told otherwise; the
        # kubelet's probes, the Service and Prometheus reach it on the pod's address and port.
        env += [
            core.EnvVarArgs(name="HTTP_HOST", value="0.0.0.0"),  # noqa: S104
            core.EnvVarArgs(name="HTTP_PORT", value=str(app.port)),
        ]
    if app is catalog.RELAY:
        env.append(core.EnvVarArgs(name="RELAY_BACKEND", value=event_publisher))
        if event_publisher == "dapr":
            env.append(core.EnvVarArgs(name="DAPR_PUBSUB", value=app_names.PUBSUB_COMPONENT))
    return env


def container(
    name: str,
    image: pulumi.Input[str],
    command: Sequence[str],
    size: sizing.Size,
    env: list[core.EnvVarArgs],
    port: int | None,
) -> core.ContainerArgs:
    """One app container; ``port`` None for the migration Job (no server, no probes)."""
    served = port is not None
    ports = [core.ContainerPortArgs(name="http", container_port=port)] if port is not None else None
    return core.ContainerArgs(
        name=name,
        image=image,
        image_pull_policy="IfNotPresent",
        command=list(command),
        env=env,
        ports=ports,
        readiness_probe=_http_probe("/readyz", 5, 3) if served else None,
        liveness_probe=_http_probe("/healthz", 10, 3) if served else None,
        # Up to a minute to start (migrations are a separate Job, so this is imports only).
        startup_probe=_http_probe("/healthz", 2, 30) if served else None,
        resources=resources(size),
        security_context=container_security(),
        volume_mounts=[core.VolumeMountArgs(name=TMP_VOLUME, mount_path="/tmp")],  # noqa: S108
    )


def pod_spec(
    service_account: str,
    main: core.ContainerArgs,
    node_arch: str,
    pull_secret: str | None,
    dapr: bool,
    restart_policy: str = "Always",
) -> core.PodSpecArgs:
    return core.PodSpecArgs(
        service_account_name=service_account,
        # The Dapr sidecar authenticates to Sentry and reads the secret store with the pod's
        # token; pods without a sidecar never talk to the Kubernetes API.
        automount_service_account_token=dapr,
        enable_service_links=False,
        security_context=pod_security(),
        containers=[main],
        volumes=[
            core.VolumeArgs(
                name=TMP_VOLUME, empty_dir=core.EmptyDirVolumeSourceArgs(size_limit="64Mi")
            )
        ],
        image_pull_secrets=[core.LocalObjectReferenceArgs(name=pull_secret)]
        if pull_secret
        else None,
        # One image is built per architecture; schedule only where it runs.
        node_selector={"kubernetes.io/arch": node_arch},
        restart_policy=restart_policy,
        termination_grace_period_seconds=30,
    )
