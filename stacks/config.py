"""The stack configuration: read once from Pulumi config, validated up front, typed and frozen.

Every key is declared (type, default, description) in ``Pulumi.yaml``; the optional secrets are
listed in :data:`SECRET_KEYS` instead, because Pulumi treats a declared key without a default
as required on every stack. :func:`load_stack_config` checks every value before the program
registers a single resource and reports all problems in one :class:`StackConfigError`, each
naming its key and what the key accepts.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal, Protocol, TypeVar

import pulumi

from infra.cloud.aks import KUBELOGIN_MODES
from infra.cloud.base import Allocatable, NodePoolSpec
from infra.cloud.kubeconfig import KubeconfigError, context_names
from infra.cloud.shapes import (
    NODE_ARCHS,
    OCI_FLEX_SHAPES,
    MachineSize,
    NodeArch,
    ShapeError,
    azure_vm_size,
    gce_machine_type,
    oci_flex_size,
)

Provider = Literal["oke", "aks", "gke", "local"]
DatabaseMode = Literal["external", "incluster"]
PROVIDERS: Final[tuple[Provider, ...]] = ("oke", "aks", "gke", "local")
DATABASE_MODES: Final[tuple[DatabaseMode, ...]] = ("external", "incluster")
AKS_SKU_TIERS: Final = ("Free", "Standard", "Premium")

# Optional secrets: never declared in Pulumi.yaml (see the module docstring), always set with
# `pulumi config set --secret <key> <value>`.
SECRET_KEYS: Final[dict[str, str]] = {
    "databaseUrl": "PostgreSQL URL (postgresql://user:password@host/db); required when "
    "databaseMode=external",
    "alertSlackWebhook": "Slack incoming-webhook URL Alertmanager posts alerts to",
    "alertSmtpPassword": "password of alertSmtpUsername at the SMTP relay (alertSmtpSmarthost)",
    "grafanaAdminPassword": "Grafana admin password (12+ characters); generated when unset",
    "notifierWebhookSecret": "HMAC-SHA256 key (32+ characters) signing the reminder webhook; "
    "required with the webhook channel",
    "notifierSmtpPassword": "password of notifierSmtpUsername at the reminder mail relay",
}

_OCI_REGION = re.compile(r"^[a-z]{2}-[a-z]+-\d$")
_AZURE_REGION = re.compile(r"^[a-z][a-z0-9]+$")
_GCP_REGION = re.compile(r"^[a-z]+-[a-z]+\d+$")
_OKE_VERSION = re.compile(r"^v?1\.(\d{2})\.\d+$")
_K8S_VERSION = re.compile(r"^1\.(\d{2})(\.\d+)?$")
_GKE_VERSION = re.compile(r"^1\.(\d{2})(\.\d+(-gke\.\d+)?)?$")
_MIN_MINOR: Final = 30
_COMPARTMENT_OCID = re.compile(r"^ocid1\.(compartment|tenancy)\.oc\d+\.[a-z0-9-]*\.[a-z0-9]+$")
_USER_OCID = re.compile(r"^ocid1\.user\.oc\d+\.[a-z0-9-]*\.[a-z0-9]+$")
_OCI_USERNAME = re.compile(r"^[A-Za-z0-9._@+-]+(/[A-Za-z0-9._@+-]+)?$")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_GCP_PROJECT = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
_DNS_NAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_IMAGE_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_REGISTRY = re.compile(r"^[a-z0-9.-]+(:\d+)?(/[a-z0-9._-]+)*$")
_DATABASE_URL = re.compile(r"^postgres(ql)?(\+asyncpg)?://\S+$")
_SLACK_WEBHOOK = re.compile(r"^https://hooks\.slack\.com/services/\S+$")
_SMARTHOST = re.compile(r"^[A-Za-z0-9.-]+:(\d{1,5})$")
_SMTP_USERNAME = re.compile(r"^\S+$")
_ONE_LINE = re.compile(r"^[^\r\n]+$")
_HTTPS_URL = re.compile(r"^https://[A-Za-z0-9.-]+(:\d+)?(/\S*)?$")
_GRAFANA_PASSWORD_MIN: Final = 12
# OCI block volumes (boot volumes and PVCs alike) are at least 50 GB.
_OCI_MIN_VOLUME_GB: Final = 50
# Block storage an Always Free OCI tenancy includes (boot and block volumes together):
# https://docs.oracle.com/iaas/Content/FreeTier/freetier_topic-Always_Free_Resources.htm
_OCI_FREE_STORAGE_GB: Final = 200

T = TypeVar("T")


@dataclass(frozen=True)
class Problem:
    key: str
    message: str

    def __str__(self) -> str:
        return f"{self.key}: {self.message}"


class StackConfigError(ValueError):
    """One or more configuration values are missing or invalid; nothing was registered."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        lines = "\n".join(f"  - {problem}" for problem in self.problems)
        super().__init__(
            "invalid stack configuration (fix with `pulumi config set <key> <value>`, "
            f"secrets with `pulumi config set --secret <key> <value>`):\n{lines}"
        )


@dataclass(frozen=True)
class SecretValue:
    """A secret config value; its text never shows in a repr, a log line or a traceback."""

    value: str = field(repr=False)

    def output(self) -> pulumi.Output[str]:
        return pulumi.Output.secret(self.value)


class ConfigSource(Protocol):
    """Where raw values come from: Pulumi config in a program, a mapping in tests."""

    def get(self, key: str) -> str | None: ...

    def is_secret(self, key: str) -> bool: ...


class PulumiConfigSource:
    """The project namespace of the running stack's Pulumi config."""

    def __init__(self) -> None:
        self._config = pulumi.Config()

    def get(self, key: str) -> str | None:
        return self._config.get(key)

    def is_secret(self, key: str) -> bool:
        return pulumi.runtime.is_config_secret(self._config.full_key(key))


@dataclass(frozen=True)
class KafkaSettings:
    replicas: int
    storage_gi: int


@dataclass(frozen=True)
class DatabaseSettings:
    mode: DatabaseMode
    url: SecretValue | None  # set exactly when mode is external
    storage_gi: int


@dataclass(frozen=True)
class IngressSettings:
    domain: str | None  # None: no TLS, the ingress answers on the load balancer's address
    tls_email: str | None


@dataclass(frozen=True)
class SmtpSettings:
    """The relay Alertmanager sends alert e-mail through."""

    smarthost: str  # host:port
    sender: str
    username: str | None  # set exactly when password is
    password: SecretValue | None


@dataclass(frozen=True)
class AlertSettings:
    email_to: str | None
    smtp: SmtpSettings | None  # set exactly when email_to is
    slack_webhook: SecretValue | None


@dataclass(frozen=True)
class NotifierConfig:
    """How reminders are delivered (services/notifier/settings.py)."""

    channels: tuple[str, ...]
    webhook_url: str | None
    webhook_secret: SecretValue | None
    smtp_host: str | None
    smtp_port: int
    smtp_from: str | None
    smtp_username: str | None
    smtp_password: SecretValue | None


@dataclass(frozen=True)
class ApiSettings:
    replicas: int
    max_replicas: int


@dataclass(frozen=True)
class OkeSettings:
    compartment_ocid: str
    user_ocid: str
    registry_username: str
    config_profile: str
    api_allowed_cidrs: tuple[str, ...]
    availability_domain: str | None
    ocpus_per_node: int
    memory_gb_per_node: int


@dataclass(frozen=True)
class AksSettings:
    admin_group_object_ids: tuple[str, ...]
    kubelogin_mode: str
    sku_tier: str


@dataclass(frozen=True)
class GkeSettings:
    project: str
    zone: str | None
    deletion_protection: bool


@dataclass(frozen=True)
class LocalSettings:
    kubeconfig_path: str
    kubeconfig: SecretValue
    context: str
    registry_server: str | None
    storage_class: str | None
    allocatable: Allocatable
    node_arch: NodeArch


@dataclass(frozen=True)
class StackConfig:
    provider: Provider
    region: str | None  # None on local
    kubernetes_version: str
    node_pool: NodePoolSpec | None  # None on local: the cluster exists already
    kafka: KafkaSettings
    database: DatabaseSettings
    ingress: IngressSettings
    alerts: AlertSettings
    api: ApiSettings
    image_tag: str
    images_build: bool  # build and push the image in the program (infra/images.py)
    # docs/runbook.md as people read it; each alert links to its own section (#anchor) in it.
    runbook_url: str
    grafana_admin_password: SecretValue | None
    # Most block storage the stack may use (boot disks + volumes); None: unchecked.
    storage_limit_gb: int | None = None
    notifier: NotifierConfig | None = None  # None only in configs built by hand (tests)
    oke: OkeSettings | None = None
    aks: AksSettings | None = None
    gke: GkeSettings | None = None
    local: LocalSettings | None = None


def _one_of(allowed: Sequence[str]) -> str:
    return "one of " + ", ".join(allowed)


class _Reader:
    """Reads raw strings, converts them and records every problem instead of stopping."""

    def __init__(self, source: ConfigSource) -> None:
        self._source = source
        self.problems: list[Problem] = []

    def fail(self, key: str, message: str) -> None:
        self.problems.append(Problem(key, message))

    def failed(self, key: str) -> bool:
        """Whether ``key`` has a problem already (a rule about its absence would repeat it)."""
        return any(problem.key == key for problem in self.problems)

    def raw(self, key: str) -> str | None:
        """The value, or None when unset or blank (Pulumi.yaml's "" defaults mean "unset")."""
        value = self._source.get(key)
        if value is None or not value.strip():
            return None
        return value.strip()

    def text(self, key: str, pattern: re.Pattern[str], expected: str) -> str | None:
        value = self.raw(key)
        if value is not None and not pattern.match(value):
            self.fail(key, f"must be {expected}, got {value!r}")
            return None
        return value

    def required_text(self, key: str, pattern: re.Pattern[str], expected: str) -> str:
        value = self.raw(key)
        if value is None:
            self.fail(key, f"required: {expected}")
            return ""
        return self.text(key, pattern, expected) or ""

    def choice(self, key: str, allowed: Sequence[T], default: T | None = None) -> T | None:
        value = self.raw(key)
        if value is None:
            if default is None:
                self.fail(key, f"required: {_one_of([str(a) for a in allowed])}")
            return default
        for option in allowed:
            if value == option:
                return option
        self.fail(key, f"must be {_one_of([str(a) for a in allowed])}; got {value!r}")
        return default

    def integer(self, key: str, low: int, high: int, default: int) -> int:
        value = self.raw(key)
        if value is None:
            return default
        try:
            number = int(value)
        except ValueError:
            number = low - 1
        if not low <= number <= high:
            self.fail(key, f"must be an integer from {low} to {high}, got {value!r}")
            return default
        return number

    def boolean(self, key: str, default: bool) -> bool:
        value = self.raw(key)
        if value is None:
            return default
        if value.lower() in ("true", "false"):
            return value.lower() == "true"
        self.fail(key, f"must be true or false, got {value!r}")
        return default

    def texts(self, key: str, valid: Callable[[str], bool], expected: str) -> tuple[str, ...]:
        value = self.raw(key)
        if value is None:
            return ()
        try:
            items = json.loads(value)
        except json.JSONDecodeError:
            items = None
        if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
            self.fail(key, f"must be a list of {expected}, got {value!r}")
            return ()
        bad = [item for item in items if not valid(item)]
        if bad:
            self.fail(key, f"every entry must be {expected}; invalid: {', '.join(bad)}")
            return ()
        return tuple(items)

    def secret(self, key: str, pattern: re.Pattern[str], expected: str) -> SecretValue | None:
        value = self.raw(key)
        if value is None:
            return None
        if not self._source.is_secret(key):
            self.fail(
                key,
                "is stored in plain text; remove it and set it with "
                f"`pulumi config set --secret {key} <value>`",
            )
            return None
        if not pattern.match(value):
            # The value itself is never echoed: it is a secret.
            self.fail(key, f"must be {expected}")
            return None
        return SecretValue(value)


def _is_cidr(value: str) -> bool:
    try:
        ipaddress.ip_network(value, strict=True)
    except ValueError:
        return False
    return True


def _kubernetes_version(reader: _Reader, provider: Provider) -> str:
    key = "kubernetesVersion"
    pattern, expected = {
        "oke": (_OKE_VERSION, "an exact OKE version like v1.33.1"),
        "gke": (_GKE_VERSION, "a GKE version prefix like 1.33 or 1.33.5-gke.1200"),
    }.get(provider, (_K8S_VERSION, "a Kubernetes version like 1.33 or 1.33.2"))
    value = reader.required_text(key, pattern, expected)
    match = pattern.match(value)
    if match is None:
        return value
    if int(match[1]) < _MIN_MINOR:
        reader.fail(key, f"must be 1.{_MIN_MINOR} or newer, got {value!r}")
    # OKE names versions with a leading "v"; accept both spellings, store OKE's.
    return "v" + value.removeprefix("v") if provider == "oke" else value


def _region(reader: _Reader, provider: Provider) -> str:
    pattern, expected = {
        "oke": (_OCI_REGION, "an OCI region identifier like eu-frankfurt-1"),
        "aks": (_AZURE_REGION, "an Azure region name like westeurope"),
        "gke": (_GCP_REGION, "a Google Cloud region like europe-west1"),
    }[provider]
    return reader.required_text("region", pattern, expected)


def _oke_machine(reader: _Reader, shape: str) -> tuple[MachineSize | None, int, int]:
    ocpus = reader.integer("nodeOcpus", 1, 128, 2)
    memory_gb = reader.integer("nodeMemoryGb", 1, 1049, 12)
    spec = OCI_FLEX_SHAPES.get(shape)
    if spec is None:
        reader.fail("nodeShape", f"must be {_one_of(list(OCI_FLEX_SHAPES))} on oke, got {shape!r}")
        return None, ocpus, memory_gb
    if not 1 <= ocpus <= spec.max_ocpus:
        reader.fail("nodeOcpus", f"{shape} takes 1 to {spec.max_ocpus} OCPUs, got {ocpus}")
        return None, ocpus, memory_gb
    memory = spec.memory_range_gb(ocpus)
    if memory_gb not in memory:
        reader.fail(
            "nodeMemoryGb",
            f"{shape} with {ocpus} OCPUs takes {memory.start} to {memory.stop - 1} GB, "
            f"got {memory_gb}",
        )
        return None, ocpus, memory_gb
    return oci_flex_size(shape, ocpus, memory_gb), ocpus, memory_gb


def _node_pool(
    reader: _Reader, provider: Provider, zones: int
) -> tuple[NodePoolSpec | None, int, int]:
    """The node pool spec, plus the OKE OCPUs and memory per node (0 elsewhere)."""
    shape = reader.required_text("nodeShape", re.compile(r"^\S+$"), "the node VM shape / size")
    count = reader.integer("nodeCount", 1, 100, 1)
    max_count = reader.integer("nodeMaxCount", 0, 1000, 0) or count
    if max_count < count:
        reader.fail("nodeMaxCount", f"must be 0 (no autoscaling) or at least nodeCount ({count})")
    if provider == "oke" and max_count != count:
        reader.fail("nodeMaxCount", "must be 0 on oke: OKE node pools here have a fixed size")
    min_disk = _OCI_MIN_VOLUME_GB if provider == "oke" else 30
    disk_gb = reader.integer("nodeDiskGb", min_disk, 2048, max(min_disk, 50))
    ocpus = memory_gb = 0
    size: MachineSize | None = None
    if provider == "oke":
        size, ocpus, memory_gb = _oke_machine(reader, shape)
    elif shape:
        try:
            size = azure_vm_size(shape) if provider == "aks" else gce_machine_type(shape)
        except ShapeError as exc:
            reader.fail("nodeShape", str(exc))
    if size is None:
        return None, ocpus, memory_gb
    return NodePoolSpec(shape, size, count * zones, max_count * zones, disk_gb), ocpus, memory_gb


def _api_allowed_cidrs(reader: _Reader) -> tuple[str, ...]:
    key = "okeApiAllowedCidrs"
    if reader.raw(key) is None:
        return ("0.0.0.0/0",)
    cidrs = reader.texts(key, _is_cidr, "CIDR blocks")
    if not cidrs and not reader.failed(key):
        reader.fail(key, "must list at least one CIDR block, or nobody can reach the API")
    return cidrs


def _oke(reader: _Reader, ocpus: int, memory_gb: int) -> OkeSettings:
    return OkeSettings(
        compartment_ocid=reader.required_text(
            "ociCompartmentOcid", _COMPARTMENT_OCID, "a compartment OCID (ocid1.compartment.oc1..…)"
        ),
        user_ocid=reader.required_text(
            "ociUserOcid", _USER_OCID, "the OCID of the user OCIR pull tokens belong to"
        ),
        registry_username=reader.required_text(
            "ociRegistryUsername",
            _OCI_USERNAME,
            "that user's login name, e.g. jdoe@example.com or Default/jdoe@example.com",
        ),
        config_profile=reader.text("ociConfigProfile", re.compile(r"^\S+$"), "a profile name")
        or "DEFAULT",
        api_allowed_cidrs=_api_allowed_cidrs(reader),
        availability_domain=reader.raw("okeAvailabilityDomain"),
        ocpus_per_node=ocpus,
        memory_gb_per_node=memory_gb,
    )


def _aks(reader: _Reader) -> AksSettings:
    return AksSettings(
        admin_group_object_ids=reader.texts(
            "aksAdminGroupObjectIds",
            lambda item: bool(_GUID.match(item)),
            "Azure AD group object IDs",
        ),
        kubelogin_mode=reader.choice("aksKubeloginMode", KUBELOGIN_MODES, "azurecli") or "azurecli",
        sku_tier=reader.choice("aksSkuTier", AKS_SKU_TIERS, "Free") or "Free",
    )


def _gke(reader: _Reader, region: str) -> GkeSettings:
    zone = reader.text(
        "gkeZone",
        re.compile(rf"^{re.escape(region)}-[a-z]$"),
        f"a zone of {region}, e.g. {region}-b",
    )
    return GkeSettings(
        project=reader.required_text("gcpProject", _GCP_PROJECT, "a Google Cloud project ID"),
        zone=zone,
        deletion_protection=reader.boolean("gkeDeletionProtection", False),
    )


def _default_kubeconfig_path() -> str:
    paths = os.environ.get("KUBECONFIG", "").split(os.pathsep)
    return paths[0] if paths[0] else str(Path.home() / ".kube" / "config")


def _local(reader: _Reader) -> LocalSettings:
    path = reader.raw("localKubeconfig") or _default_kubeconfig_path()
    context = reader.required_text(
        "localContext", re.compile(r"^\S+$"), "a kubeconfig context name"
    )
    kubeconfig = ""
    try:
        kubeconfig = Path(path).expanduser().read_text()
        contexts = context_names(kubeconfig)
        if context and context not in contexts:
            reader.fail(
                "localContext", f"{context!r} is not in {path}; {_one_of(contexts or ['(none)'])}"
            )
    except OSError as exc:
        reader.fail("localKubeconfig", f"cannot read {path}: {exc.strerror}; set a kubeconfig path")
    except KubeconfigError as exc:
        reader.fail("localKubeconfig", f"{path} is {exc}")
    return LocalSettings(
        kubeconfig_path=path,
        kubeconfig=SecretValue(kubeconfig),
        context=context,
        registry_server=reader.text(
            "registryServer", _REGISTRY, "a registry host[:port][/path], e.g. localhost:5001"
        ),
        storage_class=reader.text("localStorageClass", _DNS_LABEL, "a StorageClass name"),
        allocatable=Allocatable(
            reader.integer("localCpuMillicores", 500, 1_000_000, 4000),
            reader.integer("localMemoryMib", 512, 4_194_304, 8192),
        ),
        node_arch=reader.choice("localNodeArch", NODE_ARCHS, "amd64") or "amd64",
    )


def _database(reader: _Reader, min_volume_gi: int) -> DatabaseSettings:
    mode = reader.choice("databaseMode", DATABASE_MODES, "incluster") or "incluster"
    url = reader.secret("databaseUrl", _DATABASE_URL, "a postgresql:// URL")
    if mode == "external" and url is None and not reader.failed("databaseUrl"):
        reader.fail(
            "databaseUrl",
            "required when databaseMode=external: "
            "`pulumi config set --secret databaseUrl postgresql://user:password@host/db`",
        )
    return DatabaseSettings(
        mode=mode,
        url=url if mode == "external" else None,
        # Only the in-cluster database has a volume, so only then does the volume minimum apply.
        storage_gi=reader.integer(
            "databaseStorageGi", min_volume_gi if mode == "incluster" else 1, 16384, 10
        ),
    )


def _ingress(reader: _Reader) -> IngressSettings:
    domain = reader.text("domain", _DNS_NAME, "a DNS name like todo.example.com (lower case)")
    tls_email = reader.text("tlsEmail", _EMAIL, "an e-mail address for Let's Encrypt")
    if domain and not tls_email and not reader.failed("tlsEmail"):
        reader.fail("tlsEmail", "required when domain is set: the Let's Encrypt account e-mail")
    return IngressSettings(domain=domain, tls_email=tls_email if domain else None)


def _require_with(reader: _Reader, key: str, value: object, because: str, how: str) -> None:
    """``key`` must be set since ``because`` is; one problem per key, never a repeated one."""
    if value is None and not reader.failed(key):
        reader.fail(key, f"required when {because} is set: {how}")


def _smtp(reader: _Reader, email_to: str | None) -> SmtpSettings | None:
    """The SMTP relay: every key checked whenever it is set, used only with ``alertEmailTo``."""
    smarthost = reader.text(
        "alertSmtpSmarthost", _SMARTHOST, "host:port of the SMTP relay, e.g. smtp.example.com:587"
    )
    port = _SMARTHOST.match(smarthost or "")
    if smarthost is not None and port is not None and not 1 <= int(port[1]) <= 65535:
        reader.fail("alertSmtpSmarthost", f"port must be from 1 to 65535, got {smarthost!r}")
        smarthost = None
    sender = reader.text(
        "alertSmtpFrom", _EMAIL, "the sender's e-mail address, e.g. alerts@example.com"
    )
    username = reader.text("alertSmtpUsername", _SMTP_USERNAME, "a login name without spaces")
    password = reader.secret("alertSmtpPassword", _ONE_LINE, "a single line")
    # Alertmanager authenticates with both or sends unauthenticated: half a login is a mistake.
    if username is not None:
        _require_with(
            reader,
            "alertSmtpPassword",
            password,
            "alertSmtpUsername",
            "`pulumi config set --secret alertSmtpPassword <password>`",
        )
    if password is not None:
        _require_with(
            reader, "alertSmtpUsername", username, "alertSmtpPassword", "the relay's login name"
        )
    if email_to is None:
        return None
    _require_with(reader, "alertSmtpSmarthost", smarthost, "alertEmailTo", "the relay's host:port")
    _require_with(reader, "alertSmtpFrom", sender, "alertEmailTo", "the sender's e-mail address")
    if smarthost is None or sender is None:
        return None
    return SmtpSettings(smarthost, sender, username, password)


_NOTIFIER_CHANNELS: Final = ("webhook", "email", "log")
_HOSTNAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9.]{0,251}[A-Za-z0-9])?$")


def _notifier(reader: _Reader) -> NotifierConfig:
    """The reminder channels; each channel's settings are required when it is named."""
    raw = reader.raw("notifierChannels") or "log"
    channels = tuple(dict.fromkeys(part.strip().lower() for part in raw.split(",") if part.strip()))
    if not channels or any(name not in _NOTIFIER_CHANNELS for name in channels):
        reader.fail("notifierChannels", f"must be a comma list of {_one_of(_NOTIFIER_CHANNELS)}")
        channels = ("log",)
    config = NotifierConfig(
        channels=channels,
        webhook_url=reader.text("notifierWebhookUrl", _HTTPS_URL, "an https:// URL"),
        webhook_secret=reader.secret(
            "notifierWebhookSecret",
            re.compile(r"^\S{32,}$"),
            "at least 32 characters without spaces",
        ),
        smtp_host=reader.text("notifierSmtpHost", _HOSTNAME, "the mail relay's host name"),
        smtp_port=reader.integer("notifierSmtpPort", 1, 65535, 587),
        smtp_from=reader.text("notifierSmtpFrom", _EMAIL, "the sender's e-mail address"),
        smtp_username=reader.text(
            "notifierSmtpUsername", _SMTP_USERNAME, "a login name without spaces"
        ),
        smtp_password=reader.secret("notifierSmtpPassword", _ONE_LINE, "a single line"),
    )
    needs = {
        "webhook": (
            ("notifierWebhookUrl", config.webhook_url, "the https URL reminders are POSTed to"),
            (
                "notifierWebhookSecret",
                config.webhook_secret,
                "`pulumi config set --secret notifierWebhookSecret <32+ characters>`",
            ),
        ),
        "email": (
            ("notifierSmtpHost", config.smtp_host, "the mail relay's host name"),
            ("notifierSmtpFrom", config.smtp_from, "the sender's e-mail address"),
        ),
    }
    for channel in channels:
        for key, value, hint in needs.get(channel, ()):
            if value is None and not reader.failed(key):
                reader.fail(key, f"required with the {channel} channel (notifierChannels): {hint}")
    if (config.smtp_username is None) != (config.smtp_password is None):
        reader.fail(
            "notifierSmtpUsername",
            "notifierSmtpUsername and the secret notifierSmtpPassword go together (or neither)",
        )
    return config


def _alerts(reader: _Reader) -> AlertSettings:
    email_to = reader.text("alertEmailTo", _EMAIL, "an e-mail address")
    return AlertSettings(
        email_to=email_to,
        smtp=_smtp(reader, email_to),
        slack_webhook=reader.secret(
            "alertSlackWebhook", _SLACK_WEBHOOK, "a https://hooks.slack.com/services/… URL"
        ),
    )


def _runbook_url(reader: _Reader) -> str:
    """An https URL of the runbook file; each alert appends ``#<its section>`` itself."""
    key = "runbookUrl"
    expected = (
        "the https URL of docs/runbook.md as people read it, "
        "e.g. https://github.com/ORG/REPO/blob/main/docs/runbook.md"
    )
    value = reader.raw(key)
    if value is None:
        reader.fail(key, f"required: {expected}")
        return ""
    if not value.startswith("https://") or not urllib.parse.urlsplit(value).netloc:
        reason = "must be an https:// URL"
    elif "#" in value:
        reason = "must not carry an anchor (every alert appends #<its section>)"
    elif "?" in value or any(char.isspace() for char in value):
        reason = "must have no query string and no spaces"
    elif not value.endswith(".md"):
        reason = "must point at the runbook file itself (ending in .md)"
    else:
        return value
    reader.fail(key, f"{reason}, got {value!r}: {expected}")
    return value


def _kafka(reader: _Reader, min_volume_gi: int) -> KafkaSettings:
    replicas = reader.integer("kafkaReplicas", 1, 9, 1)
    if replicas == 2:
        reader.fail(
            "kafkaReplicas", "must be 1 or 3 to 9: two KRaft controllers cannot survive a loss"
        )
    return KafkaSettings(
        replicas=replicas,
        storage_gi=reader.integer("kafkaStorageGi", min_volume_gi, 16384, max(min_volume_gi, 20)),
    )


def _images_push_target(reader: _Reader, config: StackConfig) -> None:
    """A program-built image is pushed: on local that needs a registry of the deployer's own."""
    key = "registryServer"
    local = config.local
    if config.images_build and local and local.registry_server is None and not reader.failed(key):
        reader.fail(
            key,
            "required on local when imagesBuild is true: the registry the program pushes the "
            "image to and the cluster pulls from, e.g. localhost:5001",
        )


def _storage_limit(reader: _Reader, provider: Provider) -> int | None:
    limit = reader.integer("storageLimitGb", 0, 1_000_000, 0)
    if limit:
        return limit
    return _OCI_FREE_STORAGE_GB if provider == "oke" else None


def load_stack_config(source: ConfigSource) -> StackConfig:
    """Read and validate the whole stack configuration, or raise one :class:`StackConfigError`."""
    reader = _Reader(source)
    provider = reader.choice("provider", PROVIDERS)
    if provider is None:
        raise StackConfigError(reader.problems)
    cloud = provider != "local"
    min_volume = _OCI_MIN_VOLUME_GB if provider == "oke" else 1
    region = _region(reader, provider) if cloud else None
    kubernetes_version = _kubernetes_version(reader, provider)
    gke = _gke(reader, region or "") if provider == "gke" else None
    zones = 3 if gke is not None and gke.zone is None else 1
    node_pool, ocpus, memory_gb = _node_pool(reader, provider, zones) if cloud else (None, 0, 0)
    api_replicas = reader.integer("apiReplicas", 1, 50, 2)
    image_tag = reader.required_text(
        "imageTag", _IMAGE_TAG, "an image tag such as 0.1.0 or a commit SHA (never latest)"
    )
    if image_tag == "latest":
        reader.fail("imageTag", "must name an immutable build (0.1.0, a commit SHA), not 'latest'")
    config = StackConfig(
        provider=provider,
        region=region,
        kubernetes_version=kubernetes_version,
        node_pool=node_pool,
        kafka=_kafka(reader, min_volume),
        database=_database(reader, min_volume),
        ingress=_ingress(reader),
        alerts=_alerts(reader),
        api=ApiSettings(
            replicas=api_replicas,
            max_replicas=reader.integer("apiMaxReplicas", api_replicas, 100, max(api_replicas, 5)),
        ),
        image_tag=image_tag,
        images_build=reader.boolean("imagesBuild", False),
        runbook_url=_runbook_url(reader),
        grafana_admin_password=reader.secret(
            "grafanaAdminPassword",
            re.compile(rf"^.{{{_GRAFANA_PASSWORD_MIN},}}$"),
            f"at least {_GRAFANA_PASSWORD_MIN} characters",
        ),
        storage_limit_gb=_storage_limit(reader, provider),
        notifier=_notifier(reader),
        oke=_oke(reader, ocpus, memory_gb) if provider == "oke" else None,
        aks=_aks(reader) if provider == "aks" else None,
        gke=gke,
        local=_local(reader) if provider == "local" else None,
    )
    _images_push_target(reader, config)
    if reader.problems:
        raise StackConfigError(reader.problems)
    return config


def required(value: T | None, what: str) -> T:
    """``value``, which the validated config guarantees for this provider."""
    if value is None:
        raise AssertionError(f"validated stack config lacks {what}")
    return value
