"""What every committed stack sends, checked against the pinned chart archives: the API server's
view of each custom resource (the CRD's openAPIV3Schema) and each Helm release's values (what
the chart knows). Mocks accept any spec; these checks do not."""

from __future__ import annotations

from typing import Any

import pytest

from devtools.testkit.pulumi_mocks import RecordedResource
from infra.platform import dapr, versions
from infra.platform.k8s import ChartRef
from infra.platform.monitoring import scrape_manifests
from infra.policy.checks import workload
from infra.workloads import catalog
from tests.fixtures.pulumi_stacks import StackRuns
from tests.infra.chart_checks import PINNED, archive, schema_errors, unknown_values
from tests.infra.pod_security import restricted_violations, with_injected_sidecar

STACKS = ("oke", "aks", "gke", "local")
RELEASE = "kubernetes:helm.sh/v3:Release"
CHARTS: dict[str, ChartRef] = {ref.chart: ref for ref in PINNED}


def custom_resources(resources: list[RecordedResource]) -> list[dict[str, Any]]:
    """Manifests of the custom resources (API groups with a dot that are not Kubernetes' own)."""
    found = []
    for resource in resources:
        manifest = resource.inputs
        api_version = str(manifest.get("apiVersion", ""))
        group = api_version.rpartition("/")[0]
        custom = "." in group and not group.endswith("k8s.io")
        if resource.type.startswith("kubernetes:") and custom:
            found.append(manifest)
    return found


@pytest.mark.parametrize("stack", STACKS)
def test_every_custom_resource_validates_against_its_pinned_crd(
    committed_run: StackRuns, stack: str
) -> None:
    manifests = custom_resources(committed_run(stack, False).ok().resources)
    kinds = {(m["apiVersion"], m["kind"]) for m in manifests}
    # The operators' resources are all there: a test that validated nothing could not fail.
    assert {
        ("dapr.io/v1alpha1", "Configuration"),
        ("dapr.io/v1alpha1", "Component"),
        ("dapr.io/v1alpha1", "Resiliency"),
        ("kafka.strimzi.io/v1", "Kafka"),
        ("kafka.strimzi.io/v1", "KafkaNodePool"),
        ("kafka.strimzi.io/v1", "KafkaTopic"),
        ("keda.sh/v1alpha1", "ScaledObject"),
        ("monitoring.coreos.com/v1", "PrometheusRule"),
    } <= kinds
    errors = {
        f"{m['kind']}/{m['metadata']['name']}": schema_errors(m)
        for m in manifests
        if schema_errors(m)
    }
    assert errors == {}


def test_the_dapr_configuration_without_mtls_passes_and_the_old_one_is_rejected() -> None:
    """Dapr 1.16's Configuration CRD requires ``controlPlaneTrustDomain`` and ``sentryAddress``
    whenever ``spec.mtls`` is present (charts/dapr/crds/configuration.yaml at v1.16.9,
    ``spec.mtls.required``); mTLS is the control plane's ``daprsystem`` Configuration's."""
    ours = dapr.configuration_manifest()
    assert "mtls" not in ours["spec"]
    assert schema_errors(ours) == []
    with_mtls = {**ours, "spec": {**ours["spec"], "mtls": {"enabled": True}}}
    errors = schema_errors(with_mtls)
    assert errors == [
        "spec.mtls: 'controlPlaneTrustDomain' is a required property",
        "spec.mtls: 'sentryAddress' is a required property",
    ]


@pytest.mark.parametrize("stack", STACKS)
def test_every_helm_value_the_program_sets_is_one_the_chart_reads(
    committed_run: StackRuns, stack: str
) -> None:
    # An OCI chart is its full reference (oci://host/path/<chart>).
    releases = {
        r.inputs["chart"].rsplit("/", 1)[-1]: r.inputs
        for r in committed_run(stack, False).ok().resources
        if r.type == RELEASE
    }
    assert set(releases) >= {
        "ingress-nginx",
        "strimzi-kafka-operator",
        "dapr",
        "keda",
        "kube-prometheus-stack",
    }
    unknown = {chart: unknown_values(CHARTS[chart], r["values"]) for chart, r in releases.items()}
    assert {chart: paths for chart, paths in unknown.items() if paths} == {}


def test_an_unknown_helm_value_is_caught() -> None:
    assert unknown_values(
        versions.DAPR,
        {"dapr_sidecar_injector": {"sidecarDropAllCapabilities": True}, "global": {"ha": {}}},
    ) == ["dapr_sidecar_injector.sidecarDropAllCapabilities"]


def test_every_pinned_version_has_its_archive() -> None:
    for ref in CHARTS.values():
        assert archive(ref).values(), ref


def _injector_values(resources: list[RecordedResource]) -> dict[str, Any]:
    """The sidecar injector's values as the chart resolves them: its defaults under ours."""
    values = next(r.inputs["values"] for r in resources if r.type == RELEASE and r.name == "dapr")
    return {
        **archive(versions.DAPR).values()["dapr_sidecar_injector"],
        **values.get("dapr_sidecar_injector", {}),
    }


@pytest.mark.parametrize("stack", STACKS)
def test_every_app_pod_with_its_injected_daprd_is_admitted_as_restricted(
    committed_run: StackRuns, stack: str
) -> None:
    resources = committed_run(stack, False).ok().resources
    injector = _injector_values(resources)
    pods = {
        w.name: with_injected_sidecar(w.pod_spec, injector, w.pod_annotations)
        for r in resources
        if (w := workload(r.type, r.inputs)) is not None and w.ours
    }
    assert sum("daprd" in [c["name"] for c in p["containers"]] for p in pods.values()) == len(
        catalog.APPS
    )
    assert {
        name: restricted_violations(p) for name, p in pods.items() if restricted_violations(p)
    } == {}


def test_the_chart_default_leaves_daprd_its_capabilities() -> None:
    """Without ``sidecarDropALLCapabilities`` (false by default in the 1.16.9 chart) daprd keeps
    its capabilities and ``restricted`` refuses the pod."""
    defaults = archive(versions.DAPR).values()["dapr_sidecar_injector"]
    assert defaults["sidecarDropALLCapabilities"] is False
    pod = with_injected_sidecar(
        {"containers": [], "securityContext": {"runAsNonRoot": True}},
        defaults,
        {"dapr.io/enabled": "true", "dapr.io/sidecar-seccomp-profile-type": "RuntimeDefault"},
    )
    assert restricted_violations(pod) == ["daprd: capabilities.drop lacks ALL"]


def test_dapr_runs_neither_placement_nor_the_three_scheduler_replicas() -> None:
    """Dapr 1.16.9's chart runs the scheduler as three replicas, each with a volume, whenever
    ``global.scheduler.enabled`` is true (dapr_scheduler/_helpers.tpl, "get-replicas"), and
    placement whenever ``global.actors.enabled`` is; the apps need neither."""
    values = dapr.control_plane_values()
    assert values["global"]["scheduler"] == {"enabled": False}
    assert values["global"]["actors"] == {"enabled": False}
    assert "dapr_scheduler" not in values
    assert "dapr_placement" not in values
    chart = archive(versions.DAPR)
    (helper,) = dict(chart.files("dapr_scheduler/templates/_helpers.tpl")).values()
    assert (
        "if (eq true .Values.global.scheduler.enabled) }}\n{{-         $replicas = 3 }}" in helper
    )
    placement = "dapr_placement/templates/dapr_placement_statefulset.yaml"
    (text,) = dict(chart.files(placement)).values()
    assert text.startswith("{{- if and (eq .Values.global.actors.enabled true)")


@pytest.mark.parametrize(
    ("monitor", "ref", "service_template", "port_line"),
    [
        ("keda", versions.KEDA, "keda/templates/manager/service.yaml", "- name: metrics"),
        (
            "keda",
            versions.KEDA,
            "keda/templates/metrics-server/service.yaml",
            "- name: {{ .Values.prometheus.metricServer.portName }}",
        ),
        (
            "cert-manager",
            versions.CERT_MANAGER,
            "cert-manager/templates/service.yaml",
            "name: tcp-prometheus-servicemonitor",
        ),
    ],
)
def test_keda_and_cert_manager_metrics_ports_are_scraped(
    monitor: str, ref: ChartRef, service_template: str, port_line: str
) -> None:
    """The ports the charts open (prometheus.*.enabled) are ones our ServiceMonitors select."""
    (spec,) = [
        m["spec"]
        for m in scrape_manifests(in_cluster_database=False, with_tls=True)
        if m["metadata"]["name"] == monitor
    ]
    (template,) = dict(archive(ref).files(service_template)).values()
    assert port_line in template
    port = spec["endpoints"][0]["port"]
    defaults = archive(ref).values()
    if ref is versions.KEDA:
        assert port == defaults["prometheus"]["metricServer"]["portName"] == "metrics"
    else:
        assert port == "tcp-prometheus-servicemonitor"
