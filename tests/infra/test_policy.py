"""The policy pack: zero violations over every resource the stacks register, each policy
catching a deliberately bad workload, and the pulumi_policy adapters reporting them."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from pulumi.output import Unknown
from pulumi.runtime import rpc
from pulumi_policy import EnforcementLevel, ResourceValidationPolicy, StackValidationPolicy

from infra.policy import checks, pack
from tests.infra._platform_mocks import VARIANT_RUNS, Run, variant, variant_id

DEPLOYMENT = "kubernetes:apps/v1:Deployment"


@pytest.fixture(scope="module", params=VARIANT_RUNS, ids=variant_id)
def run(request: pytest.FixtureRequest) -> Run:
    return variant(*request.param)


def resources(run: Run) -> list[tuple[str, dict[str, Any]]]:
    return [(r.typ, r.manifest) for r in run.resources]


def test_every_registered_resource_passes_the_pack(run: Run) -> None:
    found = resources(run)
    assert sum(1 for typ, _ in found if typ == DEPLOYMENT) == 5
    assert checks.violations(found) == []


@pytest.fixture(scope="module")
def free_tier() -> Run:
    return variant("free-tier", preview=False)


@pytest.fixture(scope="module")
def good_api(free_tier: Run) -> dict[str, Any]:
    return free_tier.one(DEPLOYMENT, "todo-api").manifest


@pytest.fixture(scope="module")
def default_deny(free_tier: Run) -> tuple[str, dict[str, Any]]:
    found = free_tier.one("kubernetes:networking.k8s.io/v1:NetworkPolicy", "default-deny")
    return found.typ, found.manifest


def container_of(manifest: dict[str, Any]) -> dict[str, Any]:
    return manifest["spec"]["template"]["spec"]["containers"][0]


def _root(m: dict[str, Any]) -> None:
    container_of(m)["securityContext"]["runAsNonRoot"] = False
    m["spec"]["template"]["spec"]["securityContext"].pop("runAsNonRoot")


def _writable(m: dict[str, Any]) -> None:
    container_of(m)["securityContext"]["readOnlyRootFilesystem"] = False


def _escalating(m: dict[str, Any]) -> None:
    container_of(m)["securityContext"]["allowPrivilegeEscalation"] = True


def _unlimited(m: dict[str, Any]) -> None:
    container_of(m)["resources"].pop("limits")


def _latest(m: dict[str, Any]) -> None:
    container_of(m)["image"] = "iad.ocir.io/tenancy/todo/todo-platform:latest"


def _plain_secret(m: dict[str, Any]) -> None:
    container_of(m)["env"].append({"name": "JWT_SECRET", "value": "s3cr3t-in-the-manifest"})


def _no_dapr(m: dict[str, Any]) -> None:
    annotations = m["spec"]["template"]["metadata"]["annotations"]
    for key in [k for k in annotations if k.startswith("dapr.io/")]:
        del annotations[key]


BREAKERS: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "pods-run-as-non-root": (
        _root,
        "Deployment todo-api: container api must set runAsNonRoot: true",
    ),
    "read-only-root-filesystem": (
        _writable,
        "Deployment todo-api: container api must set readOnlyRootFilesystem: true",
    ),
    "no-privilege-escalation": (
        _escalating,
        "Deployment todo-api: container api must set allowPrivilegeEscalation: false",
    ),
    "resource-requests-and-limits": (
        _unlimited,
        "Deployment todo-api: container api has no limits for cpu, memory",
    ),
    "no-latest-images": (
        _latest,
        "Deployment todo-api: container api image "
        "'iad.ocir.io/tenancy/todo/todo-platform:latest' must be pinned (not latest)",
    ),
    "no-plaintext-secrets-in-env": (
        _plain_secret,
        "Deployment todo-api: container api env JWT_SECRET holds a secret in plain text; "
        "use valueFrom.secretKeyRef",
    ),
    "dapr-annotations-on-app-workloads": (
        _no_dapr,
        "Deployment todo-api: pod template must set dapr.io/enabled to 'true' or 'false'",
    ),
}


def test_every_resource_policy_has_a_breaker() -> None:
    assert set(BREAKERS) == set(checks.RESOURCE_CHECKS)


@pytest.mark.parametrize("policy", list(BREAKERS))
def test_each_policy_catches_its_bad_workload_and_only_that_one(
    good_api: dict[str, Any], default_deny: tuple[str, dict[str, Any]], policy: str
) -> None:
    assert checks.violations([(DEPLOYMENT, good_api), default_deny]) == []
    breaker, message = BREAKERS[policy]
    bad = copy.deepcopy(good_api)
    breaker(bad)
    assert checks.violations([(DEPLOYMENT, bad), default_deny]) == [f"[{policy}] {message}"]


@pytest.mark.parametrize(
    ("image", "pinned"),
    [
        ("registry.example/todo-platform", False),
        ("registry.example:5000/todo-platform", False),
        ("registry.example:5000/todo-platform:1.2.3", True),
        ("registry.example/todo-platform@sha256:" + "a" * 64, True),
    ],
)
def test_untagged_images_count_as_latest(
    good_api: dict[str, Any], image: str, pinned: bool
) -> None:
    manifest = copy.deepcopy(good_api)
    container_of(manifest)["image"] = image
    assert (checks.check_image_pinned(DEPLOYMENT, manifest) == []) is pinned


def test_credential_urls_are_caught_whatever_the_variable_name(good_api: dict[str, Any]) -> None:
    manifest = copy.deepcopy(good_api)
    container_of(manifest)["env"].append(
        {"name": "UPSTREAM", "value": "https://bot:tok3n@example.com/x"}
    )
    assert len(checks.check_no_plaintext_secrets(DEPLOYMENT, manifest)) == 1


def test_a_long_running_workload_without_a_sidecar_is_refused(good_api: dict[str, Any]) -> None:
    manifest = copy.deepcopy(good_api)
    manifest["spec"]["template"]["metadata"]["annotations"] = {"dapr.io/enabled": "false"}
    assert checks.check_dapr_annotations(DEPLOYMENT, manifest) == [
        "Deployment todo-api: app workloads run with a Dapr sidecar (dapr.io/enabled)"
    ]


def test_third_party_workloads_need_no_dapr_annotations(good_api: dict[str, Any]) -> None:
    manifest = copy.deepcopy(good_api)
    del manifest["metadata"]["labels"]["app.kubernetes.io/part-of"]
    _no_dapr(manifest)
    assert checks.check_dapr_annotations(DEPLOYMENT, manifest) == []


def test_a_namespace_without_default_deny_is_reported(run: Run) -> None:
    without = [
        (typ, props)
        for typ, props in resources(run)
        if not (typ.endswith(":NetworkPolicy") and props["metadata"]["name"] == "default-deny")
    ]
    assert checks.check_network_policies(without) == [
        "namespace todo-app runs Job todo-migrate but has no default-deny NetworkPolicy"
    ]


def test_an_allow_all_policy_is_not_a_default_deny(good_api: dict[str, Any]) -> None:
    allow_all = {
        "metadata": {"name": "allow-all", "namespace": "todo-app"},
        "spec": {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{}]},
    }
    found = checks.check_network_policies(
        [(DEPLOYMENT, good_api), ("kubernetes:networking.k8s.io/v1:NetworkPolicy", allow_all)]
    )
    assert len(found) == 1


class FakeResourceArgs:
    def __init__(self, resource_type: str, props: dict[str, Any]) -> None:
        self.resource_type = resource_type
        self.props = props


class FakeStackArgs:
    def __init__(self, items: list[tuple[str, dict[str, Any]]]) -> None:
        self.resources = [FakeResourceArgs(t, p) for t, p in items]


def test_the_pack_is_eight_mandatory_policies() -> None:
    policies = pack.policies()
    assert [p.name for p in policies] == [*checks.RESOURCE_CHECKS, "network-policy-present"]
    assert {p.enforcement_level for p in policies} == {EnforcementLevel.MANDATORY}
    assert sum(isinstance(p, ResourceValidationPolicy) for p in policies) == 7
    assert isinstance(policies[-1], StackValidationPolicy)


class Reporter:
    """Collects what a policy reports (the ReportViolation callback)."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def __call__(self, message: str, urn: str | None = None) -> None:
        self.messages.append(message)


def test_adapters_report_each_violation(good_api: dict[str, Any], run: Run) -> None:
    bad = copy.deepcopy(good_api)
    _latest(bad)
    report = Reporter()
    validate = pack.resource_validation(checks.check_image_pinned)
    validate(FakeResourceArgs(DEPLOYMENT, bad), report)  # type: ignore[arg-type]
    assert len(report.messages) == 1
    assert "must be pinned" in report.messages[0]

    report = Reporter()
    pack.validate_network_policies(FakeStackArgs(resources(run)), report)  # type: ignore[arg-type]
    assert report.messages == []
    pack.validate_network_policies(FakeStackArgs([(DEPLOYMENT, good_api)]), report)  # type: ignore[arg-type]
    assert report.messages == [
        "namespace todo-app runs Deployment todo-api but has no default-deny NetworkPolicy"
    ]


def test_values_unknown_at_preview_are_not_judged(good_api: dict[str, Any]) -> None:
    manifest = copy.deepcopy(good_api)
    container_of(manifest)["image"] = Unknown()
    container_of(manifest)["env"].append({"name": "UPSTREAM", "value": rpc.UNKNOWN})
    assert checks.check_image_pinned(DEPLOYMENT, manifest) == []
    assert checks.check_no_plaintext_secrets(DEPLOYMENT, manifest) == []
    # A secret-looking name with a literal value is plain text whatever the value turns out to be.
    container_of(manifest)["env"].append({"name": "API_TOKEN", "value": Unknown()})
    assert len(checks.check_no_plaintext_secrets(DEPLOYMENT, manifest)) == 1
