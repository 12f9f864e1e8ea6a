"""Azure Kubernetes Service: resource group, managed cluster, Azure Container Registry.

The kubelet pulls from ACR with its own managed identity (an ``AcrPull`` role assignment), so
no registry password exists anywhere. With Azure AD integration configured the cluster has no
local accounts and Pulumi authenticates through ``kubelogin``.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from typing import Final

import pulumi
import pulumi_azure_native as azure

from infra.cloud.base import Allocatable, CloudCluster, NodePoolSpec, RegistryAccess
from infra.cloud.ingress_service import IngressService
from infra.cloud.kubeconfig import with_kubelogin_mode
from infra.components import Component, Outputs, child_opts

# Per node: cilium agent, cloud-node-manager, azure disk/file CSI node plugins, konnectivity.
SYSTEM_DAEMONS: Final = Allocatable(cpu_millicores=250, memory_mib=450)
STORAGE_CLASS: Final = "managed-csi"
# managed-csi is StandardSSD_LRS, billed by tier from E1 = 4 GiB up
# (https://learn.microsoft.com/azure/virtual-machines/disks-types#standard-ssds).
MIN_VOLUME_GB: Final = 4
# Azure's load balancer probes an HTTP port on `/` unless told otherwise; ingress-nginx answers
# `/` with 404 (no Ingress for that host), so every node would be marked down. Its default
# server answers `/healthz` with 200. (With externalTrafficPolicy Local, as IngressService sets
# it, Azure probes kube-proxy's health check node port instead; the path keeps the probe right
# should the policy go back to Cluster.) Annotation table of
# https://kubernetes-sigs.github.io/cloud-provider-azure/topics/loadbalancer
# (`service.beta.kubernetes.io/azure-load-balancer-health-probe-request-path`), as the
# ingress-nginx deploy guide sets it for AKS (https://kubernetes.github.io/ingress-nginx/deploy/#azure).
INGRESS_SERVICE: Final = IngressService(
    annotations={
        "service.beta.kubernetes.io/azure-load-balancer-health-probe-request-path": "/healthz"
    }
)
# Built-in role "AcrPull" (pull images only); the GUID is the same in every tenant.
ACR_PULL_ROLE_ID: Final = "7f951dfc-4ca1-43f8-a5b2-df1d3d8fc8d2"
KUBELOGIN_MODES: Final = ("azurecli", "workloadidentity", "spn", "msi")


def registry_name(resource_group_name: str) -> str:
    """A globally unique ACR name (5-50 alphanumerics) derived from the resource group name.

    The resource group's name carries Pulumi's random suffix, so the digest is unique per
    stack yet stable across updates.
    """
    return "todo" + hashlib.sha256(resource_group_name.encode()).hexdigest()[:16]


def acr_pull_role_definition(subscription_id: str) -> str:
    return (
        f"/subscriptions/{subscription_id}/providers/Microsoft.Authorization/"
        f"roleDefinitions/{ACR_PULL_ROLE_ID}"
    )


def _decode_kubeconfig(encoded: str) -> str:
    return base64.b64decode(encoded).decode()


@dataclass(frozen=True)
class AcrRegistryArgs:
    resource_group_name: pulumi.Input[str]
    location: str
    kubelet_object_id: pulumi.Input[str]


class AcrRegistry(Component[AcrRegistryArgs]):
    """Basic-tier ACR without an admin user, readable by the cluster's kubelet identity only."""

    TYPE = "todo:cloud:AcrRegistry"

    server: pulumi.Output[str]

    def _build(self, name: str, args: AcrRegistryArgs, after: list[pulumi.Resource]) -> Outputs:
        child = child_opts(self)
        registry = azure.containerregistry.Registry(
            f"{name}-acr",
            registry_name=pulumi.Output.from_input(args.resource_group_name).apply(registry_name),
            resource_group_name=args.resource_group_name,
            location=args.location,
            sku=azure.containerregistry.SkuArgs(name="Basic"),
            admin_user_enabled=False,
            opts=child,
        )
        client = azure.authorization.get_client_config_output(
            opts=pulumi.InvokeOptions(parent=self)
        )
        azure.authorization.RoleAssignment(
            f"{name}-kubelet-acrpull",
            principal_id=args.kubelet_object_id,
            principal_type="ServicePrincipal",
            role_definition_id=client.subscription_id.apply(acr_pull_role_definition),
            scope=registry.id,
            description="AKS kubelet pulls application images",
            opts=child,
        )
        self.server = registry.login_server
        return {"server": self.server}


@dataclass(frozen=True)
class AksClusterArgs:
    location: str
    kubernetes_version: str
    node_pool: NodePoolSpec
    # Empty: local admin credentials. Otherwise Azure AD + Azure RBAC, these groups are admins.
    admin_group_object_ids: tuple[str, ...] = ()
    kubelogin_mode: str = "azurecli"
    sku_tier: str = "Free"


class AksCluster(CloudCluster[AksClusterArgs]):
    """AKS with one autoscaling system pool, OIDC issuer, workload identity and Cilium."""

    TYPE = "todo:cloud:AksCluster"

    def _build(self, name: str, args: AksClusterArgs, after: list[pulumi.Resource]) -> Outputs:
        child, invoke = self._provider_options(
            lambda opts: azure.Provider(f"{name}-azure", location=args.location, opts=opts)
        )
        group = azure.resources.ResourceGroup(f"{name}-rg", location=args.location, opts=child)
        pool = args.node_pool
        scales = pool.max_count > pool.count
        aad = bool(args.admin_group_object_ids)
        aks = azure.containerservice
        cluster = aks.ManagedCluster(
            f"{name}-cluster",
            resource_group_name=group.name,
            location=args.location,
            dns_prefix=name,
            kubernetes_version=args.kubernetes_version,
            identity=aks.ManagedClusterIdentityArgs(type=aks.ResourceIdentityType.SYSTEM_ASSIGNED),
            sku=aks.ManagedClusterSKUArgs(name="Base", tier=args.sku_tier),
            agent_pool_profiles=[
                aks.ManagedClusterAgentPoolProfileArgs(
                    name="system",
                    mode="System",
                    type="VirtualMachineScaleSets",
                    vm_size=pool.shape,
                    count=pool.count,
                    enable_auto_scaling=scales,
                    min_count=pool.count if scales else None,
                    max_count=pool.max_count if scales else None,
                    os_type="Linux",
                    os_sku="AzureLinux",
                    os_disk_size_gb=pool.disk_gb,
                )
            ],
            enable_rbac=True,
            aad_profile=(
                aks.ManagedClusterAADProfileArgs(
                    managed=True,
                    enable_azure_rbac=True,
                    admin_group_object_ids=list(args.admin_group_object_ids),
                )
                if aad
                else None
            ),
            disable_local_accounts=aad,
            oidc_issuer_profile=aks.ManagedClusterOIDCIssuerProfileArgs(enabled=True),
            security_profile=aks.ManagedClusterSecurityProfileArgs(
                workload_identity=aks.ManagedClusterSecurityProfileWorkloadIdentityArgs(
                    enabled=True
                )
            ),
            # Overlay networking with the Cilium dataplane, which enforces NetworkPolicies.
            network_profile=aks.ContainerServiceNetworkProfileArgs(
                network_plugin="azure",
                network_plugin_mode="overlay",
                network_dataplane="cilium",
                network_policy="cilium",
                pod_cidr="10.244.0.0/16",
                service_cidr="10.0.0.0/16",
                dns_service_ip="10.0.0.10",
                load_balancer_sku="standard",
            ),
            auto_upgrade_profile=aks.ManagedClusterAutoUpgradeProfileArgs(
                upgrade_channel="patch", node_os_upgrade_channel="NodeImage"
            ),
            opts=child,
        )
        kubelet_object_id = cluster.identity_profile.apply(
            lambda profile: str(profile["kubeletidentity"].object_id) if profile else ""
        )
        registry = AcrRegistry(
            f"{name}-registry",
            AcrRegistryArgs(group.name, args.location, kubelet_object_id),
            opts=child,
        )
        if aad:
            kubeconfig = (
                azure.containerservice.list_managed_cluster_user_credentials_output(
                    resource_group_name=group.name,
                    resource_name=cluster.name,
                    format="exec",
                    opts=invoke,
                )
                .kubeconfigs[0]
                .value.apply(
                    lambda encoded: with_kubelogin_mode(
                        _decode_kubeconfig(encoded), args.kubelogin_mode
                    )
                )
            )
        else:
            kubeconfig = (
                azure.containerservice.list_managed_cluster_admin_credentials_output(
                    resource_group_name=group.name, resource_name=cluster.name, opts=invoke
                )
                .kubeconfigs[0]
                .value.apply(_decode_kubeconfig)
            )
        return self._complete_managed(
            name,
            cluster,
            kubeconfig=pulumi.Output.secret(kubeconfig),
            pool=pool,
            system_daemons=SYSTEM_DAEMONS,
            storage_class=STORAGE_CLASS,
            ingress_service=INGRESS_SERVICE,
            registry=RegistryAccess(registry.server),
            # Pods must not try to pull before the kubelet may read the registry.
            ready=[cluster, registry],
        )
