"""The AKS foundation of the committed aks stack, and its Azure AD variant."""

from __future__ import annotations

from collections.abc import Callable

import yaml

from devtools.testkit.pulumi_mocks import (
    MOCK_KUBELET_OBJECT_ID,
    MOCK_SUBSCRIPTION,
    ProgramRun,
)
from infra.cloud.aks import ACR_PULL_ROLE_ID, registry_name

ADMIN_GROUP = "6f1c1a1e-2b9e-4f0a-9d55-3c2f8e7b1a00"

STACK = "aks"  # read by the ``run`` fixture of tests/infra/conftest.py


def test_managed_cluster(run: ProgramRun) -> None:
    cluster = run.one("azure-native:containerservice:ManagedCluster")
    assert cluster.input("resourceGroupName") == "todo-aks-rg-mock"
    assert cluster.input("kubernetesVersion") == "1.33"
    assert cluster.input("identity") == {"type": "SystemAssigned"}
    assert cluster.input("agentPoolProfiles") == [
        {
            "name": "system",
            "mode": "System",
            "type": "VirtualMachineScaleSets",
            "vmSize": "Standard_D4s_v5",
            "count": 3,
            "enableAutoScaling": True,
            "minCount": 3,
            "maxCount": 5,
            "osType": "Linux",
            "osSKU": "AzureLinux",
            "osDiskSizeGB": 64,
        }
    ]
    assert cluster.input("oidcIssuerProfile") == {"enabled": True}
    assert cluster.input("securityProfile") == {"workloadIdentity": {"enabled": True}}
    assert cluster.input("networkProfile.networkPolicy") == "cilium"
    assert cluster.input("networkProfile.networkDataplane") == "cilium"
    assert cluster.input("enableRBAC") is True
    assert cluster.input("disableLocalAccounts") is False
    assert "aadProfile" not in cluster.inputs
    assert cluster.input("sku") == {"name": "Base", "tier": "Free"}


def test_registry_is_pulled_by_the_kubelet_identity_only(run: ProgramRun) -> None:
    registry = run.one("azure-native:containerregistry:Registry")
    assert registry.input("adminUserEnabled") is False
    assert registry.input("sku") == {"name": "Basic"}
    assert registry.input("registryName") == registry_name("todo-aks-rg-mock")
    assignment = run.one("azure-native:authorization:RoleAssignment")
    assert assignment.inputs == {
        "principalId": MOCK_KUBELET_OBJECT_ID,
        "principalType": "ServicePrincipal",
        "roleDefinitionId": f"/subscriptions/{MOCK_SUBSCRIPTION}/providers/"
        f"Microsoft.Authorization/roleDefinitions/{ACR_PULL_ROLE_ID}",
        "scope": "todo-aks-registry-acr-id",
        "description": "AKS kubelet pulls application images",
    }


def test_cluster_outputs_have_no_registry_credentials(
    run_cluster: Callable[..., ProgramRun],
) -> None:
    outputs = run_cluster("aks").outputs
    assert outputs["registry_server"].value == f"{registry_name('todo-aks-rg-mock')}.azurecr.io"
    assert outputs["registry_username"].value is None
    assert outputs["registry_password"].value is None
    assert outputs["kubeconfig"].secret
    assert yaml.safe_load(outputs["kubeconfig"].value)["current-context"] == "aks-admin"
    assert (outputs["node_arch"].value, outputs["storage_class"].value) == ("amd64", "managed-csi")
    # 3 x (4000m - 80m reserved - 250m daemons), 3 x (16384 - 2762 - 450) MiB.
    assert outputs["allocatable_cpu_millicores"].value == 11010
    assert outputs["allocatable_memory_mib"].value == 39516


def test_azure_ad_cluster_uses_kubelogin_without_local_accounts(
    run_cluster: Callable[..., ProgramRun],
) -> None:
    run = run_cluster(
        "aks", aksAdminGroupObjectIds=[ADMIN_GROUP], aksKubeloginMode="workloadidentity"
    )
    cluster = run.one("azure-native:containerservice:ManagedCluster")
    assert cluster.input("aadProfile") == {
        "managed": True,
        "enableAzureRBAC": True,
        "adminGroupObjectIDs": [ADMIN_GROUP],
    }
    assert cluster.input("disableLocalAccounts") is True
    (credentials,) = [i for i in run.invokes if "Credentials" in i.token]
    assert credentials.token == "azure-native:containerservice:listManagedClusterUserCredentials"
    assert credentials.args["format"] == "exec"
    kubeconfig = yaml.safe_load(run.outputs["kubeconfig"].value)
    assert kubeconfig["users"][0]["user"]["exec"]["args"] == [
        "get-token",
        "--login",
        "workloadidentity",
        "--server-id",
        "x",
    ]
    assert run.outputs["kubeconfig"].secret


def test_fixed_size_pool_does_not_autoscale(run_cluster: Callable[..., ProgramRun]) -> None:
    run = run_cluster("aks", nodeMaxCount=0)
    (pool,) = run.one("azure-native:containerservice:ManagedCluster").input("agentPoolProfiles")
    assert pool["enableAutoScaling"] is False
    assert "minCount" not in pool
    assert "maxCount" not in pool
    assert pool["count"] == 3
