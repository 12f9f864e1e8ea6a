"""The GKE foundation of the committed gke stack."""

from __future__ import annotations

from collections.abc import Callable

import yaml

from devtools.testkit.pulumi_mocks import (
    ProgramRun,
    b64,
    cloud_resources,
)

PROJECT_ID = "todo-mock-project"
NODES_SA = f"todo-gke-nodes@{PROJECT_ID}.iam.gserviceaccount.com"

STACK = "gke"  # read by the ``run`` fixture of tests/infra/conftest.py


def test_every_gcp_resource_is_in_the_stacks_project(run: ProgramRun) -> None:
    for resource in cloud_resources(run, "gke"):
        assert resource.inputs["project"] == PROJECT_ID, resource.name


def test_vpc_native_network(run: ProgramRun) -> None:
    network = run.one("gcp:compute/network:Network")
    assert network.input("autoCreateSubnetworks") is False
    subnet = run.one("gcp:compute/subnetwork:Subnetwork")
    assert subnet.input("ipCidrRange") == "10.10.0.0/20"
    assert subnet.input("network") == "todo-gke-network-vpc-id"
    assert subnet.input("secondaryIpRanges") == [
        {"rangeName": "pods", "ipCidrRange": "10.20.0.0/14"},
        {"rangeName": "services", "ipCidrRange": "10.24.0.0/20"},
    ]


def test_cluster_without_default_pool_with_workload_identity(run: ProgramRun) -> None:
    cluster = run.one("gcp:container/cluster:Cluster")
    assert cluster.input("removeDefaultNodePool") is True
    assert cluster.input("initialNodeCount") == 1
    assert cluster.input("deletionProtection") is False
    assert cluster.input("location") == "europe-west1-b"
    assert cluster.input("minMasterVersion") == "1.33"
    assert cluster.input("workloadIdentityConfig") == {"workloadPool": f"{PROJECT_ID}.svc.id.goog"}
    assert cluster.input("datapathProvider") == "ADVANCED_DATAPATH"
    assert cluster.input("ipAllocationPolicy") == {
        "clusterSecondaryRangeName": "pods",
        "servicesSecondaryRangeName": "services",
    }
    assert cluster.input("subnetwork") == "todo-gke-network-nodes-id"


def test_separate_node_pool_runs_as_its_own_service_account(run: ProgramRun) -> None:
    pool = run.one("gcp:container/nodePool:NodePool")
    assert pool.input("cluster") == "todo-gke-cluster-id"
    assert pool.input("location") == "europe-west1-b"
    assert pool.input("initialNodeCount") == 3
    assert pool.input("autoscaling") == {"minNodeCount": 3, "maxNodeCount": 5}
    assert "nodeCount" not in pool.inputs
    assert pool.input("nodeConfig.machineType") == "e2-standard-4"
    assert pool.input("nodeConfig.serviceAccount") == NODES_SA
    assert pool.input("nodeConfig.workloadMetadataConfig") == {"mode": "GKE_METADATA"}
    assert pool.input("nodeConfig.shieldedInstanceConfig") == {
        "enableSecureBoot": True,
        "enableIntegrityMonitoring": True,
    }
    role = run.one("gcp:projects/iAMMember:IAMMember")
    assert (role.input("role"), role.input("member")) == (
        "roles/container.defaultNodeServiceAccount",
        f"serviceAccount:{NODES_SA}",
    )
    assert role.urn in pool.dependencies


def test_artifact_registry_readable_by_the_nodes(run: ProgramRun) -> None:
    repository = run.one("gcp:artifactregistry/repository:Repository")
    assert (repository.input("format"), repository.input("location")) == ("DOCKER", "europe-west1")
    assert repository.input("repositoryId") == "todo-gke"
    reader = run.one("gcp:artifactregistry/repositoryIamMember:RepositoryIamMember")
    assert reader.inputs == {
        "project": PROJECT_ID,
        "location": "europe-west1",
        "repository": "todo-gke",
        "role": "roles/artifactregistry.reader",
        "member": f"serviceAccount:{NODES_SA}",
    }
    provider = run.one("pulumi:providers:kubernetes")
    assert reader.urn in provider.dependencies
    assert run.one("gcp:container/nodePool:NodePool").urn in provider.dependencies


def test_iam_grants_come_before_the_cluster(run: ProgramRun) -> None:
    """The grants need setIamPolicy (roles/editor lacks it, docs/deploy.md names the roles):
    created first, a deployer without it fails before the slow cluster create."""
    cluster = run.one("gcp:container/cluster:Cluster")
    grants = [
        run.one("gcp:projects/iAMMember:IAMMember"),
        run.one("gcp:artifactregistry/repositoryIamMember:RepositoryIamMember"),
    ]
    assert all(grant.urn in cluster.dependencies for grant in grants)


def test_kubeconfig_authenticates_with_the_gke_plugin(
    run_cluster: Callable[..., ProgramRun],
) -> None:
    outputs = run_cluster("gke").outputs
    assert outputs["kubeconfig"].secret
    kubeconfig = yaml.safe_load(outputs["kubeconfig"].value)
    context = f"gke_{PROJECT_ID}_europe-west1-b_todo-gke"
    assert kubeconfig["current-context"] == context
    assert kubeconfig["clusters"][0]["cluster"] == {
        "server": "https://203.0.113.20",
        "certificate-authority-data": b64("MOCK GKE CA"),
    }
    plugin = kubeconfig["users"][0]["user"]["exec"]
    assert (plugin["command"], plugin["provideClusterInfo"]) == ("gke-gcloud-auth-plugin", True)
    # Application-default credentials, as docs/deploy.md asks for, not a gcloud CLI login: the
    # plugin's own flag (cloud-provider-gcp cmd/gke-gcloud-auth-plugin/cred.go,
    # use_application_default_credentials); without it the plugin runs `gcloud config
    # config-helper`.
    assert plugin["args"] == ["--use_application_default_credentials"]
    assert "gcloud components install gke-gcloud-auth-plugin" in plugin["installHint"]
    assert outputs["registry_server"].value == f"europe-west1-docker.pkg.dev/{PROJECT_ID}/todo-gke"
    assert outputs["registry_password"].value is None
    assert outputs["storage_class"].value == "standard-rwo"


def test_deletion_protection_and_regional_layout_come_from_config(
    run_cluster: Callable[..., ProgramRun],
) -> None:
    run = run_cluster("gke", gkeDeletionProtection=True, gkeZone=None, nodeCount=1, nodeMaxCount=0)
    cluster = run.one("gcp:container/cluster:Cluster")
    assert cluster.input("deletionProtection") is True
    assert cluster.input("location") == "europe-west1"
    pool = run.one("gcp:container/nodePool:NodePool")
    # node_count is per zone: one node in each of the region's three zones.
    assert (pool.input("location"), pool.input("nodeCount")) == ("europe-west1", 1)
    assert "autoscaling" not in pool.inputs
    assert run.outputs["allocatable_cpu_millicores"].value == 3 * (4000 - 80 - 300)
