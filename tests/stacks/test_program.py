"""The whole program for each committed stack file: as `pulumi up`, and as the first
`pulumi preview` of a fresh stack."""

from __future__ import annotations

import pytest

from devtools.testkit.pulumi_mocks import STACKS, ProgramRun
from infra.cloud.shapes import MIB_PER_GIB
from stacks.program import STACK_OUTPUTS
from tests.fixtures.pulumi_stacks import StackRuns

CLUSTER_COMPONENTS = {
    "oke": "todo:cloud:OkeCluster",
    "aks": "todo:cloud:AksCluster",
    "gke": "todo:cloud:GkeCluster",
    "local": "todo:cloud:LocalCluster",
}
MODES = [pytest.param(False, id="up"), pytest.param(True, id="preview")]


@pytest.mark.parametrize("preview", MODES)
@pytest.mark.parametrize("stack", STACKS)
def test_program_runs_and_exports_every_output(
    committed_run: StackRuns, stack: str, preview: bool
) -> None:
    run = committed_run(stack, preview).ok()
    assert list(run.outputs) == list(STACK_OUTPUTS)
    assert run.outputs["kubeconfig"].secret
    secret = {name for name, output in run.outputs.items() if output.secret}
    assert secret == {"kubeconfig"}
    assert run.outputs["namespace"].value == "todo-app"
    assert run.outputs["dapr_app_ids"].value == {
        "api": "todo-api",
        "relay": "todo-relay",
        "recurring": "todo-recurring",
        "notifier": "todo-notifier",
        "audit": "todo-audit",
    }
    assert run.outputs["kafka_bootstrap"].value == "todo-kafka-bootstrap.kafka.svc:9092"
    assert run.outputs["image_tag"].value == "0.1.0"
    assert run.loose_errors == []


@pytest.mark.parametrize("stack", STACKS)
def test_after_up_every_output_is_known(committed_run: StackRuns, stack: str) -> None:
    outputs = committed_run(stack, False).ok().outputs
    unknown = [name for name, output in outputs.items() if not output.known]
    assert unknown == []
    # Cloud stacks report the load balancer's address; local the kind port mapping's URL.
    expected_url = "http://localhost:8080" if stack == "local" else "http://203.0.113.7"
    assert outputs["api_url"].value == expected_url
    expected_names = {
        "oke": "todo-oke",
        "aks": "todo-aks-cluster-mock",
        "gke": "todo-gke",
        "local": "kind-todo",
    }
    assert outputs["cluster_name"].value == expected_names[stack]


@pytest.mark.parametrize("stack", ["oke", "aks", "gke"])
def test_first_preview_of_a_cloud_stack_runs_before_the_cluster_exists(
    committed_run: StackRuns, stack: str
) -> None:
    run = committed_run(stack, True).ok()
    assert not run.outputs["kubeconfig"].known
    assert not run.outputs["api_url"].known
    provider = run.one("pulumi:providers:kubernetes")
    # Everything on the cluster is registered against the not-yet-known provider all the same.
    kubernetes = [r for r in run.resources if r.type.startswith("kubernetes:")]
    assert kubernetes
    assert all(r.provider.startswith(provider.urn + "::") for r in kubernetes)


@pytest.mark.parametrize("stack", STACKS)
def test_preview_and_up_register_the_same_resources(committed_run: StackRuns, stack: str) -> None:
    def urns(run: ProgramRun) -> set[str]:
        return {resource.urn for resource in run.resources}

    assert urns(committed_run(stack, True).ok()) == urns(committed_run(stack, False).ok())


@pytest.mark.parametrize("stack", STACKS)
def test_component_tree(committed_run: StackRuns, stack: str) -> None:
    run = committed_run(stack, False).ok()
    root = f"urn:pulumi:{stack}::todo-platform::pulumi:pulumi:Stack::todo-platform-{stack}"
    top = sorted(r.type for r in run.resources if r.parent == root)
    assert top == sorted(
        [CLUSTER_COMPONENTS[stack], "todo:platform:Platform", "todo:workloads:Workloads"]
    )
    components = {r.urn for r in run.components()}
    # Every component finished with register_outputs, every resource sits under a component.
    assert components <= run.completed
    assert all(r.parent in components for r in run.resources if r.parent != root)
    # The provider-implemented ones: the CRD groups (infra/platform/crds.py).
    remote = [r.name for r in run.resources if not r.custom and r.type.startswith("kubernetes:")]
    assert sorted(remote) == [
        "crds-dapr",
        "crds-kube-prometheus-stack",
        "crds-strimzi-kafka-operator",
    ]


@pytest.mark.parametrize("stack", STACKS)
def test_everything_on_the_cluster_goes_through_the_clusters_provider(
    committed_run: StackRuns, stack: str
) -> None:
    run = committed_run(stack, False).ok()
    provider = run.one("pulumi:providers:kubernetes")
    assert provider.parent == run.one(CLUSTER_COMPONENTS[stack]).urn
    on_cluster = [r for r in run.resources if r.type.startswith("kubernetes:") and r.custom]
    assert len(on_cluster) > 20
    stray = [r.name for r in on_cluster if not r.provider.startswith(provider.urn + "::")]
    assert stray == []


@pytest.mark.parametrize("stack", STACKS)
def test_images_come_from_the_clusters_registry_with_the_configured_tag(
    committed_run: StackRuns, stack: str
) -> None:
    run = committed_run(stack, False).ok()
    registry = run.outputs["registry_server"].value
    images = {
        container["image"]
        for deployment in run.of_type("kubernetes:apps/v1:Deployment")
        if deployment.input("metadata.namespace") == "todo-app"
        for container in deployment.input("spec.template.spec.containers")
        if not container["name"].startswith("daprd")
    }
    assert images == {f"{registry}/todo-platform:0.1.0"}


def test_oke_workloads_pull_with_the_ocir_token_as_a_secret(committed_run: StackRuns) -> None:
    run = committed_run("oke", False).ok()
    pull_secrets = [
        r
        for r in run.of_type("kubernetes:core/v1:Secret")
        if r.inputs.get("type") == "kubernetes.io/dockerconfigjson"
    ]
    assert len(pull_secrets) == 1
    assert pull_secrets[0].secret_inputs, (
        "the registry credentials must reach the cluster as a secret"
    )


def test_oke_default_stack_fits_always_free_capacity(committed_run: StackRuns) -> None:
    run = committed_run("oke", False).ok()
    pool = run.one("oci:ContainerEngine/nodePool:NodePool")
    nodes = pool.input("nodeConfigDetails.size")
    assert nodes * pool.input("nodeShapeConfig.ocpus") <= 4
    assert nodes * pool.input("nodeShapeConfig.memoryInGbs") * MIB_PER_GIB <= 24 * MIB_PER_GIB
