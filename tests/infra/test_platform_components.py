"""The Platform component under Pulumi mocks: namespaces, pinned charts, Strimzi Kafka and the
topics of the event contract, Dapr resources, the database modes, monitoring and its seam."""

from __future__ import annotations

import json
from typing import Any

import pulumi_kubernetes as k8s
import pytest

from app.core.processes import CONSUMER_GROUPS, TOPICS
from infra import app_names
from infra.observability import EmailReceiver, SlackReceiver, alertmanager_config
from infra.platform import PlatformArgs, SmtpRelay, versions
from infra.platform.chart_archive import load_all
from infra.platform.monitoring import SECRETS_DIR
from infra.workloads import catalog
from tests.infra._platform_mocks import (
    Registered,
    Run,
    platform_kwargs,
    stack,
    variant,
)

RELEASE = "kubernetes:helm.sh/v3:Release"
NAMESPACE = "kubernetes:core/v1:Namespace"
KAFKA = "kubernetes:kafka.strimzi.io/v1:Kafka"
NODE_POOL = "kubernetes:kafka.strimzi.io/v1:KafkaNodePool"
TOPIC = "kubernetes:kafka.strimzi.io/v1:KafkaTopic"
COMPONENT = "kubernetes:dapr.io/v1alpha1:Component"
SECRET = "kubernetes:core/v1:Secret"


@pytest.fixture(scope="module", params=[False, True], ids=["update", "preview"])
def free_tier(request: pytest.FixtureRequest) -> Run:
    """One broker, in-cluster PostgreSQL, a domain with TLS."""
    return stack(preview=request.param)


@pytest.fixture(scope="module", params=[False, True], ids=["update", "preview"])
def production(request: pytest.FixtureRequest) -> Run:
    """Three brokers, external PostgreSQL, no domain, alerts to Slack."""
    return variant("production", request.param)


def releases(run: Run) -> dict[str, dict[str, Any]]:
    return {r.manifest["name"]: r.manifest for r in run.of_type(RELEASE)}


def depends_on(resource: Registered, other: Registered) -> bool:
    return other.urn in resource.dependencies


def test_every_resource_has_its_own_urn_and_components_complete(free_tier: Run) -> None:
    urns = [r.urn for r in free_tier.resources]
    assert len(urns) == len(set(urns))
    components = [r for r in free_tier.resources if r.typ.startswith("todo:")]
    assert {c.typ for c in components} == {
        "todo:platform:Platform",
        "todo:platform:Namespaces",
        "todo:platform:Ingress",
        "todo:platform:Kafka",
        "todo:platform:Dapr",
        "todo:platform:Keda",
        "todo:platform:Database",
        "todo:platform:Monitoring",
        "todo:platform:OperatorCrds",
        "todo:workloads:Workloads",
    }
    assert {c.urn for c in components} <= free_tier.program_run.completed
    # Every Kubernetes object goes through the cluster's provider, never a default one.
    for resource in free_tier.kubernetes():
        assert "pulumi:providers:kubernetes::cluster" in resource.resource.provider, resource.urn


def test_namespaces_carry_pod_security_levels(free_tier: Run, production: Run) -> None:
    levels = {
        r.k8s_name: r.manifest["metadata"]["labels"]["pod-security.kubernetes.io/enforce"]
        for r in free_tier.of_type(NAMESPACE)
    }
    assert levels == {
        "todo-app": "restricted",
        "kafka": "baseline",
        "dapr-system": "baseline",
        "keda": "baseline",
        "ingress-nginx": "baseline",
        "monitoring": "privileged",
        "cert-manager": "restricted",
        "cnpg-system": "baseline",
        "todo-db": "restricted",
    }
    assert {r.k8s_name for r in production.of_type(NAMESPACE)} == {
        "todo-app",
        "kafka",
        "dapr-system",
        "keda",
        "ingress-nginx",
        "monitoring",
    }
    for ns in free_tier.of_type(NAMESPACE):
        assert ns.manifest["metadata"]["labels"]["pod-security.kubernetes.io/warn"] == "restricted"


def test_charts_are_pinned_with_their_repositories(free_tier: Run, production: Run) -> None:
    expected = {
        "strimzi": versions.STRIMZI,
        "dapr": versions.DAPR,
        "keda": versions.KEDA,
        "ingress-nginx": versions.INGRESS_NGINX,
        "cert-manager": versions.CERT_MANAGER,
        "cnpg": versions.CLOUDNATIVE_PG,
        "kube-prometheus-stack": versions.KUBE_PROMETHEUS_STACK,
    }
    found = releases(free_tier)
    assert set(found) == set(expected)
    for name, ref in expected.items():
        release = found[name]
        if ref.oci:
            # An OCI chart is its full reference, with no repository options.
            assert release["chart"] == f"{ref.repo}/{ref.chart}"
            assert "repositoryOpts" not in release
        else:
            assert release["chart"] == ref.chart
            assert release["repositoryOpts"] == {"repo": ref.repo}
        assert release["version"] == ref.version
        assert release["atomic"] is True
        assert release["skipAwait"] is False
    assert versions.STRIMZI.version.startswith("1.")
    # Strimzi's https repository is deprecated; its chart README installs from quay.io's OCI
    # registry (helm-charts/helm3/strimzi-kafka-operator/README.md at 1.0.0, "helm install ...
    # oci://quay.io/strimzi-helm/strimzi-kafka-operator").
    assert found["strimzi"]["chart"] == "oci://quay.io/strimzi-helm/strimzi-kafka-operator"
    assert [ref.chart for ref in expected.values() if ref.oci] == ["strimzi-kafka-operator"]
    # No domain: no cert-manager, no in-cluster database operator.
    assert set(releases(production)) == set(expected) - {"cert-manager", "cnpg"}


def test_kafka_is_kraft_with_a_dual_role_node_pool_awaited_until_ready(free_tier: Run) -> None:
    kafka = free_tier.one(KAFKA, "todo")
    meta = kafka.manifest["metadata"]
    assert meta["namespace"] == "kafka"
    assert meta["annotations"]["pulumi.com/waitFor"] == "condition=Ready"
    spec = kafka.manifest["spec"]
    assert "zookeeper" not in spec
    assert spec["kafka"]["version"] == versions.KAFKA_VERSION
    assert spec["kafka"]["metadataVersion"] == versions.KAFKA_METADATA_VERSION
    assert spec["kafka"]["listeners"] == [
        {"name": "plain", "port": 9092, "type": "internal", "tls": False}
    ]
    config = spec["kafka"]["config"]
    assert config["default.replication.factor"] == 1
    assert config["min.insync.replicas"] == 1
    assert config["auto.create.topics.enable"] is False
    assert spec["kafkaExporter"]["groupRegex"] == ".*"

    pool = free_tier.one(NODE_POOL, "dual-role")
    assert pool.manifest["metadata"]["labels"]["strimzi.io/cluster"] == "todo"
    pool_spec = pool.manifest["spec"]
    assert pool_spec["replicas"] == 1
    assert pool_spec["roles"] == ["controller", "broker"]
    assert pool_spec["storage"] == {
        "type": "jbod",
        "volumes": [
            {
                "id": 0,
                "type": "persistent-claim",
                "size": "20Gi",
                "deleteClaim": False,
                "kraftMetadata": "shared",
                "class": "oci-bv",
            }
        ],
    }
    # Ordering: the operator (CRDs) before the pool, the pool before the cluster.
    strimzi = next(r for r in free_tier.of_type(RELEASE) if r.manifest["name"] == "strimzi")
    assert depends_on(pool, strimzi)
    assert depends_on(kafka, strimzi)
    assert depends_on(kafka, pool)


def test_production_kafka_replicates_three_ways(production: Run) -> None:
    config = production.one(KAFKA, "todo").manifest["spec"]["kafka"]["config"]
    assert config["default.replication.factor"] == 3
    assert config["min.insync.replicas"] == 2
    assert config["transaction.state.log.min.isr"] == 2
    pool = production.one(NODE_POOL, "dual-role").manifest["spec"]
    assert pool["replicas"] == 3
    volume = pool["storage"]["volumes"][0]
    assert volume["size"] == "100Gi"
    assert "class" not in volume  # cluster default storage class
    assert {t.manifest["spec"]["replicas"] for t in production.of_type(TOPIC)} == {3}


def test_topics_come_from_the_event_contract(free_tier: Run) -> None:
    kafka = free_tier.one(KAFKA, "todo")
    topics = {t.manifest["spec"]["topicName"]: t for t in free_tier.of_type(TOPIC)}
    assert set(topics) == {t.name for t in TOPICS}
    assert {f"{g}.dlq" for g in CONSUMER_GROUPS} <= set(topics)
    for topic in TOPICS:
        registered = topics[topic.name]
        assert registered.manifest["spec"]["partitions"] == topic.partitions
        assert registered.manifest["spec"]["config"] == topic.config
        assert registered.manifest["spec"]["replicas"] == 1
        assert registered.manifest["metadata"]["labels"]["strimzi.io/cluster"] == "todo"
        assert depends_on(registered, kafka)
    assert topics["task-events"].manifest["spec"]["partitions"] == 3


def components(run: Run) -> dict[str, dict[str, Any]]:
    return {r.k8s_name: r.manifest for r in run.of_type(COMPONENT)}


def metadata_of(component: dict[str, Any]) -> dict[str, Any]:
    return {
        item["name"]: item.get("value", item.get("secretKeyRef"))
        for item in component["spec"]["metadata"]
    }


def test_dapr_components_with_metadata_and_scopes(free_tier: Run) -> None:
    found = components(free_tier)
    assert set(found) == {"kafka-pubsub", "statestore", "reminder-check", "kubernetes-secrets"}
    for component in found.values():
        assert component["metadata"]["namespace"] == "todo-app"
        assert component["spec"]["version"] == "v1"

    pubsub = found["kafka-pubsub"]
    assert pubsub["spec"]["type"] == "pubsub.kafka"
    meta = metadata_of(pubsub)
    assert meta["brokers"] == "todo-kafka-bootstrap.kafka.svc:9092"
    assert meta["authType"] == "none"
    assert "consumerGroup" not in meta
    assert "consumerID" not in meta
    assert pubsub["scopes"] == ["todo-relay", "todo-recurring", "todo-notifier", "todo-audit"]

    state = found["statestore"]
    assert state["spec"]["type"] == "state.postgresql"
    assert metadata_of(state)["connectionString"] == {
        "name": app_names.APP_SECRET_NAME,
        "key": app_names.DATABASE_URL_KEY,
    }
    assert state["auth"] == {"secretStore": "kubernetes-secrets"}
    assert state["scopes"] == ["todo-api"]

    cron = found["reminder-check"]
    assert cron["spec"]["type"] == "bindings.cron"
    assert metadata_of(cron)["schedule"] == "@every 1m"
    # Both sweeps behind POST /reminder-check: the notifier's and the recurring service's.
    assert cron["scopes"] == ["todo-notifier", "todo-recurring"]

    store = found["kubernetes-secrets"]
    assert store["spec"]["type"] == "secretstores.kubernetes"
    assert store["scopes"] == [app.app_id for app in catalog.APPS]

    dapr_release = next(r for r in free_tier.of_type(RELEASE) if r.manifest["name"] == "dapr")
    for registered in free_tier.of_type(COMPONENT):
        assert depends_on(registered, dapr_release)


def test_dapr_configuration_resiliency_and_secret_rbac(free_tier: Run) -> None:
    config = free_tier.one("kubernetes:dapr.io/v1alpha1:Configuration", "todo-dapr").manifest
    assert config["spec"]["metric"] == {"enabled": True}
    assert config["spec"]["secrets"]["scopes"] == [
        {
            "storeName": "kubernetes-secrets",
            "defaultAccess": "deny",
            "allowedSecrets": [app_names.APP_SECRET_NAME],
        }
    ]
    resiliency = free_tier.one("kubernetes:dapr.io/v1alpha1:Resiliency", "todo-resiliency")
    spec = resiliency.manifest["spec"]
    for retry in spec["policies"]["retries"].values():
        assert 0 < retry["maxRetries"] <= 5  # bounded: never -1 (forever)
    assert spec["targets"]["components"]["kafka-pubsub"]["inbound"] == {"retry": "deliver"}

    role = free_tier.one("kubernetes:rbac.authorization.k8s.io/v1:Role", "dapr-secret-reader")
    assert role.manifest["rules"] == [
        {
            "apiGroups": [""],
            "resources": ["secrets"],
            "resourceNames": [app_names.APP_SECRET_NAME],
            "verbs": ["get"],
        }
    ]
    binding = free_tier.one(
        "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding", "dapr-secret-reader"
    )
    assert [s["name"] for s in binding.manifest["subjects"]] == [a.app_id for a in catalog.APPS]
    assert {s["namespace"] for s in binding.manifest["subjects"]} == {"todo-app"}


def test_in_cluster_database_has_the_stacks_secret_password(free_tier: Run) -> None:
    cluster = free_tier.one("kubernetes:postgresql.cnpg.io/v1:Cluster", "todo-db").manifest
    assert cluster["metadata"]["annotations"]["pulumi.com/waitFor"] == "condition=Ready"
    assert cluster["spec"]["storage"] == {"size": "10Gi", "storageClass": "oci-bv"}
    assert cluster["spec"]["bootstrap"]["initdb"]["secret"] == {"name": "todo-db-owner"}
    owner = free_tier.one(SECRET, "todo-db-owner")
    assert owner.manifest["type"] == "kubernetes.io/basic-auth"
    assert owner.secret("stringData")
    assert "database_url" in free_tier.secret_outputs
    if free_tier.outputs["database_url"] is not None:  # unknown during preview
        assert free_tier.outputs["database_url"].startswith(
            "postgresql://todo:" + "D" * 32 + "@todo-db-rw.todo-db.svc:5432/todo"
        )


def test_external_database_url_is_normalised_and_secret(production: Run) -> None:
    assert not production.of_type("kubernetes:postgresql.cnpg.io/v1:Cluster")
    assert "database_url" in production.secret_outputs
    assert production.outputs["database_url"] == (
        "postgresql://neon:s3cret@ep-1.eu.aws.neon.tech/todo"
    )


def test_monitoring_release_selects_every_monitor_and_keeps_secrets_out_of_values(
    free_tier: Run, production: Run
) -> None:
    values = releases(production)["kube-prometheus-stack"]["values"]
    spec = values["prometheus"]["prometheusSpec"]
    for key in (
        "serviceMonitorSelectorNilUsesHelmValues",
        "podMonitorSelectorNilUsesHelmValues",
        "ruleSelectorNilUsesHelmValues",
    ):
        assert spec[key] is False
    assert values["grafana"]["admin"]["existingSecret"] == "grafana-admin"
    # The routing of infra.observability, with the webhook read from the mounted Secret.
    assert values["alertmanager"]["config"] == alertmanager_config(
        slack=SlackReceiver(f"{SECRETS_DIR}/slack-webhook")
    )
    assert SECRETS_DIR == "/etc/alertmanager/secrets/alertmanager-receivers"
    assert values["alertmanager"]["alertmanagerSpec"]["secrets"] == ["alertmanager-receivers"]
    assert "hooks.slack.com" not in json.dumps(values)
    receiver_secret = production.one(SECRET, "alertmanager-receivers")
    assert receiver_secret.secret("stringData")
    admin = production.one(SECRET, "grafana-admin")
    assert admin.secret("stringData")
    assert production.outputs["grafana_url"] == ("http://grafana.monitoring.svc.cluster.local")
    assert free_tier.outputs["grafana_url"] == "https://grafana.todo.example.com"
    grafana = releases(free_tier)["kube-prometheus-stack"]["values"]["grafana"]
    assert grafana["ingress"]["hosts"] == ["grafana.todo.example.com"]


def monitors_of(run: Run) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (r.kind, r.k8s_name): r.manifest["spec"]
        for r in run.resources
        if r.typ.startswith("kubernetes:monitoring.coreos.com/v1:") and r.kind != "PrometheusRule"
    }


def test_scrape_targets_cover_apps_sidecars_dapr_kafka_and_ingress(
    free_tier: Run, production: Run
) -> None:
    monitors = monitors_of(free_tier)
    assert set(monitors) == {
        ("ServiceMonitor", "todo-apps"),
        ("PodMonitor", "dapr-sidecars"),
        ("PodMonitor", "dapr-control-plane"),
        ("PodMonitor", "kafka"),
        ("PodMonitor", "strimzi-operator"),
        ("ServiceMonitor", "ingress-nginx"),
        ("ServiceMonitor", "keda"),
        ("ServiceMonitor", "cert-manager"),
        ("PodMonitor", "postgres"),
    }
    # No domain: no cert-manager to scrape; external database: no PostgreSQL pods.
    assert set(monitors) - set(monitors_of(production)) == {
        ("ServiceMonitor", "cert-manager"),
        ("PodMonitor", "postgres"),
    }
    assert monitors[("ServiceMonitor", "todo-apps")]["endpoints"][0]["port"] == "http"
    assert monitors[("PodMonitor", "dapr-sidecars")]["podMetricsEndpoints"][0]["port"] == (
        "dapr-metrics"
    )
    assert monitors[("PodMonitor", "kafka")]["podMetricsEndpoints"][0]["port"] == "tcp-prometheus"


SAMPLE_RULES = [
    {
        "name": "todo.rules",
        "rules": [{"alert": "ApiDown", "expr": 'up{job="todo-api"} == 0', "for": "5m"}],
    }
]
SAMPLE_DASHBOARD = json.dumps({"title": "Todo API", "panels": []})


def test_rules_and_dashboards_plug_into_the_seam() -> None:
    run = stack(platform={"rules": SAMPLE_RULES, "dashboards": {"todo-api": SAMPLE_DASHBOARD}})
    rule = run.one("kubernetes:monitoring.coreos.com/v1:PrometheusRule", "todo-rules")
    assert rule.manifest["spec"] == {"groups": SAMPLE_RULES}
    dashboard = run.one("kubernetes:core/v1:ConfigMap", "dashboard-todo-api").manifest
    assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert dashboard["metadata"]["namespace"] == "monitoring"
    assert json.loads(dashboard["data"]["todo-api.json"]) == json.loads(SAMPLE_DASHBOARD)
    kps = next(r for r in run.of_type(RELEASE) if r.manifest["name"] == "kube-prometheus-stack")
    assert depends_on(rule, kps)


def test_without_rules_no_prometheus_rule_is_registered(free_tier: Run) -> None:
    assert not free_tier.of_type("kubernetes:monitoring.coreos.com/v1:PrometheusRule")


PROVIDER = k8s.Provider.__new__(k8s.Provider)  # never registered: args validation only


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"kafka_replicas": 0}, "kafka_replicas must be at least 1"),
        ({"kafka_storage_gi": 0}, "kafka_storage_gi must be at least 1"),
        ({"database_mode": "sqlite"}, "database_mode must be 'external' or 'incluster'"),
        (
            {"database_mode": "external", "database_url": None},
            "database_url is required when database_mode is 'external'",
        ),
        ({"domain": "Not A Domain"}, "is not a lowercase DNS name"),
        ({"tls_email": None}, "tls_email is required when a domain is set"),
        ({"alert_email_to": "ops@example.com"}, "alert_email_to needs alert_smtp"),
        (
            {"alert_email_to": "ops", "alert_smtp": SmtpRelay("smtp.example.com:587", "a@b.co")},
            "email to 'ops' is not an e-mail address",
        ),
        (
            {
                "alert_email_to": "ops@example.com",
                "alert_smtp": SmtpRelay("smtp.example.com", "a@b.co"),
            },
            "email smarthost 'smtp.example.com' must be host:port",
        ),
        ({"dashboards": {"Bad Name": "{}"}}, "must be a lowercase DNS label"),
        ({"dashboards": {"api": "{not json"}}, "dashboard 'api' is not valid JSON"),
        ({"rules": [{"rules": []}]}, "each rule group needs a 'name' and a 'rules' list"),
    ],
)
def test_invalid_platform_args_are_refused_with_the_field_named(
    changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        PlatformArgs(provider=PROVIDER, **platform_kwargs(**changes))


def test_half_an_smtp_login_is_refused() -> None:
    with pytest.raises(ValueError, match="alert_smtp username and password go together"):
        SmtpRelay("smtp.example.com:587", "alerts@example.com", username="alerts")
    with pytest.raises(ValueError, match="alert_smtp username and password go together"):
        SmtpRelay("smtp.example.com:587", "alerts@example.com", password="hunter2")


def test_email_alerts_go_through_the_relay_with_a_password_file() -> None:
    relay = SmtpRelay("smtp.example.com:587", "alerts@example.com", "alerts", "hunter2-relay")
    run = stack(platform={"alert_email_to": "ops@example.com", "alert_smtp": relay})
    values = releases(run)["kube-prometheus-stack"]["values"]
    assert values["alertmanager"]["config"] == alertmanager_config(
        email=EmailReceiver(
            "ops@example.com",
            "alerts@example.com",
            "smtp.example.com:587",
            username="alerts",
            password_file="/etc/alertmanager/secrets/alertmanager-receivers/smtp-password",
        )
    )
    assert "hunter2-relay" not in json.dumps(values)
    receiver_secret = run.one(SECRET, "alertmanager-receivers")
    assert receiver_secret.secret("stringData")
    assert receiver_secret.manifest["stringData"] == {"smtp-password": "hunter2-relay"}


def test_a_relay_without_login_needs_no_receivers_secret() -> None:
    relay = SmtpRelay("mail.internal:25", "alerts@example.com")
    run = stack(platform={"alert_email_to": "ops@example.com", "alert_smtp": relay})
    values = releases(run)["kube-prometheus-stack"]["values"]
    assert values["alertmanager"]["config"] == alertmanager_config(
        email=EmailReceiver("ops@example.com", "alerts@example.com", "mail.internal:25")
    )
    assert "secrets" not in values["alertmanager"]["alertmanagerSpec"]
    assert [r for r in run.of_type(SECRET) if r.k8s_name == "alertmanager-receivers"] == []


def test_without_receivers_alerts_are_routed_but_nobody_is_notified(free_tier: Run) -> None:
    values = releases(free_tier)["kube-prometheus-stack"]["values"]
    assert values["alertmanager"]["config"] == alertmanager_config()


CONFIG_GROUP = "kubernetes:yaml/v2:ConfigGroup"


def test_crds_of_helms_crds_dirs_are_resources_of_their_own(free_tier: Run) -> None:
    """Helm never upgrades a chart's crds/ (https://helm.sh/docs/chart_best_practices/
    custom_resource_definitions/): the program applies those CRDs itself from the pinned
    archives, one ConfigGroup per chart, and each release skips them and waits for them."""
    groups = {r.name: r for r in free_tier.of_type(CONFIG_GROUP)}
    assert set(groups) == {
        "crds-strimzi-kafka-operator",
        "crds-dapr",
        "crds-kube-prometheus-stack",
    }
    crds = {
        name: [
            doc["metadata"]["name"]
            for doc in load_all(group.manifest["yaml"])
            if doc and doc["kind"] == "CustomResourceDefinition"
        ]
        for name, group in groups.items()
    }
    assert {n.split(".", 1)[1] for n in crds["crds-strimzi-kafka-operator"]} == {
        "kafka.strimzi.io",
        "core.strimzi.io",
    }
    assert sorted(crds["crds-dapr"]) == [
        "components.dapr.io",
        "configurations.dapr.io",
        "httpendpoints.dapr.io",
        "resiliencies.dapr.io",
        "subscriptions.dapr.io",
    ]
    assert "prometheusrules.monitoring.coreos.com" in crds["crds-kube-prometheus-stack"]
    found = releases(free_tier)
    release_resources = {r.manifest["name"]: r for r in free_tier.of_type(RELEASE)}
    for release, group in (
        ("strimzi", "crds-strimzi-kafka-operator"),
        ("dapr", "crds-dapr"),
        ("kube-prometheus-stack", "crds-kube-prometheus-stack"),
    ):
        assert found[release]["skipCrds"] is True, release
        assert depends_on(release_resources[release], groups[group]), release
    # Templated CRDs are upgraded by Helm with the release: those charts keep theirs.
    for release in ("keda", "cert-manager", "cnpg", "ingress-nginx"):
        assert found[release].get("skipCrds") in (None, False), release
