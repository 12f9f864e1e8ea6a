"""`pulumi preview`, `up`, a no-change second `up`, a config change and `destroy` of the local
stack: the real engine and Kubernetes provider against a real API server with kwok nodes.

The tests of this module run in order on one stack (module fixture ``local_stack``): preview
of the empty stack, up, the no-change preview, the config change, destroy. Each can also run
alone: the ``deployed`` fixture brings the stack up when a test needs it up.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Final

import httpx
import pulumi_kubernetes as k8s
import pytest
from pulumi import automation

from app.core.processes import TOPICS
from devtools.kube import ControlPlane, KubeApi
from devtools.process import wait_until
from devtools.pulumi_engine import PulumiHome
from devtools.testkit.pulumi_mocks import evaluate
from infra.platform import kafka, namespaces, versions
from infra.policy import checks
from infra.workloads import MIGRATION_NAME, catalog, pods
from stacks.program import STACK_OUTPUTS
from stacks.secrets import GENERATED, ensure_generated
from tests.deploy import cluster_state, dry_run
from tests.deploy.local_stack import new_local_stack
from tests.fixtures.cluster import WAITS_FOR_BUILDS
from tests.infra import chart_checks

pytestmark = [WAITS_FOR_BUILDS]

# The Helm releases of the local stack (no domain: no cert-manager).
RELEASE_CHARTS: Final = {
    "ingress-nginx": versions.INGRESS_NGINX,
    "kube-prometheus-stack": versions.KUBE_PROMETHEUS_STACK,
    "strimzi": versions.STRIMZI,
    "dapr": versions.DAPR,
    "keda": versions.KEDA,
    "cnpg": versions.CLOUDNATIVE_PG,
}
RELEASES: Final = set(RELEASE_CHARTS)
# The operators whose custom resources the local stack creates: Strimzi, Dapr, KEDA, the
# Prometheus Operator, CloudNativePG (cert-manager's only with a domain, which local has not).
CUSTOM_RESOURCE_GROUPS: Final = {
    "kafka.strimzi.io",
    "dapr.io",
    "keda.sh",
    "monitoring.coreos.com",
    "postgresql.cnpg.io",
}
# Our namespaces: each created by the program, each gone after destroy.
STACK_NAMESPACES: Final = {
    namespaces.APP,
    namespaces.KAFKA,
    namespaces.DAPR,
    namespaces.MONITORING,
    namespaces.INGRESS,
    namespaces.KEDA,
    namespaces.CNPG,
    namespaces.DATABASE,
}


def _name(urn: str) -> str:
    return urn.rsplit("::", 1)[-1]


def planned_resources(events: list[automation.EngineEvent]) -> list[tuple[str, dict[str, Any]]]:
    """(type, inputs) of every resource step the engine planned, from its event stream."""
    planned = []
    for event in events:
        pre = event.resource_pre_event
        if pre is None or pre.metadata.new is None:
            continue
        if pre.metadata.type.startswith("pulumi:providers:") and _name(pre.metadata.urn).startswith(
            "default"
        ):
            # The engine's own default providers: planned, but not counted in its summary.
            continue
        planned.append((pre.metadata.type, dict(pre.metadata.new.inputs or {})))
    return planned


def test_preview_plans_the_stack_and_the_policies_pass(local_stack: automation.Stack) -> None:
    events: list[automation.EngineEvent] = []
    preview = local_stack.preview(on_event=events.append)
    planned = planned_resources(events)
    assert preview.change_summary == {automation.OpType.CREATE: len(planned)}
    # The policy pack's checks, over the inputs the engine really planned (a Python policy
    # pack cannot run inside this engine: it has no Python language host, see README).
    assert checks.violations(planned) == []
    types = {type_ for type_, _ in planned}
    assert "kubernetes:helm.sh/v3:Release" in types
    assert "kubernetes:kafka.strimzi.io/v1:Kafka" in types


def test_a_root_container_variant_is_a_policy_violation_in_preview(
    pulumi_home: PulumiHome,
    control_plane: ControlPlane,
    charts_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The same preview of a program whose app containers run as root: the engine plans it,
    the policy checks refuse it (and Pod Security would, see the broken-on-purpose tests)."""

    def as_root() -> k8s.core.v1.SecurityContextArgs:
        return k8s.core.v1.SecurityContextArgs(
            run_as_non_root=False,
            run_as_user=0,
            allow_privilege_escalation=False,
            read_only_root_filesystem=True,
            capabilities=k8s.core.v1.CapabilitiesArgs(drop=["ALL"]),
        )

    monkeypatch.setattr(pods, "container_security", as_root)
    stack = new_local_stack(pulumi_home, control_plane, charts_dir, name="local-root")
    try:
        events: list[automation.EngineEvent] = []
        stack.preview(on_event=events.append)
        found = checks.violations(planned_resources(events))
    finally:
        stack.workspace.remove_stack("local-root")
    app_workloads = len(catalog.APPS) + 1  # every Deployment and the migration Job
    assert len([message for message in found if "must not run as user 0" in message]) == (
        app_workloads
    )
    assert len([message for message in found if "runAsNonRoot: true" in message]) == (app_workloads)


def test_the_setup_step_generates_the_secrets_once(local_stack: automation.Stack) -> None:
    assert ensure_generated(local_stack) == []
    config = local_stack.get_all_config()
    assert {key: config[f"todo-platform:{key}"].secret for key in GENERATED} == dict.fromkeys(
        GENERATED, True
    )


@pytest.fixture(scope="module")
def before_up(local_stack: automation.Stack, control_plane: ControlPlane) -> set[tuple[str, ...]]:
    """What the API server held before the stack's `up`: all that may be left after destroy."""
    return set(cluster_state.inventory(control_plane.api))


@pytest.fixture(scope="module")
def deployed(local_stack: automation.Stack, before_up: set[tuple[str, ...]]) -> automation.UpResult:
    started = time.monotonic()
    result = local_stack.up()
    print(
        f"local stack up in {time.monotonic() - started:.0f} s: {result.summary.resource_changes}"
    )
    return result


def test_up_installs_and_readies_everything(
    deployed: automation.UpResult, local_stack: automation.Stack, control_plane: ControlPlane
) -> None:
    api = control_plane.api
    assert deployed.summary.result == "succeeded"
    releases = cluster_state.helm_releases(api)
    assert set(releases) == RELEASES
    assert cluster_state.namespaces(api) >= STACK_NAMESPACES
    # Operators and app workloads alike: every replica scheduled by the real scheduler onto the
    # kwok node and Ready (after Pod Security admission let its pods in).
    assert cluster_state.not_ready(api) == []
    app_deployments = {
        name
        for namespace, name in cluster_state.namespaced_names(api, "/apis/apps/v1/deployments")
        if namespace == namespaces.APP
    }
    assert app_deployments == {app.app_id for app in catalog.APPS}
    job = api.get(f"/apis/batch/v1/namespaces/{namespaces.APP}/jobs/{MIGRATION_NAME}")
    assert job["status"].get("succeeded") == 1
    app_namespace = api.get(f"/api/v1/namespaces/{namespaces.APP}")
    assert app_namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    # The charts' admission webhooks (Dapr's sidecar injector, KEDA's and CloudNativePG's
    # validation) are stored, but never called: the API server runs without the webhook
    # admission plugins (devtools/kube.py), since their servers would be operator pods, which
    # never run on kwok nodes. So no app pod gets the injected daprd here; the injected
    # sidecar's Pod Security is checked in tests/infra/pod_security.py.
    webhooks = cluster_state.webhook_configurations(api)
    assert webhooks == cluster_state.released(releases, set(cluster_state.WEBHOOK_LISTS))
    assert {kind for kind, _ in webhooks} == set(cluster_state.WEBHOOK_LISTS)
    app_containers = {
        container["name"]
        for pod in api.items(f"/api/v1/namespaces/{namespaces.APP}/pods")
        for container in pod["spec"]["containers"]
    }
    # Each app's own container (named by its key) and the migration Job's, nothing injected.
    assert app_containers == {app.key for app in catalog.APPS} | {"migrate"}
    # Custom resources of every operator, accepted against their CRDs: every one the engine
    # recorded as created is stored by the API server.
    custom = cluster_state.custom_resources(
        local_stack.export_stack(), cluster_state.crd_groups(api)
    )
    assert {manifest["apiVersion"].split("/")[0] for manifest in custom} == CUSTOM_RESOURCE_GROUPS
    assert [m for m in custom if not api.exists(dry_run.object_path(api, m))] == []
    kafka_topics = api.items(f"/apis/kafka.strimzi.io/v1/namespaces/{namespaces.KAFKA}/kafkatopics")
    assert len(kafka_topics) == len(TOPICS)
    assert {
        name
        for _, name in cluster_state.namespaced_names(api, "/apis/postgresql.cnpg.io/v1/clusters")
    } == {"todo-db"}
    outputs = deployed.outputs
    assert set(outputs) == set(STACK_OUTPUTS)
    assert outputs["namespace"].value == namespaces.APP
    assert outputs["image_tag"].value == "0.1.0"
    assert outputs["kubeconfig"].secret


def test_a_second_up_changes_nothing(
    deployed: automation.UpResult, local_stack: automation.Stack
) -> None:
    preview = local_stack.preview(expect_no_changes=True)
    assert set(preview.change_summary) == {automation.OpType.SAME}


def test_one_more_api_replica_is_exactly_one_update(
    deployed: automation.UpResult, local_stack: automation.Stack, control_plane: ControlPlane
) -> None:
    local_stack.set_config("apiReplicas", automation.ConfigValue(value="2"))
    events: list[automation.EngineEvent] = []
    preview = local_stack.preview(diff=True, on_event=events.append)
    changed = [
        (
            event.resource_pre_event.metadata.type,
            event.resource_pre_event.metadata.op,
            {
                path: change.diff_kind
                for path, change in (event.resource_pre_event.metadata.detailed_diff or {}).items()
            },
        )
        for event in events
        if event.resource_pre_event is not None
        and event.resource_pre_event.metadata.op != automation.OpType.SAME
    ]
    assert changed == [
        (
            "kubernetes:autoscaling/v2:HorizontalPodAutoscaler",
            automation.OpType.UPDATE,
            {"spec.minReplicas": automation.DiffKind.UPDATE},
        )
    ]
    assert preview.change_summary[automation.OpType.UPDATE] == 1
    assert "minReplicas: 1 => 2" in preview.stdout.replace('"', "")
    result = local_stack.up()
    created = (deployed.summary.resource_changes or {})[automation.OpType.CREATE]
    assert result.summary.resource_changes == {
        automation.OpType.UPDATE: 1,
        automation.OpType.SAME: created - 1,
    }
    hpa = control_plane.api.get(
        f"/apis/autoscaling/v2/namespaces/{namespaces.APP}"
        f"/horizontalpodautoscalers/{catalog.API.app_id}"
    )
    assert hpa["spec"]["minReplicas"] == 2


def whole_numbers(value: Any) -> Any:
    """Inputs as the provider sends them: the engine's numbers are doubles (10001.0), which the
    API server refuses for integer fields."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: whole_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [whole_numbers(item) for item in value]
    return value


def kubernetes_layer(cloud: str, workdir: Path) -> list[dict[str, Any]]:
    """Every Kubernetes object the ``cloud`` stack's program registers (its cloud resources
    under mocks: no cloud here), as the manifests the provider would apply."""
    run = evaluate(cloud, workdir, preview=False).ok()
    return [
        whole_numbers(resource.inputs)
        for resource in run.resources
        if resource.custom
        and resource.type.startswith("kubernetes:")
        and not resource.type.startswith("kubernetes:helm.sh/")
    ]


def _validate(api: KubeApi, manifest: dict[str, Any]) -> httpx.Response:
    """Dry run of what the provider would do with a cloud stack's object on this cluster.

    The migration Job the local stack deployed has the same name: a Job's pod template is
    immutable, so the program replaces it (delete_before_replace, infra/workloads) rather than
    updating it. Its replacement is validated as a new object; everything else is applied.
    """
    if manifest["kind"] == "Job":
        return dry_run.create(api, dry_run.renamed(manifest, "replacement"))
    return dry_run.apply(api, manifest)


@pytest.mark.parametrize("cloud", ["oke", "aks", "gke"])
def test_the_cloud_stacks_kubernetes_layers_are_accepted(
    deployed: automation.UpResult, control_plane: ControlPlane, cloud: str, tmp_path: Path
) -> None:
    """Server-side dry run of every object of a cloud stack against the cluster the local stack
    set up (its operators' CRDs installed), and of a pod from every workload template."""
    api = control_plane.api
    manifests = kubernetes_layer(cloud, tmp_path)
    # Dry-run objects need their namespace to exist: the cloud stacks' extra ones are created.
    created = []
    for manifest in manifests:
        if manifest["kind"] == "Namespace" and manifest["metadata"]["name"] not in (
            cluster_state.namespaces(api)
        ):
            assert dry_run.apply(api, manifest, dry_run=False).status_code == 201
            created.append(manifest["metadata"]["name"])
    try:
        not_served = sorted({m["kind"] for m in manifests if not dry_run.served(api, m)})
        rejected = [
            (m["kind"], m["metadata"]["name"], response.status_code, response.text)
            for m in manifests
            if dry_run.served(api, m)
            and (response := _validate(api, m)).status_code not in (200, 201)
        ]
        pods = [pod for m in manifests if (pod := dry_run.pod_from(m)) is not None]
        refused_pods = [
            (pod["metadata"]["name"], response.text)
            for pod in pods
            if (
                response := api.request(
                    "POST",
                    f"/api/v1/namespaces/{pod['metadata']['namespace']}/pods",
                    params={"dryRun": "All"},
                    json=pod,
                )
            ).status_code
            != 201
        ]
    finally:
        for name in created:
            api.request("DELETE", f"/api/v1/namespaces/{name}")
    print(f"{cloud}: {len(manifests)} objects, {len(pods)} pod templates dry-run applied")
    assert rejected == []
    assert refused_pods == []
    assert not_served == []
    assert len(pods) >= len(catalog.APPS) + 1  # every app Deployment and the migration Job


# --- broken on purpose: each caught by the cluster or the checks above ------------------------


def test_a_custom_resource_missing_a_required_field_is_refused(
    deployed: automation.UpResult, control_plane: ControlPlane
) -> None:
    api = control_plane.api
    # As a new object: an apply onto the deployed Kafka would keep the listeners the engine's
    # field manager owns, and the removal would go unseen.
    manifest = dry_run.renamed(kafka.kafka_manifest(replicas=1, wait=False), "broken")
    assert dry_run.create(api, manifest).status_code == 201  # as deployed: accepted
    del manifest["spec"]["kafka"]["listeners"]
    response = dry_run.create(api, manifest)
    assert response.status_code == 422
    assert "spec.kafka.listeners: Required value" in response.json()["message"]


def test_a_root_container_is_refused_by_pod_security_and_the_policies(
    deployed: automation.UpResult, control_plane: ControlPlane
) -> None:
    api = control_plane.api
    deployment = api.get(
        f"/apis/apps/v1/namespaces/{namespaces.APP}/deployments/{catalog.API.app_id}"
    )
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    pod = dry_run.pod_from(deployment)
    assert pod is not None
    created = api.request(
        "POST", f"/api/v1/namespaces/{namespaces.APP}/pods", params={"dryRun": "All"}, json=pod
    )
    assert created.status_code == 201  # as deployed: admitted
    container["securityContext"].update({"runAsNonRoot": False, "runAsUser": 0})
    pod = dry_run.pod_from(deployment)
    refused = api.request(
        "POST", f"/api/v1/namespaces/{namespaces.APP}/pods", params={"dryRun": "All"}, json=pod
    )
    assert refused.status_code == 403
    assert 'violates PodSecurity "restricted:latest"' in refused.json()["message"]
    found = checks.violations([("kubernetes:apps/v1:Deployment", deployment)])
    assert any("runAsNonRoot" in message for message in found), found


def test_every_helm_value_the_stack_sets_is_one_the_chart_knows(
    deployed: automation.UpResult, control_plane: ControlPlane
) -> None:
    """The values Helm stored for each release (what the engine really sent), checked against
    the pinned chart by the same rule as the infra tests (tests/infra/chart_checks.py)."""
    releases = cluster_state.helm_releases(control_plane.api)
    unknown = {
        name: chart_checks.unknown_values(RELEASE_CHARTS[name], release["config"])
        for name, release in releases.items()
    }
    assert unknown == {name: [] for name in RELEASES}
    # An unknown value, as Helm would silently accept it, is caught:
    ingress = releases["ingress-nginx"]["config"]
    config = {**ingress, "controller": {**ingress["controller"], "replicas": 2}}
    assert chart_checks.unknown_values(versions.INGRESS_NGINX, config) == ["controller.replicas"]


def test_a_custom_resource_before_its_operator_is_refused(
    deployed: automation.UpResult, control_plane: ControlPlane
) -> None:
    """What a missing dependency on an operator's release does: its CRD is not served yet."""
    manifest = {
        "apiVersion": "example.todo-platform.dev/v1",
        "kind": "Widget",
        "metadata": {"name": "w", "namespace": namespaces.APP},
    }
    assert not dry_run.served(control_plane.api, manifest)
    response = control_plane.api.request(
        "POST",
        f"/apis/example.todo-platform.dev/v1/namespaces/{namespaces.APP}/widgets",
        params={"dryRun": "All"},
        json=manifest,
    )
    assert response.status_code == 404


def test_destroy_leaves_none_of_the_stacks_objects(
    deployed: automation.UpResult,
    local_stack: automation.Stack,
    control_plane: ControlPlane,
    before_up: set[tuple[str, ...]],
) -> None:
    started = time.monotonic()
    result = local_stack.destroy()
    print(f"local stack destroyed in {time.monotonic() - started:.0f} s")
    assert result.summary.result == "succeeded"
    assert result.summary.resource_changes == {
        automation.OpType.DELETE: (deployed.summary.resource_changes or {})[
            automation.OpType.CREATE
        ]
    }
    api = control_plane.api
    wait_until(
        lambda: not cluster_state.namespaces(api) & STACK_NAMESPACES,
        component="kube",
        what="the stack's namespaces to be deleted",
        timeout=120.0,
    )
    assert cluster_state.helm_releases(api) == {}
    # Everything the API server holds now, it held before `up`, but for the CRDs a chart marks
    # helm.sh/resource-policy: keep (CloudNativePG's: uninstalling the operator must never take
    # the databases' definitions with it; docs/deploy.md says how to remove them).
    kept = set().union(
        *(chart_checks.crds_kept_on_uninstall(ref) for ref in RELEASE_CHARTS.values())
    )
    left = set(cluster_state.inventory(api)) - before_up
    assert left == {("customresourcedefinitions", "", name) for name in kept}
