"""The local foundation: an existing cluster, no cloud resources."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from devtools.testkit.pulumi_mocks import (
    KUBECONFIG_LOCAL,
    ProgramRun,
    cloud_resources,
)
from tests.fixtures.pulumi_stacks import StackRuns

STACK = "local"  # read by the ``run`` fixture of tests/infra/conftest.py


def test_no_cloud_resource_and_no_cloud_lookup(run: ProgramRun) -> None:
    for cloud in ("oke", "aks", "gke"):
        assert cloud_resources(run, cloud) == []
    assert [r.type for r in run.resources if r.type.startswith("todo:cloud:")] == [
        "todo:cloud:LocalCluster"
    ]
    assert run.invokes == []


def test_kubernetes_provider_targets_the_configured_context(run: ProgramRun) -> None:
    provider = run.one("pulumi:providers:kubernetes")
    assert provider.inputs["context"] == "kind-todo"
    assert provider.inputs["clusterIdentifier"] == "kind-todo"
    assert provider.inputs["enableServerSideApply"] == "true"
    assert provider.inputs["kubeconfig"] == KUBECONFIG_LOCAL
    assert provider.secret_inputs == {"kubeconfig"}
    assert provider.parent == run.one("todo:cloud:LocalCluster").urn


def test_cluster_outputs(run_cluster: Callable[..., ProgramRun]) -> None:
    outputs = run_cluster("local").outputs
    assert outputs["name"].value == "kind-todo"
    assert outputs["kubeconfig"].value == KUBECONFIG_LOCAL
    assert outputs["kubeconfig"].secret
    # Images loaded with `kind load` are tagged docker.io/library/<name>:<tag>.
    assert outputs["registry_server"].value == "docker.io/library"
    assert outputs["registry_username"].value is None
    assert outputs["registry_password"].value is None
    assert (outputs["node_arch"].value, outputs["storage_class"].value) == ("amd64", None)
    assert outputs["allocatable_cpu_millicores"].value == 4000
    assert outputs["allocatable_memory_mib"].value == 8192


def test_registry_storage_class_and_size_come_from_config(
    run_cluster: Callable[..., ProgramRun], tmp_path: Path
) -> None:
    outputs = run_cluster(
        "local",
        registryServer="localhost:5001",
        localStorageClass="local-path",
        localCpuMillicores=16000,
        localMemoryMib=32768,
        localNodeArch="arm64",
    ).outputs
    assert outputs["registry_server"].value == "localhost:5001"
    assert outputs["storage_class"].value == "local-path"
    assert outputs["node_arch"].value == "arm64"
    assert (
        outputs["allocatable_cpu_millicores"].value,
        outputs["allocatable_memory_mib"].value,
    ) == (
        16000,
        32768,
    )


def test_kubeconfig_is_secret_even_in_preview(committed_run: StackRuns) -> None:
    run = committed_run("local", True).ok()
    assert run.outputs["kubeconfig"].secret
    assert run.outputs["kubeconfig"].value == KUBECONFIG_LOCAL
