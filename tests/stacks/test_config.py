"""Stack configuration: declared in Pulumi.yaml, validated up front, one clear error per value."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from devtools.testkit.pulumi_mocks import (
    PROJECT,
    ROOT,
    STACKS,
    MappingSource,
    ProgramRun,
    load_config,
    project_defaults,
    project_file,
    stack_config,
    stack_file,
)
from infra.cloud.base import Allocatable
from infra.cloud.shapes import MachineSize
from infra.observability import rule_groups
from stacks.config import (
    SECRET_KEYS,
    SecretValue,
    SmtpSettings,
    StackConfigError,
    load_stack_config,
)

DB_URL = "postgresql+asyncpg://todo:s3cret-db-pass@db.example.com/todo"
DEFAULT_RUNBOOK = "https://github.com/todo-platform/todo-platform/blob/main/docs/runbook.md"
DEPLOYED_RUNBOOK = "https://github.com/acme/todo/blob/0123abc/docs/runbook.md"
SMTP = {
    "alertEmailTo": "oncall@example.com",
    "alertSmtpSmarthost": "smtp.example.com:587",
    "alertSmtpFrom": "alerts@example.com",
    "alertSmtpUsername": "alerts",
}
SMTP_PASSWORD = "relay-pass-7731"


# --- the committed stacks load into exact values ---------------------------------------------


def test_oke_stack_is_the_always_free_shape(tmp_path: Path) -> None:
    config = load_config("oke", tmp_path)
    assert config.provider == "oke"
    assert config.region == "eu-frankfurt-1"
    assert config.kubernetes_version == "v1.33.1"
    pool = config.node_pool
    assert pool is not None
    assert (pool.shape, pool.count, pool.max_count, pool.disk_gb) == (
        "VM.Standard.A1.Flex",
        2,
        2,
        50,
    )
    assert pool.size == MachineSize(vcpus=2, memory_mib=12 * 1024, arch="arm64")
    assert config.oke is not None
    assert config.nodes is not None
    # Always free: 4 Ampere OCPUs and 24 GB across the tenancy.
    assert config.nodes.ocpus * pool.count == 4
    assert config.nodes.memory_gb * pool.count == 24
    assert config.oke.api_allowed_cidrs == ("0.0.0.0/0",)
    assert config.oke.config_profile == "DEFAULT"
    assert (config.kafka.replicas, config.kafka.storage_gi) == (1, 50)
    assert config.database.mode == "external"
    assert config.database.url == SecretValue(DB_URL)
    assert (config.api.replicas, config.api.max_replicas) == (1, 2)
    assert config.image_tag == "0.1.0"
    assert config.ingress.domain is None
    assert (config.aks, config.gke, config.local) == (None, None, None)


def test_aks_stack(tmp_path: Path) -> None:
    config = load_config("aks", tmp_path)
    assert (config.provider, config.region, config.kubernetes_version) == (
        "aks",
        "westeurope",
        "1.33",
    )
    pool = config.node_pool
    assert pool is not None
    assert (pool.shape, pool.count, pool.max_count) == ("Standard_D4s_v5", 3, 5)
    assert pool.size == MachineSize(4, 16 * 1024, "amd64")
    assert config.aks is not None
    assert config.aks.admin_group_object_ids == ()
    assert (config.aks.kubelogin_mode, config.aks.sku_tier) == ("azurecli", "Free")
    assert (config.database.mode, config.database.url) == ("incluster", None)
    assert config.kafka.replicas == 3


def test_gke_stack_is_zonal_without_deletion_protection(tmp_path: Path) -> None:
    config = load_config("gke", tmp_path)
    assert config.gke is not None
    assert config.gke.project == "todo-mock-project"
    assert config.gke.zone == "europe-west1-b"
    assert config.gke.deletion_protection is False
    pool = config.node_pool
    assert pool is not None
    assert (pool.shape, pool.count, pool.max_count) == ("e2-standard-4", 3, 5)


def test_gke_regional_cluster_counts_nodes_in_three_zones(tmp_path: Path) -> None:
    config = load_config("gke", tmp_path, {"gkeZone": None, "nodeCount": 1, "nodeMaxCount": 2})
    assert config.gke is not None
    assert config.gke.zone is None
    assert config.node_pool is not None
    assert (config.node_pool.count, config.node_pool.max_count) == (3, 6)


def test_local_stack_reads_its_kubeconfig(tmp_path: Path) -> None:
    config = load_config("local", tmp_path)
    local = config.local
    assert local is not None
    assert local.context == "kind-todo"
    assert local.kubeconfig_path == str(tmp_path / "kubeconfig")
    assert local.kubeconfig.value == (tmp_path / "kubeconfig").read_text()
    assert local.allocatable == Allocatable(4000, 8192)
    assert (local.node_arch, local.registry_server, local.storage_class) == ("amd64", None, None)
    assert (config.node_pool, config.region) == (None, None)


def test_local_kubeconfig_defaults_to_the_kubeconfig_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    values, secret_keys = stack_config("local", tmp_path, {"localKubeconfig": None})
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "kubeconfig"))
    local = load_stack_config(MappingSource(values, secret_keys)).local
    assert local is not None
    assert local.kubeconfig_path == str(tmp_path / "kubeconfig")


def test_optional_values(tmp_path: Path) -> None:
    config = load_config(
        "aks",
        tmp_path,
        {
            "domain": "todo.example.com",
            "tlsEmail": "ops@example.com",
            **SMTP,
            "runbookUrl": DEPLOYED_RUNBOOK,
            "aksAdminGroupObjectIds": ["6f1c1a1e-2b9e-4f0a-9d55-3c2f8e7b1a00"],
            "aksKubeloginMode": "workloadidentity",
        },
        {
            "alertSlackWebhook": "https://hooks.slack.com/services/T0/B0/XYZ",
            "alertSmtpPassword": SMTP_PASSWORD,
            "grafanaAdminPassword": "correct-horse-battery",
        },
    )
    assert config.ingress.domain == "todo.example.com"
    assert config.ingress.tls_email == "ops@example.com"
    assert config.alerts.email_to == "oncall@example.com"
    assert config.alerts.smtp == SmtpSettings(
        "smtp.example.com:587", "alerts@example.com", "alerts", SecretValue(SMTP_PASSWORD)
    )
    assert config.runbook_url == DEPLOYED_RUNBOOK
    assert config.alerts.slack_webhook == SecretValue("https://hooks.slack.com/services/T0/B0/XYZ")
    assert config.grafana_admin_password == SecretValue("correct-horse-battery")
    assert config.aks is not None
    assert config.aks.admin_group_object_ids == ("6f1c1a1e-2b9e-4f0a-9d55-3c2f8e7b1a00",)
    assert config.aks.kubelogin_mode == "workloadidentity"


def test_alerts_default_to_no_receivers_and_the_projects_runbook(tmp_path: Path) -> None:
    for stack in STACKS:
        config = load_config(stack, tmp_path)
        assert (config.alerts.email_to, config.alerts.smtp, config.alerts.slack_webhook) == (
            None,
            None,
            None,
        )
        assert config.runbook_url == DEFAULT_RUNBOOK


def test_alert_email_through_a_relay_without_login(tmp_path: Path) -> None:
    settings = {**SMTP, "alertSmtpSmarthost": "mail.internal:25", "alertSmtpUsername": None}
    config = load_config("aks", tmp_path, settings)
    assert config.alerts.smtp == SmtpSettings("mail.internal:25", "alerts@example.com", None, None)


def test_relay_settings_without_a_recipient_are_checked_but_unused(tmp_path: Path) -> None:
    config = load_config(
        "aks", tmp_path, {**SMTP, "alertEmailTo": None}, {"alertSmtpPassword": SMTP_PASSWORD}
    )
    assert (config.alerts.email_to, config.alerts.smtp) == (None, None)
    with pytest.raises(StackConfigError) as raised:
        load_config("aks", tmp_path, {**SMTP, "alertEmailTo": None, "alertSmtpFrom": "alerts"})
    assert [problem.key for problem in raised.value.problems] == [
        "alertSmtpFrom",
        "alertSmtpPassword",
    ]


VALID_RUNBOOK_URLS = [
    DEFAULT_RUNBOOK,
    DEPLOYED_RUNBOOK,
    "https://git.example.com/ops/todo/-/blob/v1.2.0/docs/runbook.md",
]
INVALID_RUNBOOK_URLS = [
    "http://github.com/acme/todo/blob/main/docs/runbook.md",
    "HTTPS://github.com/acme/todo/blob/main/docs/runbook.md",
    "https:///docs/runbook.md",
    "https://github.com/acme/todo/blob/main/docs/runbook.md#todooutboxstalled",
    "https://github.com/acme/todo/blob/main/docs/runbook.md?plain=1",
    "https://github.com/acme/todo/blob/main/docs/run book.md",
    "https://github.com/acme/todo/blob/main/docs/runbook.html",
    "https://github.com/acme/todo/blob/main/docs/",
]


@pytest.mark.parametrize("url", VALID_RUNBOOK_URLS)
def test_a_valid_runbook_url_becomes_every_alerts_link(tmp_path: Path, url: str) -> None:
    config = load_config("aks", tmp_path, {"runbookUrl": url})
    groups = rule_groups(namespace="todo-app", runbook_url=config.runbook_url)
    links = [rule["annotations"]["runbook_url"] for group in groups for rule in group["rules"]]
    assert len(links) == 10
    assert all(link.startswith(f"{url}#todo") for link in links), links


@pytest.mark.parametrize("url", INVALID_RUNBOOK_URLS)
def test_the_config_refuses_every_runbook_url_the_rules_would(tmp_path: Path, url: str) -> None:
    """Config validation is what speaks to the deployer, so it refuses every URL the rules
    would (and a URL without a host, which they let through): none gets as far as the program."""
    with pytest.raises(StackConfigError) as raised:
        load_config("aks", tmp_path, {"runbookUrl": url})
    assert [problem.key for problem in raised.value.problems] == ["runbookUrl"]


def test_a_blank_value_means_the_keys_default(tmp_path: Path) -> None:
    # Pulumi.yaml's "" defaults mean "unset"; so does a value set to "" by hand.
    config = load_config("aks", tmp_path, {"runbookUrl": "", "kafkaReplicas": " ", "domain": ""})
    assert (config.runbook_url, config.kafka.replicas, config.ingress.domain) == (
        DEFAULT_RUNBOOK,
        1,
        None,
    )


def test_pulumi_yaml_declares_the_models_defaults(tmp_path: Path) -> None:
    """The models hold each key's default (stacks/config.py); Pulumi.yaml must declare the same
    value, because Pulumi applies its own before the program runs. For every declared default
    and every stack, the key unset (the model's default) and the key at Pulumi.yaml's default
    give the same configuration, or the same problems."""

    def outcome(stack: str, settings: dict[str, Any]) -> object:
        try:
            return load_config(stack, tmp_path, settings)
        except StackConfigError as error:
            return error.problems

    defaults = project_defaults()
    assert defaults["nodeCount"] == "2"  # the one that disagreed before (code said 1)
    for stack in STACKS:
        for key, default in defaults.items():
            unset, declared = outcome(stack, {key: None}), outcome(stack, {key: default})
            assert unset == declared, f"{stack}: {key}"


def test_oke_version_without_v_is_normalised(tmp_path: Path) -> None:
    assert (
        load_config("oke", tmp_path, {"kubernetesVersion": "1.33.1"}).kubernetes_version
        == "v1.33.1"
    )


def test_external_database_url_is_ignored_in_cluster_mode(tmp_path: Path) -> None:
    config = load_config("aks", tmp_path, secrets={"databaseUrl": DB_URL})
    assert config.database.url is None


# --- every invalid value: its error, and nothing registered ----------------------------------

INVALID: list[tuple[str, dict[str, Any], dict[str, Any], str, tuple[str, ...]]] = [
    ("oke", {"provider": "aws"}, {}, "provider", ("one of oke, aks, gke, local", "'aws'")),
    ("oke", {"provider": None}, {}, "provider", ("required", "one of oke, aks, gke, local")),
    ("oke", {"region": None}, {}, "region", ("required", "eu-frankfurt-1")),
    ("oke", {"region": "Frankfurt"}, {}, "region", ("OCI region identifier", "'Frankfurt'")),
    ("aks", {"region": "West Europe"}, {}, "region", ("Azure region name like westeurope",)),
    ("gke", {"region": "europe west"}, {}, "region", ("Google Cloud region like europe-west1",)),
    (
        "oke",
        {"kubernetesVersion": "1.33"},
        {},
        "kubernetesVersion",
        ("exact OKE version like v1.33.1",),
    ),
    ("aks", {"kubernetesVersion": "1.29"}, {}, "kubernetesVersion", ("1.30 or newer", "'1.29'")),
    ("gke", {"kubernetesVersion": "latest"}, {}, "kubernetesVersion", ("GKE version prefix",)),
    (
        "oke",
        {"nodeShape": "VM.Standard2.1"},
        {},
        "nodeShape",
        ("VM.Standard.A1.Flex, VM.Standard.E4.Flex, VM.Standard.E5.Flex", "'VM.Standard2.1'"),
    ),
    ("oke", {"nodeOcpus": 0}, {}, "nodeOcpus", ("integer from 1 to 128", "'0'")),
    ("oke", {"nodeOcpus": 100}, {}, "nodeOcpus", ("1 to 80 OCPUs", "got 100")),
    ("oke", {"nodeMemoryGb": 200}, {}, "nodeMemoryGb", ("2 to 128 GB", "got 200")),
    ("oke", {"nodeCount": "two"}, {}, "nodeCount", ("integer from 1 to 100", "'two'")),
    ("oke", {"nodeMaxCount": 4}, {}, "nodeMaxCount", ("must be 0 on oke",)),
    (
        "aks",
        {"nodeMaxCount": 2},
        {},
        "nodeMaxCount",
        ("0 (no autoscaling) or at least nodeCount (3)",),
    ),
    ("oke", {"nodeDiskGb": 40}, {}, "nodeDiskGb", ("integer from 50 to 2048",)),
    ("aks", {"nodeShape": "Standard_A2"}, {}, "nodeShape", ("Standard_D<n>", "Standard_B2s")),
    ("gke", {"nodeShape": "e2-medium"}, {}, "nodeShape", ("{standard|highmem|highcpu}", "e2")),
    ("aks", {"nodeShape": None}, {}, "nodeShape", ("required",)),
    ("oke", {"kafkaReplicas": 2}, {}, "kafkaReplicas", ("1 or 3 to 9",)),
    ("oke", {"kafkaReplicas": 12}, {}, "kafkaReplicas", ("integer from 1 to 9", "'12'")),
    ("oke", {"kafkaStorageGi": 20}, {}, "kafkaStorageGi", ("integer from 50 to 16384",)),
    (
        "oke",
        {"databaseMode": "incluster", "databaseStorageGi": 10},
        {},
        "databaseStorageGi",
        ("from 50",),
    ),
    (
        "aks",
        {"databaseMode": "sqlite"},
        {},
        "databaseMode",
        ("one of external, incluster", "'sqlite'"),
    ),
    (
        "oke",
        {},
        {"databaseUrl": None},
        "databaseUrl",
        ("required when databaseMode=external", "--secret"),
    ),
    ("oke", {}, {"databaseUrl": "mysql://u:p@h/db"}, "databaseUrl", ("a postgresql:// URL",)),
    (
        "oke",
        {"databaseUrl": DB_URL},
        {},
        "databaseUrl",
        ("plain text", "pulumi config set --secret databaseUrl"),
    ),
    ("gke", {"gcpProject": None}, {}, "gcpProject", ("required", "Google Cloud project ID")),
    (
        "gke",
        {"gcpProject": "My Project"},
        {},
        "gcpProject",
        ("Google Cloud project ID", "'My Project'"),
    ),
    ("gke", {"gkeZone": "us-central1-a"}, {}, "gkeZone", ("a zone of europe-west1",)),
    (
        "gke",
        {"gkeDeletionProtection": "yes"},
        {},
        "gkeDeletionProtection",
        ("true or false", "'yes'"),
    ),
    (
        "oke",
        {"ociCompartmentOcid": None},
        {},
        "ociCompartmentOcid",
        ("required", "compartment OCID"),
    ),
    (
        "oke",
        {"ociCompartmentOcid": "ocid1.vcn.oc1..abc"},
        {},
        "ociCompartmentOcid",
        ("compartment OCID",),
    ),
    ("oke", {"ociUserOcid": "me"}, {}, "ociUserOcid", ("OCID of the user",)),
    ("oke", {"ociRegistryUsername": None}, {}, "ociRegistryUsername", ("required", "login name")),
    (
        "oke",
        {"okeApiAllowedCidrs": ["10.0.0.0/33"]},
        {},
        "okeApiAllowedCidrs",
        ("CIDR blocks", "10.0.0.0/33"),
    ),
    ("oke", {"okeApiAllowedCidrs": []}, {}, "okeApiAllowedCidrs", ("at least one CIDR block",)),
    (
        "aks",
        {"aksAdminGroupObjectIds": ["admins"]},
        {},
        "aksAdminGroupObjectIds",
        ("group object IDs", "admins"),
    ),
    (
        "aks",
        {"aksKubeloginMode": "devicecode"},
        {},
        "aksKubeloginMode",
        ("azurecli, workloadidentity, spn, msi",),
    ),
    ("aks", {"aksSkuTier": "Gold"}, {}, "aksSkuTier", ("one of Free, Standard, Premium", "'Gold'")),
    ("oke", {"domain": "Not A Domain"}, {}, "domain", ("DNS name",)),
    ("oke", {"domain": "todo.example.com"}, {}, "tlsEmail", ("required when domain is set",)),
    (
        "oke",
        {"domain": "todo.example.com", "tlsEmail": "nope"},
        {},
        "tlsEmail",
        ("e-mail address", "'nope'"),
    ),
    ("oke", {"imageTag": "latest"}, {}, "imageTag", ("not 'latest'",)),
    ("oke", {"imageTag": None}, {}, "imageTag", ("required", "never latest")),
    ("oke", {"imageTag": "v1 beta"}, {}, "imageTag", ("image tag", "'v1 beta'")),
    ("oke", {"apiReplicas": 0}, {}, "apiReplicas", ("integer from 1 to 50",)),
    (
        "oke",
        {"apiReplicas": 3, "apiMaxReplicas": 2},
        {},
        "apiMaxReplicas",
        ("integer from 3 to 100",),
    ),
    ("aks", {"alertEmailTo": "ops"}, {}, "alertEmailTo", ("e-mail address", "'ops'")),
    (
        "aks",
        {},
        {"alertSlackWebhook": "http://example.com/hook"},
        "alertSlackWebhook",
        ("hooks.slack.com",),
    ),
    (
        "aks",
        {},
        {"grafanaAdminPassword": "short"},
        "grafanaAdminPassword",
        ("at least 12 characters",),
    ),
    (
        "aks",
        {"alertEmailTo": "ops@example.com"},
        {},
        "alertSmtpSmarthost",
        ("required when alertEmailTo is set", "host:port"),
    ),
    (
        "aks",
        {"alertEmailTo": "ops@example.com"},
        {},
        "alertSmtpFrom",
        ("required when alertEmailTo is set", "sender's e-mail address"),
    ),
    (
        "aks",
        {**SMTP, "alertSmtpSmarthost": "smtp.example.com"},
        {},
        "alertSmtpSmarthost",
        ("host:port of the SMTP relay", "'smtp.example.com'"),
    ),
    (
        "aks",
        {**SMTP, "alertSmtpSmarthost": "smtp.example.com:70000"},
        {},
        "alertSmtpSmarthost",
        ("port must be from 1 to 65535", "'smtp.example.com:70000'"),
    ),
    (
        "aks",
        {**SMTP, "alertSmtpFrom": "alerts"},
        {},
        "alertSmtpFrom",
        ("sender's e-mail address", "'alerts'"),
    ),
    (
        "aks",
        {**SMTP, "alertSmtpUsername": "alert bot"},
        {"alertSmtpPassword": SMTP_PASSWORD},
        "alertSmtpUsername",
        ("login name without spaces", "'alert bot'"),
    ),
    (
        "aks",
        SMTP,
        {},
        "alertSmtpPassword",
        ("required when alertSmtpUsername is set", "pulumi config set --secret alertSmtpPassword"),
    ),
    (
        "aks",
        {**SMTP, "alertSmtpUsername": None},
        {"alertSmtpPassword": SMTP_PASSWORD},
        "alertSmtpUsername",
        ("required when alertSmtpPassword is set", "login name"),
    ),
    (
        "aks",
        {**SMTP, "alertSmtpPassword": SMTP_PASSWORD},
        {},
        "alertSmtpPassword",
        ("plain text", "pulumi config set --secret alertSmtpPassword"),
    ),
    (
        "aks",
        SMTP,
        {"alertSmtpPassword": "line one\nline two"},
        "alertSmtpPassword",
        ("a single line",),
    ),
    (
        "aks",
        {"runbookUrl": "docs/runbook.md"},
        {},
        "runbookUrl",
        ("must be an https:// URL", "e.g. https://github.com/ORG/REPO/blob/main/docs/runbook.md"),
    ),
    (
        "aks",
        {"runbookUrl": "http://example.com/docs/runbook.md"},
        {},
        "runbookUrl",
        ("must be an https:// URL", "'http://example.com/docs/runbook.md'"),
    ),
    (
        "aks",
        {"runbookUrl": f"{DEFAULT_RUNBOOK}#alerts"},
        {},
        "runbookUrl",
        ("must not carry an anchor", "#<its section>"),
    ),
    ("aks", {"runbookUrl": f"{DEFAULT_RUNBOOK}?plain=1"}, {}, "runbookUrl", ("no query string",)),
    (
        "aks",
        {"runbookUrl": "https://example.com/runbook"},
        {},
        "runbookUrl",
        ("ending in .md", "e.g. https://github.com/ORG/REPO/blob/main/docs/runbook.md"),
    ),
    (
        "local",
        {"localContext": "minikube"},
        {},
        "localContext",
        ("'minikube' is not in", "one of kind-todo"),
    ),
    ("local", {"localContext": None}, {}, "localContext", ("required", "context name")),
    (
        "local",
        {"localKubeconfig": "/nonexistent/kubeconfig"},
        {},
        "localKubeconfig",
        ("cannot read /nonexistent/kubeconfig",),
    ),
    ("local", {"localCpuMillicores": 100}, {}, "localCpuMillicores", ("integer from 500",)),
    (
        "local",
        {"localNodeArch": "riscv64"},
        {},
        "localNodeArch",
        ("one of amd64, arm64", "'riscv64'"),
    ),
    (
        "local",
        {"registryServer": "https://registry"},
        {},
        "registryServer",
        ("host[:port][/path]",),
    ),
    ("local", {"localStorageClass": "Fast_SSD"}, {}, "localStorageClass", ("StorageClass name",)),
]


@pytest.mark.parametrize(
    ("stack", "settings", "secrets", "key", "fragments"),
    INVALID,
    ids=[f"{case[0]}-{case[3]}-{index}" for index, case in enumerate(INVALID)],
)
def test_invalid_value_is_refused_before_any_resource(
    run_stack: Callable[..., ProgramRun],
    stack: str,
    settings: dict[str, Any],
    secrets: dict[str, Any],
    key: str,
    fragments: tuple[str, ...],
) -> None:
    run = run_stack(stack, settings=settings, secrets=secrets)
    assert isinstance(run.error, StackConfigError), run.error
    problems = [problem for problem in run.error.problems if problem.key == key]
    assert len(problems) == 1, run.error.problems
    for fragment in fragments:
        assert fragment in problems[0].message, problems[0].message
    assert f"  - {key}: " in str(run.error)
    assert run.resources == []
    assert run.invokes == []
    assert run.outputs == {}


def test_all_problems_are_reported_at_once(tmp_path: Path) -> None:
    with pytest.raises(StackConfigError) as raised:
        load_config("oke", tmp_path, {"nodeCount": 0, "imageTag": "latest", "kafkaReplicas": 2})
    # In the order of the sections (stacks/config.py StackConfig): node pool, Kafka, ..., image.
    assert [problem.key for problem in raised.value.problems] == [
        "nodeCount",
        "kafkaReplicas",
        "imageTag",
    ]


def test_a_rejected_secret_is_never_echoed(tmp_path: Path) -> None:
    secret = "mysql://admin:hunter2-very-secret@db/x"
    with pytest.raises(StackConfigError) as raised:
        load_config("oke", tmp_path, secrets={"databaseUrl": secret})
    assert "hunter2" not in str(raised.value)


def test_a_rejected_smtp_password_is_never_echoed(tmp_path: Path) -> None:
    with pytest.raises(StackConfigError) as raised:
        load_config("aks", tmp_path, SMTP, {"alertSmtpPassword": "hunter2\nsecond-line"})
    assert "hunter2" not in str(raised.value)
    with pytest.raises(StackConfigError) as raised:
        load_config("aks", tmp_path, {**SMTP, "alertSmtpPassword": "hunter2-in-plain-text"})
    assert "hunter2" not in str(raised.value)


def test_secret_values_do_not_show_in_reprs(tmp_path: Path) -> None:
    config = load_config("oke", tmp_path, SMTP, {"alertSmtpPassword": SMTP_PASSWORD})
    assert "s3cret" not in repr(config)
    assert "s3cret" not in repr(config.database)
    assert SMTP_PASSWORD not in repr(config)
    assert SMTP_PASSWORD not in repr(config.alerts.smtp)


def test_an_unreadable_kubeconfig_is_refused(tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    broken.write_text("kind: [unclosed")
    with pytest.raises(StackConfigError) as raised:
        load_config("local", tmp_path, {"localKubeconfig": str(broken)})
    (problem,) = raised.value.problems
    assert problem.key == "localKubeconfig"
    assert "not valid YAML" in problem.message


# --- Pulumi.yaml and the committed stack files -----------------------------------------------


def test_project_file_runs_the_program_with_the_uv_venv() -> None:
    project = project_file()
    assert project["name"] == PROJECT
    assert project["runtime"] == {
        "name": "python",
        "options": {"toolchain": "uv", "virtualenv": ".venv"},
    }


PULUMI_TYPES = {"string": str, "integer": int, "boolean": bool, "array": list}


def test_every_declared_key_has_type_description_and_typed_default() -> None:
    declared = project_file()["config"]
    without_default = set()
    for key, spec in declared.items():
        assert spec["type"] in PULUMI_TYPES, key
        assert spec["description"].strip(), key
        if "default" in spec:
            assert isinstance(spec["default"], PULUMI_TYPES[spec["type"]]), key
        else:
            without_default.add(key)
        if spec["type"] == "array":
            assert spec["items"] == {"type": "string"}, key
    # A declared key without default is required on every stack: only these two are.
    assert without_default == {"provider", "imageTag"}
    assert not set(declared) & set(SECRET_KEYS), "secrets must not be declared (they are optional)"


@pytest.mark.parametrize("stack", STACKS)
def test_committed_stack_file_holds_only_declared_plain_values(stack: str) -> None:
    declared = set(project_file()["config"])
    values = stack_file(stack)["config"]
    for full_key, value in values.items():
        namespace, _, key = full_key.partition(":")
        assert namespace == PROJECT, full_key
        assert key in declared, f"{full_key} is not declared in Pulumi.yaml"
        assert key not in SECRET_KEYS, f"{full_key} is a secret: never commit it"
        assert not isinstance(value, dict), f"{full_key} holds an encrypted or structured value"
    assert values[f"{PROJECT}:provider"] == stack
    assert "secretsprovider" not in stack_file(stack)


def test_the_deploy_guide_names_every_key_and_secret() -> None:
    """docs/deploy.md's configuration reference: each key by name, or a family as `prefix*`."""
    guide = (ROOT / "docs" / "deploy.md").read_text()
    reference = guide[guide.index("## Configuration reference") :]
    named = set(re.findall(r"`([A-Za-z]+\*?)`", reference))
    prefixes = tuple(name.removesuffix("*") for name in named if name.endswith("*"))
    missing = [
        key
        for key in [*project_file()["config"], *SECRET_KEYS]
        if key not in named and not key.startswith(prefixes)
    ]
    assert missing == []


def test_the_loader_reads_exactly_the_declared_keys_and_secrets(tmp_path: Path) -> None:
    read: set[str] = set()
    for stack in STACKS:
        values, secret_keys = stack_config(stack, tmp_path)
        source = MappingSource(values, secret_keys)
        load_stack_config(source)
        read |= source.read
    assert read == set(project_file()["config"]) | set(SECRET_KEYS)


def test_the_generated_secrets_are_required_and_name_the_setup_step(tmp_path: Path) -> None:
    with pytest.raises(StackConfigError) as raised:
        load_config(
            "local",
            tmp_path,
            {"databaseOwnerPassword": None, "jwtSigningKey": None, "grafanaAdminPassword": None},
        )
    assert [str(problem) for problem in raised.value.problems] == [
        f"{key}: not set: run `python -m stacks.secrets <stack>` once to generate it as a secret"
        for key in ("databaseOwnerPassword", "grafanaAdminPassword", "jwtSigningKey")
    ]


def test_an_external_database_needs_no_owner_password(tmp_path: Path) -> None:
    config = load_config("oke", tmp_path, secrets={"databaseOwnerPassword": None})
    assert config.database.mode == "external"
    assert config.database.owner_password is None


def test_the_chart_directory_must_exist(tmp_path: Path) -> None:
    assert load_config("local", tmp_path, {"chartDirectory": str(tmp_path)}).chart_directory == (
        tmp_path.resolve()
    )
    with pytest.raises(StackConfigError, match=r"chartDirectory: .* is not a directory"):
        load_config("local", tmp_path, {"chartDirectory": str(tmp_path / "absent")})
