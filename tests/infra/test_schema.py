"""Every built-in-kind Kubernetes object the platform and workloads register validates against
the Kubernetes OpenAPI schema (strict: unknown fields are errors), offline."""

from __future__ import annotations

import copy

import pytest
from pulumi.runtime import rpc

from infra.k8s_schema import SchemaUnavailable, has_schema, schema_errors, unwrap
from tests.infra._platform_mocks import VARIANT_RUNS, Run, variant, variant_id

BUILT_IN_KINDS = {
    "Namespace",
    "Secret",
    "ConfigMap",
    "ServiceAccount",
    "Role",
    "RoleBinding",
    "Deployment",
    "Job",
    "Service",
    "Ingress",
    "HorizontalPodAutoscaler",
    "PodDisruptionBudget",
    "NetworkPolicy",
    # The operators' CRDs from the pinned charts (infra/platform/crds.py).
    "CustomResourceDefinition",
}
CUSTOM_KINDS = {
    "Kafka",
    "KafkaNodePool",
    "KafkaTopic",
    "Component",
    "Configuration",
    "Resiliency",
    "ServiceMonitor",
    "PodMonitor",
    "ScaledObject",
    "ClusterIssuer",
    "Cluster",
}


@pytest.fixture(scope="module", params=VARIANT_RUNS, ids=variant_id)
def run(request: pytest.FixtureRequest) -> Run:
    return variant(*request.param)


@pytest.mark.parametrize("version", ["1.31", "1.33"])
def test_every_built_in_object_is_schema_valid(run: Run, version: str) -> None:
    validated: set[str] = set()
    errors: list[str] = []
    for resource in run.kubernetes():
        manifest = resource.manifest
        if not has_schema(manifest, version):
            assert resource.kind in CUSTOM_KINDS | {"Subscription", "PrometheusRule"}, resource.typ
            continue
        validated.add(resource.kind)
        errors += schema_errors(manifest, version)
    assert errors == []
    assert validated == BUILT_IN_KINDS


@pytest.fixture(scope="module")
def api_deployment() -> dict[str, object]:
    run = variant("free-tier", preview=False)
    return run.one("kubernetes:apps/v1:Deployment", "todo-api").manifest


def test_a_misspelt_field_is_an_error_naming_its_path(api_deployment: dict[str, object]) -> None:
    bad = copy.deepcopy(api_deployment)
    container = bad["spec"]["template"]["spec"]["containers"][0]  # type: ignore[index]
    container["securityContext"]["readOnlyRootFileSystem"] = True
    errors = schema_errors(bad)
    assert len(errors) == 1
    assert errors[0].startswith(
        "Deployment todo-api: spec.template.spec.containers.0.securityContext:"
    )
    assert "readOnlyRootFileSystem" in errors[0]


def test_a_wrongly_typed_field_is_an_error(api_deployment: dict[str, object]) -> None:
    bad = copy.deepcopy(api_deployment)
    bad["spec"]["revisionHistoryLimit"] = "five"  # type: ignore[index]
    assert schema_errors(bad) == [
        "Deployment todo-api: spec.revisionHistoryLimit: 'five' is not of type 'integer', 'null'"
    ]


def test_custom_resources_have_no_built_in_schema() -> None:
    kafka = {"apiVersion": "kafka.strimzi.io/v1", "kind": "Kafka", "metadata": {"name": "x"}}
    assert not has_schema(kafka)
    with pytest.raises(SchemaUnavailable, match=r"no schema for kafka\.strimzi\.io/v1 Kafka"):
        schema_errors(kafka)


def test_versions_before_the_shipped_schemas_are_refused() -> None:
    with pytest.raises(SchemaUnavailable, match=r"no schemas for Kubernetes 1\.10"):
        schema_errors({"apiVersion": "v1", "kind": "Namespace", "metadata": {}}, "1.10")


def test_unwrap_removes_secret_wrappers_at_any_depth() -> None:
    wrapped = {"stringData": rpc.wrap_rpc_secret({"k": rpc.wrap_rpc_secret("v")})}
    assert unwrap(wrapped) == {"stringData": {"k": "v"}}
    assert unwrap([rpc.wrap_rpc_secret(3)]) == [3]
