"""The Workloads component under Pulumi mocks: every Deployment's annotations, probes, limits
and security context, the migration Job before the API, Services, Ingress, autoscaling,
NetworkPolicies, Secrets as secret outputs, and the capacity figures they add up to."""

from __future__ import annotations

import base64
import json
from typing import Any

import pulumi_kubernetes as k8s
import pytest
from pydantic_settings import BaseSettings

from app.core.processes import CONSUMER_GROUPS
from app.core.settings import ApiSettings, load
from infra import app_names
from infra.capacity import (
    Requests,
    SizingPlan,
    of,
    platform_requests,
    requests,
    workloads_requests,
)
from infra.platform import sizing
from infra.workloads import WorkloadsArgs, catalog
from services.common.settings import RelaySettings, WorkerSettings
from services.notifier.settings import NotifierSettings
from services.recurring.settings import RecurringSettings
from tests.infra._platform_mocks import (
    LB_ADDRESS,
    REGISTRY,
    TAG,
    Registered,
    Run,
    stack,
)

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
JOB = "kubernetes:batch/v1:Job"
SCALED_OBJECT = "kubernetes:keda.sh/v1alpha1:ScaledObject"
SUBSCRIPTION = "kubernetes:dapr.io/v2alpha1:Subscription"
NETPOL = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
IMAGE = f"{REGISTRY}/todo-platform:{TAG}"


@pytest.fixture(scope="module", params=[False, True], ids=["update", "preview"])
def run(request: pytest.FixtureRequest) -> Run:
    return stack(preview=request.param)


@pytest.fixture(scope="module")
def no_domain() -> Run:
    return stack(platform={"domain": None, "tls_email": None})


def deployments(run: Run) -> dict[str, dict[str, Any]]:
    return {r.k8s_name: r.manifest for r in run.of_type(DEPLOYMENT)}


def pod(manifest: dict[str, Any]) -> dict[str, Any]:
    return manifest["spec"]["template"]


@pytest.mark.parametrize("app", catalog.APPS, ids=lambda a: a.key)
def test_each_deployment_runs_its_command_with_a_dapr_sidecar(run: Run, app: catalog.App) -> None:
    manifest = deployments(run)[app.app_id]
    annotations = pod(manifest)["metadata"]["annotations"]
    assert annotations["dapr.io/enabled"] == "true"
    assert annotations["dapr.io/app-id"] == app.app_id
    assert annotations["dapr.io/app-port"] == str(app.port)
    assert annotations["dapr.io/enable-metrics"] == "true"
    assert annotations["dapr.io/metrics-port"] == "9090"
    assert annotations["dapr.io/config"] == "todo-dapr"
    assert annotations["dapr.io/sidecar-cpu-request"] == f"{sizing.DAPR_SIDECAR.cpu_m}m"
    (container,) = pod(manifest)["spec"]["containers"]
    assert container["image"] == IMAGE
    assert container["command"] == list(app.command)
    assert container["ports"] == [{"name": "http", "containerPort": app.port}]


@pytest.mark.parametrize("app", catalog.APPS, ids=lambda a: a.key)
def test_each_deployment_has_probes_limits_and_a_locked_down_security_context(
    run: Run, app: catalog.App
) -> None:
    spec = pod(deployments(run)[app.app_id])["spec"]
    (container,) = spec["containers"]
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["resources"] == app.size.resources()
    assert container["securityContext"] == {
        "runAsNonRoot": True,
        "runAsUser": 10001,
        "runAsGroup": 10001,
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "privileged": False,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert container["volumeMounts"] == [{"name": "tmp", "mountPath": "/tmp"}]
    assert spec["volumes"] == [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}]
    assert spec["serviceAccountName"] == app.app_id
    assert spec["automountServiceAccountToken"] is True  # for the Dapr sidecar
    assert spec["nodeSelector"] == {"kubernetes.io/arch": "arm64"}
    assert spec["imagePullSecrets"] == [{"name": "registry-credentials"}]


@pytest.mark.parametrize("app", catalog.APPS, ids=lambda a: a.key)
def test_secrets_reach_containers_only_by_reference(run: Run, app: catalog.App) -> None:
    (container,) = pod(deployments(run)[app.app_id])["spec"]["containers"]
    env = {e["name"]: e for e in container["env"]}
    assert env["DATABASE_URL"]["valueFrom"] == {
        "secretKeyRef": {"name": app_names.APP_SECRET_NAME, "key": app_names.DATABASE_URL_KEY}
    }
    assert env["KAFKA_BOOTSTRAP"]["value"] == "todo-kafka-bootstrap.kafka.svc:9092"
    if app is catalog.API:
        assert env["JWT_SECRET"]["valueFrom"]["secretKeyRef"]["key"] == app_names.JWT_SECRET_KEY
    else:
        assert "JWT_SECRET" not in env


# The settings class each process loads at start (its command's entry point).
SETTINGS: dict[str, type[BaseSettings]] = {
    "api": ApiSettings,
    "relay": RelaySettings,
    "recurring": RecurringSettings,
    "notifier": NotifierSettings,
    "audit": WorkerSettings,
}
# Stand-ins for the values the pods read from todo-app-secrets.
SECRET_STANDINS = {
    app_names.DATABASE_URL_KEY: "postgresql://todo:pw@todo-db-rw.todo-db.svc:5432/todo",
    app_names.JWT_SECRET_KEY: "j" * 64,
}


def settings_as_deployed(
    deployment: dict[str, Any], app: catalog.App, monkeypatch: pytest.MonkeyPatch
) -> BaseSettings:
    """The container's environment, read by the settings class its process loads."""
    (container,) = pod(deployment)["spec"]["containers"]
    for entry in container["env"]:
        if "valueFrom" in entry:
            value = SECRET_STANDINS[entry["valueFrom"]["secretKeyRef"]["key"]]
        else:
            value = entry["value"]
        monkeypatch.setenv(entry["name"], value)
    return load(SETTINGS[app.key])


@pytest.mark.parametrize("app", catalog.APPS, ids=lambda a: a.key)
def test_each_process_serves_on_the_pods_address_and_port(
    run: Run, app: catalog.App, monkeypatch: pytest.MonkeyPatch
) -> None:
    deployment = deployments(run)[app.app_id]
    settings = settings_as_deployed(deployment, app, monkeypatch)
    if isinstance(settings, WorkerSettings):
        # The probes, the Service and Prometheus reach the worker on the pod's IP: not loopback.
        assert (settings.http_host, settings.http_port) == ("0.0.0.0", app.port)  # noqa: S104
    else:
        command = list(app.command)
        assert command[command.index("--host") + 1] == "0.0.0.0"  # noqa: S104
        assert command[command.index("--port") + 1] == str(app.port)
    (container,) = pod(deployment)["spec"]["containers"]
    assert container["ports"] == [{"name": "http", "containerPort": app.port}]


def test_the_relay_publishes_through_the_configured_transport(
    run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_as_deployed(deployments(run)["todo-relay"], catalog.RELAY, monkeypatch)
    assert isinstance(settings, RelaySettings)
    assert settings.relay_backend == "kafka"


def test_replicas_belong_to_the_autoscalers_except_the_single_relay(run: Run) -> None:
    found = deployments(run)
    relay = found["todo-relay"]["spec"]
    assert relay["replicas"] == 1
    assert relay["strategy"] == {"type": "Recreate"}
    for app in catalog.APPS:
        if not app.singleton:
            spec = found[app.app_id]["spec"]
            assert "replicas" not in spec
            assert spec["strategy"]["rollingUpdate"] == {"maxUnavailable": 0, "maxSurge": 1}


def test_migration_job_runs_before_the_api_without_a_sidecar(run: Run) -> None:
    job = run.one(JOB, "todo-migrate")
    template = job.manifest["spec"]["template"]
    assert template["metadata"]["annotations"] == {"dapr.io/enabled": "false"}
    spec = template["spec"]
    assert spec["restartPolicy"] == "Never"
    assert spec["automountServiceAccountToken"] is False
    (container,) = spec["containers"]
    assert container["command"] == ["alembic", "upgrade", "head"]
    assert container["image"] == IMAGE
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert "readinessProbe" not in container
    for deployment in run.of_type(DEPLOYMENT):
        assert job.urn in deployment.dependencies


def test_services_and_the_ingress_wait_for_the_pods_they_route_to(run: Run) -> None:
    """A Service's await needs Ready endpoints and the Ingress's needs its backend Service:
    created before the migration Job finishes, a slow first rollout times them out."""
    job = run.one(JOB, "todo-migrate")
    deployments = {r.k8s_name: r for r in run.of_type(DEPLOYMENT)}
    services = {r.k8s_name: r for r in run.of_type("kubernetes:core/v1:Service")}
    assert set(services) == set(deployments) == {app.app_id for app in catalog.APPS}
    for name, service in services.items():
        assert deployments[name].urn in service.dependencies, name
        assert job.urn in deployments[name].dependencies, name
    ingress = run.one("kubernetes:networking.k8s.io/v1:Ingress", catalog.API.app_id)
    assert services[catalog.API.app_id].urn in ingress.dependencies


def test_workloads_wait_for_the_platform(run: Run) -> None:
    urns = {r.name: r.urn for r in run.resources}
    api = next(r for r in run.of_type(DEPLOYMENT) if r.k8s_name == "todo-api")
    for platform_piece in ("kafka", "dapr-kafka-pubsub", "keda", "dapr", "strimzi"):
        assert urns[platform_piece] in api.dependencies, platform_piece


def test_services_expose_the_named_http_port(run: Run) -> None:
    services = {r.k8s_name: r.manifest for r in run.of_type("kubernetes:core/v1:Service")}
    assert set(services) == {app.app_id for app in catalog.APPS}
    for app in catalog.APPS:
        spec = services[app.app_id]["spec"]
        assert spec["ports"] == [
            {"name": "http", "port": app.port, "targetPort": "http", "protocol": "TCP"}
        ]
        assert spec["selector"]["app.kubernetes.io/name"] == app.app_id


def test_ingress_terminates_tls_for_the_domain(run: Run) -> None:
    ingress = run.one("kubernetes:networking.k8s.io/v1:Ingress", "todo-api").manifest
    assert ingress["metadata"]["annotations"]["cert-manager.io/cluster-issuer"] == "letsencrypt"
    assert ingress["spec"]["tls"] == [{"hosts": ["todo.example.com"], "secretName": "todo-api-tls"}]
    assert ingress["spec"]["rules"][0]["host"] == "todo.example.com"
    assert run.outputs["api_url"] == "https://todo.example.com"


def test_without_a_domain_the_api_is_served_on_the_load_balancer_address(no_domain: Run) -> None:
    ingress = no_domain.one("kubernetes:networking.k8s.io/v1:Ingress", "todo-api").manifest
    assert "tls" not in ingress["spec"]
    assert "host" not in ingress["spec"]["rules"][0]
    assert no_domain.outputs["api_url"] == f"http://{LB_ADDRESS}"


def test_api_autoscaling_and_disruption_budget(run: Run) -> None:
    hpa = run.one("kubernetes:autoscaling/v2:HorizontalPodAutoscaler", "todo-api").manifest
    assert hpa["spec"]["minReplicas"] == 2
    assert hpa["spec"]["maxReplicas"] == 4
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "todo-api",
    }
    pdb = run.one("kubernetes:policy/v1:PodDisruptionBudget", "todo-api").manifest
    assert pdb["spec"]["maxUnavailable"] == 1
    assert pdb["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"] == "todo-api"


def scaled_objects(run: Run) -> dict[str, dict[str, Any]]:
    return {r.k8s_name: r.manifest["spec"] for r in run.of_type(SCALED_OBJECT)}


def test_keda_scales_each_consumer_on_lag_up_to_its_partitions(run: Run) -> None:
    found = scaled_objects(run)
    assert set(found) == {"todo-recurring", "todo-notifier", "todo-audit"}
    groups = set()
    for app in catalog.WORKERS:
        if not app.consumes:
            continue
        spec = found[app.app_id]
        assert spec["scaleTargetRef"] == {"name": app.app_id}
        # Two notifiers: one crash does not delay reminders (claims are in the database).
        assert spec["minReplicaCount"] == (2 if app is catalog.NOTIFIER else 1)
        assert spec["maxReplicaCount"] == 3  # task-events and reminders have 3 partitions
        for trigger, consumption in zip(spec["triggers"], app.consumes, strict=True):
            meta = trigger["metadata"]
            assert trigger["type"] == "kafka"
            assert meta["consumerGroup"] == consumption.group
            assert meta["topic"] == consumption.topic.name
            assert meta["bootstrapServers"] == "todo-kafka-bootstrap.kafka.svc:9092"
            assert meta["allowIdleConsumers"] == "false"
            groups.add(meta["consumerGroup"])
    assert groups == set(CONSUMER_GROUPS)
    assert not run.of_type(SUBSCRIPTION)


def test_dapr_transport_subscribes_with_dead_letter_topics(monkeypatch: pytest.MonkeyPatch) -> None:
    run = stack(workloads={"event_transport": "dapr"})
    subscriptions = {r.k8s_name: r.manifest for r in run.of_type(SUBSCRIPTION)}
    assert set(subscriptions) == {
        "todo-recurring-task-events",
        "todo-notifier-reminders",
        "todo-audit-task-events",
    }
    notifier = subscriptions["todo-notifier-reminders"]
    assert notifier["spec"] == {
        "pubsubname": "kafka-pubsub",
        "topic": "reminders",
        "routes": {"default": "/events/reminders"},
        "deadLetterTopic": "notifier-delivery.dlq",
    }
    assert notifier["scopes"] == ["todo-notifier"]
    # The sidecar consumes under the app id, so KEDA measures that group's lag.
    found = scaled_objects(run)
    assert {t["metadata"]["consumerGroup"] for t in found["todo-notifier"]["triggers"]} == {
        "todo-notifier"
    }
    relay = settings_as_deployed(deployments(run)["todo-relay"], catalog.RELAY, monkeypatch)
    assert isinstance(relay, RelaySettings)
    # Through the sidecar, to the platform's pub/sub component.
    assert (relay.relay_backend, relay.dapr_pubsub) == ("dapr", "kafka-pubsub")


def netpols(run: Run) -> dict[str, dict[str, Any]]:
    return {r.k8s_name: r.manifest["spec"] for r in run.of_type(NETPOL)}


def test_network_policies_deny_by_default_and_allow_only_the_needed_flows(run: Run) -> None:
    found = netpols(run)
    assert set(found) == {
        "default-deny",
        "allow-dns",
        "allow-ingress-to-api",
        "allow-acme-http01-solver",
        "allow-prometheus-scrape",
        "allow-kafka",
        "allow-postgres",
        "allow-dapr-control-plane",
        "allow-notifier-delivery",
        "allow-api-mail",
    }
    assert found["default-deny"] == {
        "podSelector": {},
        "policyTypes": ["Ingress", "Egress"],
        "ingress": [],
        "egress": [],
    }
    to_api = found["allow-ingress-to-api"]
    assert to_api["podSelector"]["matchLabels"]["app.kubernetes.io/name"] == "todo-api"
    assert to_api["ingress"] == [
        {
            "from": [
                {
                    "namespaceSelector": {
                        "matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}
                    }
                }
            ],
            "ports": [{"port": 8000, "protocol": "TCP"}],
        }
    ]
    kafka = found["allow-kafka"]["egress"][0]
    assert kafka["ports"] == [{"port": 9092, "protocol": "TCP"}]
    delivery = found["allow-notifier-delivery"]["egress"][0]["to"][0]["ipBlock"]
    assert delivery["cidr"] == "0.0.0.0/0"
    assert "10.0.0.0/8" in delivery["except"]
    mail = found["allow-api-mail"]
    assert mail["podSelector"]["matchLabels"]["app.kubernetes.io/name"] == "todo-api"
    assert mail["egress"][0]["ports"] == [
        {"port": 465, "protocol": "TCP"},
        {"port": 587, "protocol": "TCP"},
    ]
    assert "10.0.0.0/8" in mail["egress"][0]["to"][0]["ipBlock"]["except"]
    for name, spec in found.items():
        assert spec["policyTypes"], name


def test_secrets_are_registered_as_secret_values(run: Run) -> None:
    app_secret = run.one("kubernetes:core/v1:Secret", app_names.APP_SECRET_NAME)
    pull = run.one("kubernetes:core/v1:Secret", "registry-credentials")
    assert pull.manifest["type"] == "kubernetes.io/dockerconfigjson"
    for secret in (app_secret, pull):
        assert secret.secret("stringData")
    data = app_secret.manifest["stringData"]
    assert set(data) == {app_names.DATABASE_URL_KEY, app_names.JWT_SECRET_KEY}
    # The key comes from the stack's config (stacks/secrets.py): known at preview already.
    assert data[app_names.JWT_SECRET_KEY] == "J" * 64
    if not run.program_run.preview:
        assert data[app_names.DATABASE_URL_KEY] == run.outputs["database_url"]
    config = json.loads(pull.manifest["stringData"][".dockerconfigjson"])
    auth = config["auths"]["iad.ocir.io"]
    assert base64.b64decode(auth["auth"]).decode() == "tenancy/ci:registry-token"


def test_service_accounts_do_not_mount_tokens_by_default(run: Run) -> None:
    accounts = {r.k8s_name: r.manifest for r in run.of_type("kubernetes:core/v1:ServiceAccount")}
    assert set(accounts) == {app.app_id for app in catalog.APPS} | {"todo-migrate"}
    assert {a["automountServiceAccountToken"] for a in accounts.values()} == {False}


def test_public_registry_needs_no_pull_secret() -> None:
    run = stack(workloads={"registry_username": None, "registry_password": None})
    assert not [
        r for r in run.of_type("kubernetes:core/v1:Secret") if r.k8s_name == "registry-credentials"
    ]
    for manifest in deployments(run).values():
        assert "imagePullSecrets" not in pod(manifest)["spec"]


PROVIDER = k8s.Provider.__new__(k8s.Provider)  # never registered: args validation only


def workloads_kwargs(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "provider": PROVIDER,
        "namespace": "todo-app",
        "image_registry": REGISTRY,
        "image_tag": TAG,
        "registry_username": None,
        "registry_password": None,
        "node_arch": "arm64",
        "database_url": "postgresql://u:p@h/db",
        "kafka_bootstrap": "todo-kafka-bootstrap.kafka.svc:9092",
        "domain": None,
        "api_replicas": 2,
        "api_max_replicas": 4,
        "jwt_signing_key": "J" * 64,
    }
    base.update(changes)
    return base


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"image_tag": "latest"}, "image_tag 'latest' must be a pinned Docker tag"),
        ({"image_tag": "has space"}, "must be a pinned Docker tag"),
        ({"node_arch": "s390x"}, "node_arch must be one of"),
        ({"namespace": "default"}, "namespace must be 'todo-app'"),
        ({"api_replicas": 0}, "need 1 <= api_replicas <= api_max_replicas, got 0 and 4"),
        ({"api_replicas": 5}, "need 1 <= api_replicas <= api_max_replicas, got 5 and 4"),
        ({"registry_username": "ci"}, "registry_username and registry_password go together"),
        ({"event_transport": "nats"}, "event_transport must be 'kafka' or 'dapr'"),
    ],
)
def test_invalid_workloads_args_are_refused_with_the_field_named(
    changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        WorkloadsArgs(**workloads_kwargs(**changes))


def container_requests(manifest: dict[str, Any]) -> Requests:
    total = Requests(0, 0)
    for container in pod(manifest)["spec"]["containers"]:
        requests = container["resources"]["requests"]
        total += Requests(
            int(requests["cpu"].removesuffix("m")), int(requests["memory"].removesuffix("Mi"))
        )
    annotations = pod(manifest)["metadata"].get("annotations", {})
    if annotations.get("dapr.io/enabled") == "true":
        total += Requests(
            int(annotations["dapr.io/sidecar-cpu-request"].removesuffix("m")),
            int(annotations["dapr.io/sidecar-memory-request"].removesuffix("Mi")),
        )
    return total


def test_workload_capacity_is_the_sum_of_the_registered_requests(run: Run) -> None:
    registered: list[Registered] = [*run.of_type(DEPLOYMENT), *run.of_type(JOB)]
    expected = Requests(0, 0)
    for resource in registered:
        # The HPA minimum for the API, KEDA's for the notifier.
        replicas = 2 if resource.k8s_name in {"todo-api", "todo-notifier"} else 1
        per_pod = container_requests(resource.manifest)
        expected += Requests(per_pod.cpu_millicores * replicas, per_pod.memory_mib * replicas)
    assert workloads_requests(plan(api_replicas=2)) == expected


def plan(**changes: Any) -> SizingPlan:
    """The sizing plan of the mocked platform (platform_kwargs): one broker, in-cluster
    PostgreSQL, TLS, one node."""
    base: dict[str, Any] = {
        "kafka_replicas": 1,
        "kafka_storage_gi": 20,
        "database_mode": "incluster",
        "database_storage_gi": 10,
        "with_tls": True,
        "node_count": 1,
        "api_replicas": 2,
    }
    return SizingPlan(**{**base, **changes})


def test_platform_capacity_counts_each_broker_and_optional_part() -> None:
    small = plan(with_tls=False, database_mode="external")
    three = plan(with_tls=False, database_mode="external", kafka_replicas=3)
    assert platform_requests(three) == platform_requests(small) + of(sizing.KAFKA_BROKER, 2)
    in_cluster = plan(with_tls=False)
    assert platform_requests(in_cluster) == (
        platform_requests(small) + of(sizing.CNPG_OPERATOR) + of(sizing.POSTGRES_INSTANCE)
    )
    with_tls = plan()
    cert_manager = (
        of(sizing.CERT_MANAGER_CONTROLLER)
        + of(sizing.CERT_MANAGER_WEBHOOK)
        + of(sizing.CERT_MANAGER_CAINJECTOR)
    )
    assert platform_requests(with_tls) == platform_requests(in_cluster) + cert_manager
    two_nodes = plan(node_count=2)
    assert platform_requests(two_nodes) == platform_requests(with_tls) + of(sizing.NODE_EXPORTER)
    with pytest.raises(ValueError, match="node_count must be at least 1, got 0"):
        plan(node_count=0)


def test_the_free_tier_stack_fits_four_ocpus_and_24_gb() -> None:
    total = requests(plan(node_count=2))
    # VM.Standard.A1.Flex always-free: 4 OCPU (4 cores) / 24 GB, minus kubelet/system reserve.
    assert total.cpu_millicores <= 3000
    assert total.memory_mib <= 16 * 1024
    assert str(total) == f"{total.cpu_millicores}m CPU / {total.memory_mib}Mi memory"


def test_kafka_broker_requests_match_the_sizing_table(run: Run) -> None:
    pool = next(r for r in run.resources if r.kind == "KafkaNodePool")
    assert pool.manifest["spec"]["resources"] == sizing.KAFKA_BROKER.resources()


def test_metrics_are_refused_at_the_edge_but_served_inside(run: Run) -> None:
    # Prometheus scrapes the pods; through the ingress /metrics is refused to every client.
    metrics = run.one("kubernetes:networking.k8s.io/v1:Ingress", "todo-api-metrics").manifest
    annotations = metrics["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/denylist-source-range"] == "0.0.0.0/0,::/0"
    [rule] = metrics["spec"]["rules"]
    assert rule["host"] == "todo.example.com"
    assert [(p["path"], p["pathType"]) for p in rule["http"]["paths"]] == [("/metrics", "Prefix")]
    assert rule["http"]["paths"][0]["backend"]["service"]["name"] == "todo-api"
    assert metrics["spec"]["tls"] == [{"hosts": ["todo.example.com"], "secretName": "todo-api-tls"}]
    api = run.one("kubernetes:networking.k8s.io/v1:Ingress", "todo-api").manifest
    assert "nginx.ingress.kubernetes.io/denylist-source-range" not in api["metadata"]["annotations"]


def test_the_api_believes_forwarded_headers_only_from_private_networks(run: Run) -> None:
    container = run.one("kubernetes:apps/v1:Deployment", "todo-api").manifest["spec"]["template"][
        "spec"
    ]["containers"][0]
    env = {item["name"]: item.get("value") for item in container["env"]}
    assert "FORWARDED_ALLOW_IPS" not in env
    assert json.loads(env["TRUSTED_PROXIES"]) == [
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "fc00::/7",
    ]
    assert "--no-proxy-headers" in container["command"]
