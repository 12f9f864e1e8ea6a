"""The control plane harness: a real API server, scheduler and controllers with kwok nodes.

What the deploy tests rely on, shown on small objects: pods are scheduled onto the kwok node
and become Ready, Jobs complete, Pod Security admission rejects what its level forbids, RBAC
and service-account tokens work, and a node offers exactly the capacity it was given.
"""

from __future__ import annotations

import time
from typing import Any, Final

import pytest

from devtools.kube import NODE_LEASE_SECONDS, ControlPlane, KubeApi
from devtools.process import wait_until
from tests.fixtures.cluster import WAITS_FOR_BUILDS, local_stack_node

pytestmark = [WAITS_FOR_BUILDS]

NAMESPACE: Final = "harness-check"
READY_TIMEOUT_S: Final = 60.0


def _container(**security: Any) -> dict[str, Any]:
    return {
        "name": "main",
        "image": "registry.example/never-pulled:1",
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "runAsNonRoot": True,
            "runAsUser": 1000,
            "seccompProfile": {"type": "RuntimeDefault"},
            **security,
        },
        "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}},
    }


def _await_status(api: KubeApi, path: str, field: str, value: int, what: str) -> None:
    """Wait until the object at ``path`` reports ``status.<field>`` equal to ``value``."""
    wait_until(
        lambda: api.get(path).get("status", {}).get(field) == value,
        component="kube",
        what=what,
        timeout=READY_TIMEOUT_S,
    )


@pytest.fixture(scope="module")
def namespace(control_plane: ControlPlane) -> str:
    control_plane.api.create(
        "/api/v1/namespaces",
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {
                "name": NAMESPACE,
                "labels": {"pod-security.kubernetes.io/enforce": "restricted"},
            },
        },
    )
    return NAMESPACE


def test_the_node_is_ready_with_the_declared_capacity(control_plane: ControlPlane) -> None:
    node = local_stack_node()
    found = control_plane.api.get(f"/api/v1/nodes/{node.name}")
    # The API server writes quantities in canonical form: 4000m is "4", 8192Mi is "8Gi".
    assert found["status"]["allocatable"]["cpu"] == str(node.cpu_millicores // 1000)
    assert found["status"]["allocatable"]["memory"] == f"{node.memory_mib // 1024}Gi"
    ready = [c for c in found["status"]["conditions"] if c["type"] == "Ready"]
    assert [c["status"] for c in ready] == ["True"]
    # Figures for the README: how long the whole cluster took to come up.
    print(f"control plane up in {control_plane.startup_seconds:.1f} s")


def test_the_node_renews_its_lease(control_plane: ControlPlane) -> None:
    """The heartbeat the node lifecycle controller reads. kwok's node stage patches the node's
    status only every 10-20 minutes; without this Lease the controller marked the node NotReady
    after its 50 s grace period and every pod on it not Ready (each Helm release and Service
    of the local stack then waited for readiness that never came back)."""
    api = control_plane.api
    node = local_stack_node().name
    path = f"/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/{node}"
    wait_until(lambda: api.exists(path), component="kube", what="the node's Lease", timeout=30.0)
    lease = api.get(path)
    assert [(o["kind"], o["name"]) for o in lease["metadata"]["ownerReferences"]] == [
        ("Node", node)
    ]
    first = lease["spec"]
    assert first["leaseDurationSeconds"] == NODE_LEASE_SECONDS
    # Renewed well within its duration, as a kubelet renews it.
    wait_until(
        lambda: api.get(path)["spec"]["renewTime"] != first["renewTime"],
        component="kube",
        what="the node's Lease to be renewed",
        timeout=float(NODE_LEASE_SECONDS),
    )
    conditions = api.get(f"/api/v1/nodes/{node}")["status"]["conditions"]
    assert [c["status"] for c in conditions if c["type"] == "Ready"] == ["True"]


def test_a_deployment_gets_three_ready_replicas(
    control_plane: ControlPlane, namespace: str
) -> None:
    api = control_plane.api
    labels = {"app": "three"}
    api.create(
        f"/apis/apps/v1/namespaces/{namespace}/deployments",
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "three"},
            "spec": {
                "replicas": 3,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {"containers": [_container()]},
                },
            },
        },
    )
    started = time.monotonic()
    path = f"/apis/apps/v1/namespaces/{namespace}/deployments/three"
    _await_status(api, path, "readyReplicas", 3, "3 ready replicas")
    print(f"3-replica Deployment Ready in {time.monotonic() - started:.1f} s")
    pods = api.items(f"/api/v1/namespaces/{namespace}/pods?labelSelector=app%3Dthree")
    assert len(pods) == 3
    assert {pod["spec"]["nodeName"] for pod in pods} == {local_stack_node().name}
    assert {pod["status"]["phase"] for pod in pods} == {"Running"}


def test_a_job_completes(control_plane: ControlPlane, namespace: str) -> None:
    api = control_plane.api
    api.create(
        f"/apis/batch/v1/namespaces/{namespace}/jobs",
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": "once"},
            "spec": {
                "template": {
                    "spec": {"restartPolicy": "Never", "containers": [_container()]},
                }
            },
        },
    )
    path = f"/apis/batch/v1/namespaces/{namespace}/jobs/once"
    _await_status(api, path, "succeeded", 1, "the Job to succeed")


def test_pod_security_rejects_a_root_container(control_plane: ControlPlane, namespace: str) -> None:
    response = control_plane.api.request(
        "POST",
        f"/api/v1/namespaces/{namespace}/pods",
        json={
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "root"},
            "spec": {"containers": [_container(runAsNonRoot=False, runAsUser=0)]},
        },
    )
    assert response.status_code == 403
    message = response.json()["message"]
    assert 'violates PodSecurity "restricted:latest"' in message
    assert "runAsNonRoot != true" in message
    assert "runAsUser=0" in message


def test_service_account_tokens_are_signed(control_plane: ControlPlane, namespace: str) -> None:
    response = control_plane.api.request(
        "POST",
        f"/api/v1/namespaces/{namespace}/serviceaccounts/default/token",
        json={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}},
    )
    assert response.status_code == 201
    token = response.json()["status"]["token"]
    review = control_plane.api.create(
        "/apis/authentication.k8s.io/v1/tokenreviews",
        {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": {"token": token}},
    )
    assert review["status"]["authenticated"] is True
    assert review["status"]["user"]["username"] == f"system:serviceaccount:{namespace}:default"
