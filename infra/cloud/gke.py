"""Google Kubernetes Engine: VPC-native network, cluster, node pool and Artifact Registry.

The cluster is created without its default node pool and the nodes come from a separately
managed pool, so the pool can be resized or replaced without touching the cluster. Nodes run as
a dedicated least-privilege service account that may read the Artifact Registry repository;
pods get Google identities through Workload Identity, never through the node's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import pulumi
import pulumi_gcp as gcp

from infra.app_names import APP_IMAGES
from infra.cloud.base import Allocatable, CloudCluster, NodePoolSpec, RegistryAccess
from infra.cloud.ingress_service import IngressService
from infra.cloud.kubeconfig import ExecPlugin, exec_kubeconfig
from infra.components import Component, Outputs, child_opts

# Per node: anetd (Dataplane V2), fluentbit, gke-metrics-agent, pdcsi node, netd.
SYSTEM_DAEMONS: Final = Allocatable(cpu_millicores=300, memory_mib=550)
STORAGE_CLASS: Final = "standard-rwo"
# standard-rwo is pd-balanced, 10 GB at least
# (https://cloud.google.com/compute/docs/disks/persistent-disks#disk-types).
MIN_VOLUME_GB: Final = 10
# A regional cluster puts node_count nodes in each of the region's three default zones.
REGIONAL_ZONES: Final = 3
NODE_ROLE: Final = "roles/container.defaultNodeServiceAccount"
REGISTRY_READER_ROLE: Final = "roles/artifactregistry.reader"
# The plugin's default token provider shells out to `gcloud config config-helper` (a gcloud
# CLI login); with --use_application_default_credentials it reads application-default
# credentials (`gcloud auth application-default login`, GOOGLE_APPLICATION_CREDENTIALS, workload
# identity federation in CI), the same ones Pulumi's Google provider uses. Flag defined in
# https://github.com/kubernetes/cloud-provider-gcp/blob/master/cmd/gke-gcloud-auth-plugin/cred.go
# (useApplicationDefaultCredentials -> defaultCredentialsTokenProvider).
GKE_AUTH_PLUGIN: Final = ExecPlugin(
    command="gke-gcloud-auth-plugin",
    args=("--use_application_default_credentials",),
    install_hint=(
        "gke-gcloud-auth-plugin is required: gcloud components install gke-gcloud-auth-plugin "
        "(or apt-get install google-cloud-cli-gke-gcloud-auth-plugin)"
    ),
    provide_cluster_info=True,
)


@dataclass(frozen=True)
class SecondaryRange:
    """A named secondary range of the nodes' subnet: the cluster refers to it by name."""

    name: str
    cidr: str

    def args(self) -> dict[str, str]:
        return {"range_name": self.name, "ip_cidr_range": self.cidr}


@dataclass(frozen=True)
class GkeNetworkLayout:
    """Address plan of the VPC: VPC-native, so pods and services take secondary ranges."""

    nodes_cidr: str = "10.10.0.0/20"
    pods: SecondaryRange = SecondaryRange("pods", "10.20.0.0/14")
    services: SecondaryRange = SecondaryRange("services", "10.24.0.0/20")


@dataclass(frozen=True)
class GkeNetworkArgs:
    project: str
    region: str
    layout: GkeNetworkLayout = GkeNetworkLayout()


class GkeNetwork(Component[GkeNetworkArgs]):
    """A custom-mode VPC and one subnet with secondary ranges for pods and services."""

    TYPE = "todo:cloud:GkeNetwork"

    network_id: pulumi.Output[str]
    subnet_id: pulumi.Output[str]

    def _build(self, name: str, args: GkeNetworkArgs, after: list[pulumi.Resource]) -> Outputs:
        child = child_opts(self)
        layout = args.layout
        network = gcp.compute.Network(
            f"{name}-vpc",
            project=args.project,
            auto_create_subnetworks=False,
            routing_mode="REGIONAL",
            opts=child,
        )
        subnet = gcp.compute.Subnetwork(
            f"{name}-nodes",
            project=args.project,
            region=args.region,
            network=network.id,
            ip_cidr_range=layout.nodes_cidr,
            private_ip_google_access=True,
            secondary_ip_ranges=[layout.pods.args(), layout.services.args()],
            opts=child,
        )
        self.network_id = network.id
        self.subnet_id = subnet.id
        return {"networkId": self.network_id, "subnetId": self.subnet_id}


@dataclass(frozen=True)
class ArtifactRegistryArgs:
    project: str
    region: str
    repository_id: str
    reader_email: pulumi.Input[str]
    images: tuple[str, ...] = APP_IMAGES


class ArtifactRegistry(Component[ArtifactRegistryArgs]):
    """A Docker repository in Artifact Registry that the node service account may read."""

    TYPE = "todo:cloud:ArtifactRegistry"

    server: pulumi.Output[str]
    reader: gcp.artifactregistry.RepositoryIamMember

    def _build(
        self, name: str, args: ArtifactRegistryArgs, after: list[pulumi.Resource]
    ) -> Outputs:
        child = child_opts(self)
        repository = gcp.artifactregistry.Repository(
            f"{name}-docker",
            project=args.project,
            location=args.region,
            repository_id=args.repository_id,
            format="DOCKER",
            description=f"Images: {', '.join(args.images)}",
            opts=child,
        )
        self.reader = gcp.artifactregistry.RepositoryIamMember(
            f"{name}-node-reader",
            project=args.project,
            location=args.region,
            repository=repository.name,
            role=REGISTRY_READER_ROLE,
            member=pulumi.Output.concat("serviceAccount:", args.reader_email),
            opts=child,
        )
        self.server = pulumi.Output.concat(
            args.region, "-docker.pkg.dev/", args.project, "/", repository.repository_id
        )
        return {"server": self.server}


@dataclass(frozen=True)
class GkeClusterArgs:
    project: str
    region: str
    kubernetes_version: str
    node_pool: NodePoolSpec  # count and max_count across all zones
    zone: str | None = None  # None: a regional cluster over three zones
    deletion_protection: bool = False
    release_channel: str = "REGULAR"
    layout: GkeNetworkLayout = GkeNetworkLayout()


class GkeCluster(CloudCluster[GkeClusterArgs]):
    """Standard GKE cluster: Dataplane V2, Workload Identity, shielded nodes."""

    TYPE = "todo:cloud:GkeCluster"

    def _build(self, name: str, args: GkeClusterArgs, after: list[pulumi.Resource]) -> Outputs:
        child, _ = self._provider_options(
            lambda opts: gcp.Provider(
                f"{name}-gcp", project=args.project, region=args.region, opts=opts
            )
        )
        location = args.zone or args.region
        zones = 1 if args.zone else REGIONAL_ZONES
        network = GkeNetwork(
            f"{name}-network", GkeNetworkArgs(args.project, args.region, args.layout), opts=child
        )
        nodes_account = gcp.serviceaccount.Account(
            f"{name}-nodes-sa",
            project=args.project,
            account_id=f"{name}-nodes"[:30],
            display_name=f"{name} GKE nodes",
            opts=child,
        )
        node_role = gcp.projects.IAMMember(
            f"{name}-nodes-role",
            project=args.project,
            role=NODE_ROLE,
            member=pulumi.Output.concat("serviceAccount:", nodes_account.email),
            opts=child,
        )
        registry = ArtifactRegistry(
            f"{name}-registry",
            ArtifactRegistryArgs(args.project, args.region, name, nodes_account.email),
            opts=child,
        )
        cluster = gcp.container.Cluster(
            f"{name}-cluster",
            name=name,
            project=args.project,
            location=location,
            network=network.network_id,
            subnetwork=network.subnet_id,
            # The default pool cannot be changed without recreating the cluster: drop it and
            # manage the nodes as a pool of their own.
            remove_default_node_pool=True,
            initial_node_count=1,
            deletion_protection=args.deletion_protection,
            min_master_version=args.kubernetes_version,
            release_channel={"channel": args.release_channel},
            networking_mode="VPC_NATIVE",
            ip_allocation_policy={
                "cluster_secondary_range_name": args.layout.pods.name,
                "services_secondary_range_name": args.layout.services.name,
            },
            # Dataplane V2 enforces NetworkPolicies without a separate Calico add-on.
            datapath_provider="ADVANCED_DATAPATH",
            workload_identity_config={"workload_pool": f"{args.project}.svc.id.goog"},
            enable_shielded_nodes=True,
            # The IAM bindings first: they need setIamPolicy, which roles/editor lacks
            # (infra/cloud/permissions.py), so a deployer without it fails in seconds, before
            # the cluster's several minutes rather than after.
            opts=pulumi.ResourceOptions.merge(
                child, pulumi.ResourceOptions(depends_on=[node_role, registry.reader])
            ),
        )
        pool = args.node_pool
        per_zone, max_per_zone = pool.count // zones, pool.max_count // zones
        node_pool = gcp.container.NodePool(
            f"{name}-nodes",
            project=args.project,
            cluster=cluster.id,
            location=location,
            initial_node_count=per_zone,
            autoscaling=(
                {"min_node_count": per_zone, "max_node_count": max_per_zone}
                if max_per_zone > per_zone
                else None
            ),
            node_count=None if max_per_zone > per_zone else per_zone,
            management={"auto_repair": True, "auto_upgrade": True},
            node_config={
                "machine_type": pool.shape,
                "disk_size_gb": pool.disk_gb,
                "disk_type": "pd-balanced",
                "service_account": nodes_account.email,
                "oauth_scopes": ["https://www.googleapis.com/auth/cloud-platform"],
                "workload_metadata_config": {"mode": "GKE_METADATA"},
                "shielded_instance_config": {
                    "enable_secure_boot": True,
                    "enable_integrity_monitoring": True,
                },
                "labels": {"todo-platform/pool": "default"},
            },
            opts=pulumi.ResourceOptions.merge(
                child, pulumi.ResourceOptions(depends_on=[node_role])
            ),
        )
        context = f"gke_{args.project}_{location}_{name}"
        kubeconfig: pulumi.Output[str] = pulumi.Output.secret(
            pulumi.Output.all(cluster.endpoint, cluster.master_auth.cluster_ca_certificate).apply(
                lambda parts: exec_kubeconfig(
                    context, f"https://{parts[0]}", parts[1] or "", GKE_AUTH_PLUGIN
                )
            )
        )
        return self._complete_managed(
            name,
            cluster,
            kubeconfig=kubeconfig,
            pool=pool,
            system_daemons=SYSTEM_DAEMONS,
            storage_class=STORAGE_CLASS,
            # GKE health-checks kube-proxy (/healthz on port 10256 for externalTrafficPolicy
            # Cluster, the Service's health check node port for Local), never the backend's
            # `/`: nothing to set
            # (https://cloud.google.com/kubernetes-engine/docs/concepts/service-load-balancer-parameters).
            ingress_service=IngressService(),
            registry=RegistryAccess(registry.server),
            ready=[node_pool, registry.reader],
        )
