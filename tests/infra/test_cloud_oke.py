"""The OKE foundation of the committed oke stack, resource by resource."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import yaml

from devtools.testkit.pulumi_mocks import (
    MOCK_OCI_NAMESPACE,
    MOCK_OCIR_TOKEN,
    OCI_ALL_SERVICES_CIDR,
    ProgramRun,
    RecordedResource,
    cluster_program,
)

COMPARTMENT = "ocid1.compartment.oc1..aaaamockcompartment"
OCI_PROVIDER = "pulumi:providers:oci"

STACK = "oke"  # read by the ``run`` fixture of tests/infra/conftest.py


def named(run: ProgramRun, type_: str, name: str) -> RecordedResource:
    (resource,) = [r for r in run.of_type(type_) if r.name == name]
    return resource


def test_network_layout(run: ProgramRun) -> None:
    assert run.one("oci:Core/vcn:Vcn").inputs["cidrBlocks"] == ["10.0.0.0/16"]
    subnets = {
        r.inputs["dnsLabel"]: (
            r.inputs["cidrBlock"],
            r.inputs["prohibitPublicIpOnVnic"],
            r.inputs["routeTableId"],
            r.inputs["securityListIds"],
        )
        for r in run.of_type("oci:Core/subnet:Subnet")
    }
    assert subnets == {
        "api": (
            "10.0.0.0/28",
            False,
            "todo-oke-network-public-rt-id",
            ["todo-oke-network-api-sl-id"],
        ),
        "nodes": (
            "10.0.10.0/24",
            True,
            "todo-oke-network-private-rt-id",
            ["todo-oke-network-nodes-sl-id"],
        ),
        "lbs": (
            "10.0.20.0/24",
            False,
            "todo-oke-network-public-rt-id",
            ["todo-oke-network-lbs-sl-id"],
        ),
    }


def test_routes_send_workers_out_through_nat_and_the_service_gateway(run: ProgramRun) -> None:
    public = named(run, "oci:Core/routeTable:RouteTable", "todo-oke-network-public-rt")
    private = named(run, "oci:Core/routeTable:RouteTable", "todo-oke-network-private-rt")
    assert [(r["destination"], r["networkEntityId"]) for r in public.inputs["routeRules"]] == [
        ("0.0.0.0/0", "todo-oke-network-igw-id")
    ]
    assert [
        (r["destination"], r["destinationType"], r["networkEntityId"])
        for r in private.inputs["routeRules"]
    ] == [
        ("0.0.0.0/0", "CIDR_BLOCK", "todo-oke-network-nat-id"),
        (OCI_ALL_SERVICES_CIDR, "SERVICE_CIDR_BLOCK", "todo-oke-network-sgw-id"),
    ]
    gateway = run.one("oci:Core/serviceGateway:ServiceGateway")
    assert gateway.inputs["services"] == [{"serviceId": "ocid1.service.oc1.eu-frankfurt-1.all"}]


def _ports(rules: list[dict[str, Any]]) -> set[tuple[Any, Any, Any]]:
    """(peer, protocol, first port) of each rule."""
    return {
        (
            rule.get("source", rule.get("destination")),
            rule["protocol"],
            (rule.get("tcpOptions") or {}).get("min"),
        )
        for rule in rules
    }


def test_security_lists(run: ProgramRun) -> None:
    api = named(run, "oci:Core/securityList:SecurityList", "todo-oke-network-api-sl")
    assert _ports(api.inputs["ingressSecurityRules"]) == {
        ("0.0.0.0/0", "6", 6443),
        ("10.0.10.0/24", "6", 6443),
        ("10.0.10.0/24", "6", 12250),
        ("10.0.10.0/24", "1", None),
    }
    lbs = named(run, "oci:Core/securityList:SecurityList", "todo-oke-network-lbs-sl")
    assert _ports(lbs.inputs["ingressSecurityRules"]) == {
        ("0.0.0.0/0", "6", 80),
        ("0.0.0.0/0", "6", 443),
    }
    nodes = named(run, "oci:Core/securityList:SecurityList", "todo-oke-network-nodes-sl")
    assert ("10.0.20.0/24", "6", 30000) in _ports(nodes.inputs["ingressSecurityRules"])
    assert all(rule["stateless"] is False for rule in nodes.inputs["egressSecurityRules"])


def test_basic_cluster_with_flannel_and_public_endpoint(run: ProgramRun) -> None:
    cluster = run.one("oci:ContainerEngine/cluster:Cluster")
    assert cluster.inputs == {
        "name": "todo-oke",
        "compartmentId": COMPARTMENT,
        "kubernetesVersion": "v1.33.1",
        "vcnId": "todo-oke-network-vcn-id",
        "type": "BASIC_CLUSTER",
        "endpointConfig": {"subnetId": "todo-oke-network-api-id", "isPublicIpEnabled": True},
        "clusterPodNetworkOptions": [{"cniType": "FLANNEL_OVERLAY"}],
        "options": {
            "serviceLbSubnetIds": ["todo-oke-network-lbs-id"],
            "kubernetesNetworkConfig": {
                "podsCidr": "10.244.0.0/16",
                "servicesCidr": "10.96.0.0/16",
            },
            "addOns": {"isKubernetesDashboardEnabled": False, "isTillerEnabled": False},
        },
    }


def test_node_pool_is_the_always_free_arm_shape(run: ProgramRun) -> None:
    pool = run.one("oci:ContainerEngine/nodePool:NodePool")
    assert pool.input("nodeShape") == "VM.Standard.A1.Flex"
    assert pool.input("nodeShapeConfig") == {"ocpus": 2, "memoryInGbs": 12}
    assert pool.input("nodeConfigDetails.size") == 2
    # 2 nodes x 2 OCPUs / 12 GB: the whole always-free allowance of 4 OCPUs / 24 GB.
    assert pool.input("nodeShapeConfig.ocpus") * pool.input("nodeConfigDetails.size") == 4
    assert pool.input("nodeShapeConfig.memoryInGbs") * pool.input("nodeConfigDetails.size") == 24
    assert pool.input("nodeConfigDetails.placementConfigs") == [
        {"availabilityDomain": "Uocm:EU-FRANKFURT-1-AD-1", "subnetId": "todo-oke-network-nodes-id"}
    ]
    assert pool.input("nodeSourceDetails") == {
        "sourceType": "IMAGE",
        "imageId": "ocid1.image.oc1..Oracle-Linux-8.10-aarch64-2025.06.17-0-OKE-1.33.1-812",
        "bootVolumeSizeInGbs": "50",
    }
    assert pool.input("kubernetesVersion") == "v1.33.1"
    assert pool.input("clusterId") == "todo-oke-cluster-id"
    options = next(i for i in run.invokes if i.token.endswith("getNodePoolOption"))
    assert options.args == {
        "nodePoolOptionId": "all",
        "compartmentId": COMPARTMENT,
        "nodePoolK8sVersion": "v1.33.1",
        "nodePoolOsArch": "AARCH64",
    }


def test_a_private_ocir_repository_per_image_and_a_pull_token(run: ProgramRun) -> None:
    repository = run.one("oci:Artifacts/containerRepository:ContainerRepository")
    assert repository.inputs == {
        "compartmentId": COMPARTMENT,
        "displayName": "todo-platform",
        "isPublic": False,
        "isImmutable": False,
    }
    token = run.one("oci:Identity/authToken:AuthToken")
    assert token.inputs["userId"] == "ocid1.user.oc1..aaaamockuser"


@pytest.fixture(scope="module")
def cluster_outputs(tmp_path_factory: pytest.TempPathFactory) -> Callable[[bool], ProgramRun]:
    from devtools.testkit.pulumi_mocks import evaluate

    def get(preview: bool) -> ProgramRun:
        return evaluate(
            "oke", tmp_path_factory.mktemp("oke-cluster"), preview=preview, program=cluster_program
        ).ok()

    return get


def test_cluster_outputs(cluster_outputs: Callable[[bool], ProgramRun]) -> None:
    outputs = cluster_outputs(False).outputs
    assert outputs["registry_server"].value == f"eu-frankfurt-1.ocir.io/{MOCK_OCI_NAMESPACE}"
    assert outputs["registry_username"].value == f"{MOCK_OCI_NAMESPACE}/deployer@example.com"
    assert outputs["registry_password"].value == MOCK_OCIR_TOKEN
    assert outputs["registry_password"].secret
    assert outputs["kubeconfig"].secret
    user = yaml.safe_load(outputs["kubeconfig"].value)["users"][0]["user"]["exec"]
    assert (user["command"], user["args"][-2:]) == ("oci", ["--profile", "DEFAULT"])
    assert outputs["node_arch"].value == "arm64"
    assert outputs["storage_class"].value == "oci-bv"
    # 2 x (2000m - 70m reserved - 150m daemons), 2 x (12288 - 2353 - 250) MiB.
    assert outputs["allocatable_cpu_millicores"].value == 3560
    assert outputs["allocatable_memory_mib"].value == 19370


def test_preview_of_a_fresh_stack_leaves_cluster_credentials_unknown(
    cluster_outputs: Callable[[bool], ProgramRun],
) -> None:
    outputs = cluster_outputs(True).outputs
    for name in ("kubeconfig", "registry_password"):
        assert not outputs[name].known
        assert outputs[name].secret
    # The registry address waits for the stack's repositories, which a fresh stack has yet to
    # create: nothing may push or pull before them (OCIR would auto-create one elsewhere).
    assert not outputs["registry_server"].known
    assert cluster_outputs(False).outputs["registry_server"].value == (
        f"eu-frankfurt-1.ocir.io/{MOCK_OCI_NAMESPACE}"
    )


def test_allowed_api_cidrs_and_availability_domain_come_from_config(
    run_cluster: Callable[..., ProgramRun],
) -> None:
    run = run_cluster(
        "oke",
        okeApiAllowedCidrs=["198.51.100.0/24", "203.0.113.0/24"],
        okeAvailabilityDomain="Uocm:EU-FRANKFURT-1-AD-3",
        ociConfigProfile="CI",
    )
    api = named(run, "oci:Core/securityList:SecurityList", "todo-oke-network-api-sl")
    operator_sources = {
        rule["source"]
        for rule in api.inputs["ingressSecurityRules"]
        if "kubectl" in rule["description"]
    }
    assert operator_sources == {"198.51.100.0/24", "203.0.113.0/24"}
    pool = run.one("oci:ContainerEngine/nodePool:NodePool")
    assert pool.input("nodeConfigDetails.placementConfigs.0.availabilityDomain") == (
        "Uocm:EU-FRANKFURT-1-AD-3"
    )
    assert not any(i.token.endswith("getAvailabilityDomains") for i in run.invokes)
    assert run.one(OCI_PROVIDER).inputs["configFileProfile"] == "CI"
