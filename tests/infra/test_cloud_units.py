"""The pure parts of the cloud foundations: node sizes, reservations, rules, kubeconfigs."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import yaml

from infra.cloud.aks import ACR_PULL_ROLE_ID, acr_pull_role_definition, registry_name
from infra.cloud.base import Allocatable, NodePoolSpec, system_reserved
from infra.cloud.kubeconfig import (
    ExecPlugin,
    KubeconfigError,
    context_names,
    exec_kubeconfig,
    with_kubelogin_mode,
    with_oci_profile,
)
from infra.cloud.oke import (
    OkeLookupError,
    OkeNetworkLayout,
    SecurityRule,
    all_services,
    api_endpoint_rules,
    load_balancer_rules,
    node_rules,
    select_node_image,
)
from infra.cloud.shapes import (
    MachineSize,
    ShapeError,
    azure_vm_size,
    gce_machine_type,
    oci_flex_size,
)

# --- node sizes ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shape", "ocpus", "memory_gb", "size"),
    [
        ("VM.Standard.A1.Flex", 2, 12, MachineSize(2, 12288, "arm64")),
        ("VM.Standard.A1.Flex", 4, 24, MachineSize(4, 24576, "arm64")),
        ("VM.Standard.E4.Flex", 2, 16, MachineSize(4, 16384, "amd64")),
        ("VM.Standard.E5.Flex", 1, 64, MachineSize(2, 65536, "amd64")),
    ],
)
def test_oci_flex_sizes(shape: str, ocpus: int, memory_gb: int, size: MachineSize) -> None:
    assert oci_flex_size(shape, ocpus, memory_gb) == size


@pytest.mark.parametrize(
    ("shape", "ocpus", "memory_gb", "message"),
    [
        ("VM.Standard2.1", 1, 15, "unsupported OCI shape 'VM.Standard2.1'"),
        ("VM.Standard.A1.Flex", 81, 100, "1 to 80 OCPUs, got 81"),
        ("VM.Standard.A1.Flex", 2, 1, "2 to 128 GB of memory"),
        ("VM.Standard.A1.Flex", 10, 600, "10 to 512 GB of memory"),
    ],
)
def test_oci_flex_limits(shape: str, ocpus: int, memory_gb: int, message: str) -> None:
    with pytest.raises(ShapeError, match=message):
        oci_flex_size(shape, ocpus, memory_gb)


@pytest.mark.parametrize(
    ("size", "machine"),
    [
        ("Standard_D4s_v5", MachineSize(4, 16384, "amd64")),
        ("Standard_D2ps_v6", MachineSize(2, 8192, "arm64")),
        ("Standard_D8ls_v5", MachineSize(8, 16384, "amd64")),
        ("Standard_E4as_v5", MachineSize(4, 32768, "amd64")),
        ("Standard_F8s_v2", MachineSize(8, 16384, "amd64")),
        ("Standard_B2s", MachineSize(2, 4096, "amd64")),
    ],
)
def test_azure_sizes(size: str, machine: MachineSize) -> None:
    assert azure_vm_size(size) == machine


@pytest.mark.parametrize("size", ["Standard_A2", "Standard_D4s_v2", "Standard_F8s_v5", "D4s_v5"])
def test_unknown_azure_sizes_are_refused_with_the_accepted_forms(size: str) -> None:
    with pytest.raises(ShapeError, match=r"allowed forms: Standard_D<n>\[features\]_v3..v6"):
        azure_vm_size(size)


@pytest.mark.parametrize(
    ("machine_type", "machine"),
    [
        ("e2-standard-4", MachineSize(4, 16384, "amd64")),
        ("n1-standard-4", MachineSize(4, 15360, "amd64")),
        ("n2-highmem-2", MachineSize(2, 16384, "amd64")),
        ("c3-highcpu-4", MachineSize(4, 8192, "amd64")),
        ("t2a-standard-4", MachineSize(4, 16384, "arm64")),
        ("c4a-standard-8", MachineSize(8, 32768, "arm64")),
    ],
)
def test_gce_machine_types(machine_type: str, machine: MachineSize) -> None:
    assert gce_machine_type(machine_type) == machine


@pytest.mark.parametrize("machine_type", ["e2-medium", "f1-micro", "z9-standard-4", "e2-standard"])
def test_unknown_gce_types_are_refused(machine_type: str) -> None:
    with pytest.raises(ShapeError, match="allowed: <family>-"):
        gce_machine_type(machine_type)


# --- what a node keeps for itself ------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "reserved"),
    [
        # 6% of core 1 + 1% of core 2; 25% of 4 GiB + 20% of 4 GiB + 10% of 4 GiB + 100 MiB.
        (MachineSize(2, 12288, "arm64"), Allocatable(70, 2353)),
        # + 0.5% of cores 3-4; 25% of 4 GiB + 20% of 4 GiB + 10% of 8 GiB + 100 MiB.
        (MachineSize(4, 16384, "amd64"), Allocatable(80, 2762)),
        (MachineSize(1, 768, "amd64"), Allocatable(60, 355)),
    ],
)
def test_system_reserved(size: MachineSize, reserved: Allocatable) -> None:
    assert system_reserved(size) == reserved


def test_pool_allocatable_counts_only_guaranteed_nodes() -> None:
    pool = NodePoolSpec("x", MachineSize(2, 12288, "arm64"), count=2, max_count=5, disk_gb=50)
    daemons = Allocatable(150, 250)
    assert pool.allocatable(daemons) == Allocatable(2 * (2000 - 70 - 150), 2 * (12288 - 2353 - 250))


# --- OKE network rules and catalogue lookups -------------------------------------------------

LAYOUT = OkeNetworkLayout()
SERVICES = "all-fra-services-in-oracle-services-network"


def test_api_endpoint_admits_operators_and_workers_only() -> None:
    rules = api_endpoint_rules(LAYOUT, ("198.51.100.0/24",), SERVICES)
    assert {(r.peer, r.protocol, r.ports) for r in rules.ingress} == {
        ("198.51.100.0/24", "6", (6443, 6443)),
        ("10.0.10.0/24", "6", (6443, 6443)),
        ("10.0.10.0/24", "6", (12250, 12250)),
        ("10.0.10.0/24", "1", None),
    }
    assert SecurityRule("control plane to OCI services", SERVICES, "6", (443, 443), None, True) in (
        rules.egress
    )


def test_workers_accept_node_ports_only_from_the_load_balancers() -> None:
    rules = node_rules(LAYOUT, SERVICES)
    node_port_sources = {r.peer for r in rules.ingress if r.ports == (30000, 32767)}
    assert node_port_sources == {"10.0.20.0/24"}
    assert SecurityRule("pods across workers", "10.0.10.0/24", "all") in rules.ingress


def test_load_balancers_serve_http_and_https() -> None:
    rules = load_balancer_rules(LAYOUT)
    assert {(r.peer, r.ports) for r in rules.ingress} == {
        ("0.0.0.0/0", (80, 80)),
        ("0.0.0.0/0", (443, 443)),
    }
    assert {r.peer for r in rules.egress} == {"10.0.10.0/24"}


def _image(name: str, source_type: str = "IMAGE") -> SimpleNamespace:
    return SimpleNamespace(source_type=source_type, source_name=name, image_id=f"id-{name}")


IMAGES = [
    _image("Oracle-Linux-8.10-aarch64-2025.05.01-0-OKE-1.33.1-800"),
    _image("Oracle-Linux-8.10-aarch64-2025.06.17-0-OKE-1.33.1-812"),
    _image("Oracle-Linux-8.10-Gen2-GPU-2025.07.01-0-OKE-1.33.1-820"),
    _image("Oracle-Linux-8.10-2025.06.17-0-OKE-1.33.1-812"),
    _image("Oracle-Linux-8.10-aarch64-2025.06.17-0-OKE-1.33.10-900"),
    _image("Oracle-Linux-8.10-aarch64-2025.08.01-0-OKE-1.33.1-850", source_type="BOOT_VOLUME"),
]


def test_node_image_is_the_newest_of_the_arch_and_version() -> None:
    assert select_node_image(IMAGES, "arm64", "v1.33.1") == (
        "id-Oracle-Linux-8.10-aarch64-2025.06.17-0-OKE-1.33.1-812"
    )
    assert select_node_image(IMAGES, "amd64", "v1.33.1") == (
        "id-Oracle-Linux-8.10-2025.06.17-0-OKE-1.33.1-812"
    )


def test_missing_node_image_names_the_version() -> None:
    with pytest.raises(
        OkeLookupError, match=r"no OKE node image for Kubernetes v1\.31\.1 on arm64"
    ):
        select_node_image(IMAGES, "arm64", "v1.31.1")


def test_all_services_entry() -> None:
    services = [
        SimpleNamespace(name="OCI FRA Object Storage"),
        SimpleNamespace(name="All FRA Services In Oracle Services Network"),
    ]
    assert all_services(services) is services[1]
    with pytest.raises(OkeLookupError):
        all_services(services[:1])


# --- AKS names -------------------------------------------------------------------------------


def test_registry_name_is_stable_alphanumeric_and_unique_per_group() -> None:
    first = registry_name("todo-aks-rg1a2b3c4d")
    assert first == registry_name("todo-aks-rg1a2b3c4d")
    assert first != registry_name("todo-aks-rg9f8e7d6c")
    assert first.isalnum()
    assert first.islower()
    assert 5 <= len(first) <= 50


def test_acr_pull_role_definition() -> None:
    assert acr_pull_role_definition("sub-1") == (
        f"/subscriptions/sub-1/providers/Microsoft.Authorization/roleDefinitions/{ACR_PULL_ROLE_ID}"
    )


# --- kubeconfigs -----------------------------------------------------------------------------


def test_exec_kubeconfig_has_no_credentials() -> None:
    plugin = ExecPlugin(
        "gke-gcloud-auth-plugin", install_hint="install it", provide_cluster_info=True
    )
    document = yaml.safe_load(exec_kubeconfig("ctx", "https://203.0.113.1", "Q0E=", plugin))
    assert document["current-context"] == "ctx"
    assert document["clusters"] == [
        {
            "name": "ctx",
            "cluster": {"server": "https://203.0.113.1", "certificate-authority-data": "Q0E="},
        }
    ]
    (user,) = document["users"]
    assert user["user"] == {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": "gke-gcloud-auth-plugin",
            "args": [],
            "interactiveMode": "Never",
            "provideClusterInfo": True,
            "installHint": "install it",
        }
    }


def _kubelogin_config(args: list[str]) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "users": [{"name": "u", "user": {"exec": {"command": "kubelogin", "args": args}}}],
        }
    )


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["get-token", "--login", "devicecode", "--server-id", "x"],
            ["get-token", "--login", "azurecli", "--server-id", "x"],
        ),
        (["get-token", "-l", "devicecode"], ["get-token", "-l", "azurecli"]),
        (
            ["get-token", "--server-id", "x"],
            ["get-token", "--server-id", "x", "--login", "azurecli"],
        ),
    ],
)
def test_kubelogin_mode_is_switched(args: list[str], expected: list[str]) -> None:
    document = yaml.safe_load(with_kubelogin_mode(_kubelogin_config(args), "azurecli"))
    assert document["users"][0]["user"]["exec"]["args"] == expected


def test_kubelogin_mode_needs_a_kubelogin_user() -> None:
    with pytest.raises(KubeconfigError, match="no user authenticating with kubelogin"):
        with_kubelogin_mode(yaml.safe_dump({"kind": "Config", "users": []}), "azurecli")


def test_oci_profile_is_added_to_the_token_command() -> None:
    kubeconfig = yaml.safe_dump(
        {
            "kind": "Config",
            "users": [
                {
                    "name": "oke",
                    "user": {
                        "exec": {
                            "command": "oci",
                            "args": ["ce", "cluster", "generate-token", "--cluster-id", "c1"],
                        }
                    },
                }
            ],
        }
    )
    document = yaml.safe_load(with_oci_profile(kubeconfig, "CI"))
    assert document["users"][0]["user"]["exec"]["args"] == [
        "ce",
        "cluster",
        "generate-token",
        "--cluster-id",
        "c1",
        "--profile",
        "CI",
    ]


def test_context_names() -> None:
    document = {"kind": "Config", "contexts": [{"name": "a"}, {"name": "b"}]}
    assert context_names(yaml.safe_dump(document)) == ["a", "b"]
    with pytest.raises(KubeconfigError, match="not a kubeconfig"):
        context_names("- just\n- a list\n")
