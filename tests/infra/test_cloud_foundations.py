"""What the three cloud foundations of the committed stacks (aks, gke, oke) do alike: exactly
their own resources, each through one explicit provider under the cluster component, only the
lookups they need, and a Kubernetes provider pinned to the cluster that waits until pods can run
and pull. What is particular to a cloud is in its own test_cloud_<cloud>.py."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from devtools.testkit.pulumi_mocks import ProgramRun, cloud_resources, explicit_provider
from tests.fixtures.pulumi_stacks import StackRuns
from tests.infra.cloud_checks import only_cloud_resources


@dataclass(frozen=True)
class Foundation:
    cluster: str  # the component's type
    resources: dict[str, int]  # how many of each type the cloud's package creates
    provider_inputs: dict[str, Any]  # region and credentials, from the stack's config
    lookups: set[str]  # the invokes, each through the explicit provider
    ready: tuple[str, ...]  # what the Kubernetes provider waits for, by type


def _one_of_each(*types: str) -> dict[str, int]:
    return dict.fromkeys(types, 1)


FOUNDATIONS: dict[str, Foundation] = {
    "aks": Foundation(
        cluster="todo:cloud:AksCluster",
        resources=_one_of_each(
            "pulumi:providers:azure-native",
            "azure-native:resources:ResourceGroup",
            "azure-native:containerservice:ManagedCluster",
            "azure-native:containerregistry:Registry",
            "azure-native:authorization:RoleAssignment",
        ),
        provider_inputs={"environment": "public", "location": "westeurope"},
        lookups={
            "azure-native:authorization:getClientConfig",
            "azure-native:containerservice:listManagedClusterAdminCredentials",
        },
        # The kubelet may pull only once the AcrPull assignment exists.
        ready=(
            "azure-native:containerservice:ManagedCluster",
            "azure-native:authorization:RoleAssignment",
        ),
    ),
    "gke": Foundation(
        cluster="todo:cloud:GkeCluster",
        resources=_one_of_each(
            "pulumi:providers:gcp",
            "gcp:compute/network:Network",
            "gcp:compute/subnetwork:Subnetwork",
            "gcp:serviceaccount/account:Account",
            "gcp:projects/iAMMember:IAMMember",
            "gcp:container/cluster:Cluster",
            "gcp:container/nodePool:NodePool",
            "gcp:artifactregistry/repository:Repository",
            "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember",
        ),
        provider_inputs={"project": "todo-mock-project", "region": "europe-west1"},
        lookups=set(),
        ready=(
            "gcp:container/nodePool:NodePool",
            "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember",
        ),
    ),
    "oke": Foundation(
        cluster="todo:cloud:OkeCluster",
        resources={
            **_one_of_each(
                "pulumi:providers:oci",
                "oci:Core/vcn:Vcn",
                "oci:Core/internetGateway:InternetGateway",
                "oci:Core/natGateway:NatGateway",
                "oci:Core/serviceGateway:ServiceGateway",
                "oci:ContainerEngine/cluster:Cluster",
                "oci:ContainerEngine/nodePool:NodePool",
                "oci:Artifacts/containerRepository:ContainerRepository",
                "oci:Identity/authToken:AuthToken",
            ),
            # Public and private routes; a security list and a subnet per tier (api, nodes, lbs).
            "oci:Core/routeTable:RouteTable": 2,
            "oci:Core/securityList:SecurityList": 3,
            "oci:Core/subnet:Subnet": 3,
        },
        provider_inputs={"region": "eu-frankfurt-1", "configFileProfile": "DEFAULT"},
        lookups={
            "oci:ContainerEngine/getClusterKubeConfig:getClusterKubeConfig",
            "oci:ContainerEngine/getNodePoolOption:getNodePoolOption",
            "oci:Core/getServices:getServices",
            "oci:Identity/getAvailabilityDomains:getAvailabilityDomains",
            "oci:ObjectStorage/getNamespace:getNamespace",
        },
        ready=("oci:ContainerEngine/nodePool:NodePool",),
    ),
}
CLOUDS = pytest.mark.parametrize("cloud", sorted(FOUNDATIONS))


def _run(committed_run: StackRuns, cloud: str) -> ProgramRun:
    """The committed stack, deployed: one program run per cloud for the whole session."""
    return committed_run(cloud, False).ok()


@CLOUDS
def test_exactly_the_resources_of_the_cloud(committed_run: StackRuns, cloud: str) -> None:
    run = _run(committed_run, cloud)
    assert only_cloud_resources(run, cloud) == FOUNDATIONS[cloud].resources
    assert run.of_type("todo:cloud:LocalCluster") == []


@CLOUDS
def test_every_resource_uses_the_explicit_provider_under_the_cluster(
    committed_run: StackRuns, cloud: str
) -> None:
    run = _run(committed_run, cloud)
    provider = explicit_provider(run, cloud, FOUNDATIONS[cloud].cluster)
    assert provider.inputs == FOUNDATIONS[cloud].provider_inputs
    prefix = provider.type.removeprefix("pulumi:providers:") + ":"
    lookups = {i.token for i in run.invokes if i.token.startswith(prefix)}
    assert lookups == FOUNDATIONS[cloud].lookups
    assert len(cloud_resources(run, cloud)) == sum(FOUNDATIONS[cloud].resources.values())


@CLOUDS
def test_the_kubernetes_provider_is_pinned_to_the_cluster(
    committed_run: StackRuns, cloud: str
) -> None:
    run = _run(committed_run, cloud)
    provider = run.one("pulumi:providers:kubernetes")
    assert provider.inputs["clusterIdentifier"] == f"todo-{cloud}-cluster-id"
    assert provider.inputs["enableServerSideApply"] == "true"
    assert provider.secret_inputs == {"kubeconfig"}
    assert provider.parent == run.one(FOUNDATIONS[cloud].cluster).urn
    # depends_on a component waits for its children: the node pool, the registry's reader.
    assert {run.one(type_).urn for type_ in FOUNDATIONS[cloud].ready} <= set(provider.dependencies)
