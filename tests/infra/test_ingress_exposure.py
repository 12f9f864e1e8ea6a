"""How each stack exposes the ingress controller: node ports on kind (no load-balancer
implementation there), the cloud's load balancer elsewhere, tuned by the annotations its cloud
controller reads. Each annotation cites the upstream page that defines it."""

from __future__ import annotations

from typing import Any

import pytest

from infra.cloud import aks, local, oke
from infra.cloud.ingress_service import IngressService
from infra.platform.ingress import service_values
from tests.fixtures.pulumi_stacks import StackRuns

RELEASE = "kubernetes:helm.sh/v3:Release"


def controller_service(committed_run: StackRuns, stack: str) -> dict[str, Any]:
    releases = [
        r.inputs
        for r in committed_run(stack, False).ok().resources
        if r.type == RELEASE and r.inputs["chart"] == "ingress-nginx"
    ]
    assert len(releases) == 1
    service: dict[str, Any] = releases[0]["values"]["controller"]["service"]
    return service


def test_local_uses_fixed_node_ports_and_reports_the_host_url(committed_run: StackRuns) -> None:
    """kind has no load-balancer implementation: a LoadBalancer Service stays <pending>, Helm's
    wait times out and rolls back. ingress-nginx then reports the Service's ClusterIP as the
    Ingress address (internal/ingress/status/status.go, statusAddressFromService, NodePort
    case), which no client outside the cluster can reach: the stack reports the host URL of
    the documented kind port mappings instead."""
    assert controller_service(committed_run, "local") == {
        "type": "NodePort",
        "annotations": {},
        "externalTrafficPolicy": "Local",
        "nodePorts": {"http": 30080, "https": 30443},
    }
    outputs = committed_run("local", False).ok().outputs
    assert outputs["api_url"].value == "http://localhost:8080"
    assert local.INGRESS_SERVICE.url == "http://localhost:8080"


def test_oke_asks_for_the_free_flexible_load_balancer(committed_run: StackRuns) -> None:
    """Without the shape annotation the OCI cloud controller creates a fixed 100 Mbps load
    balancer, which Always Free cannot create; the flexible shape at 10 Mbps (the minimum,
    ShapeDetails.minimumBandwidthInMbps "between 10 and the maximumBandwidthInMbps") is free.
    https://docs.oracle.com/iaas/Content/ContEng/Tasks/contengcreatingloadbalancers-subtopic.htm"""
    service = controller_service(committed_run, "oke")
    assert service["type"] == "LoadBalancer"
    assert service["annotations"] == {
        "oci.oraclecloud.com/load-balancer-type": "lb",
        "service.beta.kubernetes.io/oci-load-balancer-shape": "flexible",
        "service.beta.kubernetes.io/oci-load-balancer-shape-flex-min": "10",
        "service.beta.kubernetes.io/oci-load-balancer-shape-flex-max": "10",
    }
    assert oke.LB_BANDWIDTH_MBPS == 10


def test_aks_probes_the_controllers_healthz_not_the_root(committed_run: StackRuns) -> None:
    """Azure's load balancer probes `/` by default, which ingress-nginx answers 404: every node
    marked down. https://kubernetes-sigs.github.io/cloud-provider-azure/topics/loadbalancer
    (annotation service.beta.kubernetes.io/azure-load-balancer-health-probe-request-path)."""
    service = controller_service(committed_run, "aks")
    assert service == {
        "type": "LoadBalancer",
        "annotations": {
            "service.beta.kubernetes.io/azure-load-balancer-health-probe-request-path": "/healthz"
        },
        "externalTrafficPolicy": "Local",
    }
    assert service == service_values(aks.INGRESS_SERVICE)


def test_gke_uses_a_plain_load_balancer(committed_run: StackRuns) -> None:
    assert controller_service(committed_run, "gke") == {
        "type": "LoadBalancer",
        "annotations": {},
        "externalTrafficPolicy": "Local",
    }


@pytest.mark.parametrize("stack", ["local", "oke", "aks", "gke"])
def test_the_client_address_reaches_the_api(committed_run: StackRuns, stack: str) -> None:
    """With the default Cluster policy a node forwarding to another node's pod rewrites the
    source address, so nginx's X-Forwarded-For (which the login throttle keys on) would name a
    node; Local keeps the client's address (kubernetes.io/docs/tasks/access-application-cluster/
    create-external-load-balancer/#preserving-the-client-source-ip)."""
    assert controller_service(committed_run, stack)["externalTrafficPolicy"] == "Local"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"type": "NodePort"}, "needs node_ports and the url"),
        (
            {"type": "NodePort", "node_ports": (80, 443), "url": "http://localhost"},
            "node ports must be in 30000-32767",
        ),
        ({"node_ports": (30080, 30443)}, "apply to a NodePort ingress only"),
    ],
)
def test_bad_ingress_service_is_refused(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        IngressService(**kwargs)
