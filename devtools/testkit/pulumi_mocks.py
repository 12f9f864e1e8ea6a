"""Run the Pulumi program of a committed stack under ``pulumi.runtime.set_mocks``: no CLI, no cloud.

Each :func:`evaluate` call runs in a thread of its own with a new event loop and an empty
``contextvars`` context, so the SDK's global settings, root stack, config and pending tasks of
one run can never leak into the next (the usual trap of ``set_mocks`` under pytest: a second
program registering into the first one's stack, or futures bound to a closed loop).

Config is built the way the CLI builds it: the defaults declared in ``Pulumi.yaml``, then the
committed ``Pulumi.<stack>.yaml``, then what a deployer sets per the docs (:func:`deployer_inputs`),
then the test's overrides. ``preview=True`` behaves like the first ``pulumi preview`` of a fresh
stack: resources return no computed outputs and no ids, so everything derived from the cluster
(kubeconfig, endpoints) is unknown.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import pulumi
import yaml
from pulumi.output import Unknown
from pulumi.runtime import rpc, settings
from pulumi.runtime.mocks import MockCallArgs, MockMonitor, MockResourceArgs
from pulumi.runtime.stack import run_pulumi_func

if TYPE_CHECKING:
    from stacks.config import StackConfig

ROOT: Final = Path(__file__).resolve().parents[2]
PROJECT: Final = "todo-platform"
STACKS: Final = ("oke", "aks", "gke", "local")

OutputMaker = Callable[[MockResourceArgs], dict[str, Any]]
CallMaker = Callable[[MockCallArgs], dict[str, Any]]
Program = Callable[[], None]


# --- config as the CLI passes it -------------------------------------------------------------


def _config_text(value: Any) -> str:
    """A YAML config value as the CLI hands it to the program (PULUMI_CONFIG holds strings)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value)
    return str(value)


def project_file() -> dict[str, Any]:
    return dict(yaml.safe_load((ROOT / "Pulumi.yaml").read_text()))


def project_defaults() -> dict[str, str]:
    declared = project_file().get("config") or {}
    return {
        key: _config_text(spec["default"])
        for key, spec in declared.items()
        if isinstance(spec, dict) and "default" in spec
    }


def stack_file(stack: str) -> dict[str, Any]:
    return dict(yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text()))


def stack_values(stack: str) -> dict[str, str]:
    """The project-namespace values of ``Pulumi.<stack>.yaml``, keys without the namespace."""
    values: dict[str, str] = {}
    for full_key, value in (stack_file(stack).get("config") or {}).items():
        namespace, _, key = str(full_key).partition(":")
        if namespace != PROJECT:
            raise AssertionError(f"Pulumi.{stack}.yaml sets {full_key}: only {PROJECT}:* is read")
        if isinstance(value, dict) and "secure" in value:
            raise AssertionError(f"Pulumi.{stack}.yaml holds an encrypted value for {key}")
        values[key] = _config_text(value)
    return values


KUBECONFIG_LOCAL: Final = """\
apiVersion: v1
kind: Config
clusters:
- name: kind-todo
  cluster: {server: "https://127.0.0.1:6443", certificate-authority-data: TU9DSyBDQQ==}
contexts:
- name: kind-todo
  context: {cluster: kind-todo, user: kind-todo}
current-context: kind-todo
users:
- name: kind-todo
  user: {client-certificate-data: TU9DSyBDRVJU, client-key-data: TU9DSyBLRVk=}
"""


@dataclass(frozen=True)
class DeployerInputs:
    """What docs/deploy.md tells a deployer to set on top of the committed stack file."""

    settings: dict[str, str]
    secrets: dict[str, str]


# What `python -m stacks.secrets` puts into every stack's config (fixed here, random there).
GENERATED_SECRETS: Final = {
    "databaseOwnerPassword": "D" * 32,
    "jwtSigningKey": "J" * 64,
    "grafanaAdminPassword": "G" * 24,
}


def deployer_inputs(stack: str, workdir: Path) -> DeployerInputs:
    """Per-deployer values: account identifiers and secrets (never committed)."""
    if stack == "oke":
        return DeployerInputs(
            {
                "ociCompartmentOcid": "ocid1.compartment.oc1..aaaamockcompartment",
                "ociUserOcid": "ocid1.user.oc1..aaaamockuser",
                "ociRegistryUsername": "deployer@example.com",
            },
            {
                **GENERATED_SECRETS,
                "databaseUrl": "postgresql+asyncpg://todo:s3cret-db-pass@db.example.com/todo",
            },
        )
    if stack == "gke":
        return DeployerInputs({"gcpProject": "todo-mock-project"}, GENERATED_SECRETS)
    if stack == "local":
        kubeconfig = workdir / "kubeconfig"
        kubeconfig.write_text(KUBECONFIG_LOCAL)
        return DeployerInputs({"localKubeconfig": str(kubeconfig)}, GENERATED_SECRETS)
    return DeployerInputs({}, GENERATED_SECRETS)


def stack_config(
    stack: str,
    workdir: Path,
    settings: Mapping[str, Any] | None = None,
    secrets: Mapping[str, str | None] | None = None,
) -> tuple[dict[str, str], set[str]]:
    """The full config map (short keys) and which keys are secrets, as the CLI would pass them.

    An override of ``None`` removes the key, as `pulumi config rm` would; a key given in
    ``settings`` is plain text even where the deployer would have set it as a secret.
    """
    deployer = deployer_inputs(stack, workdir)
    config = {**project_defaults(), **stack_values(stack), **deployer.settings, **deployer.secrets}
    secret_keys = set(deployer.secrets) - set(settings or {})
    for key, value in {**(settings or {}), **(secrets or {})}.items():
        if value is None:
            config.pop(key, None)
            secret_keys.discard(key)
        else:
            config[key] = _config_text(value)
            if key in (secrets or {}):
                secret_keys.add(key)
    return config, secret_keys


class MappingSource:
    """A ``stacks.config.ConfigSource`` over a plain mapping, recording the keys asked for."""

    def __init__(self, values: Mapping[str, str], secret_keys: set[str]) -> None:
        self._values = values
        self._secret_keys = secret_keys
        self.read: set[str] = set()

    def get(self, key: str) -> str | None:
        self.read.add(key)
        return self._values.get(key)

    def is_secret(self, key: str) -> bool:
        return key in self._secret_keys


def load_config(
    stack: str,
    workdir: Path,
    settings: Mapping[str, Any] | None = None,
    secrets: Mapping[str, str | None] | None = None,
) -> StackConfig:
    """The validated config of ``stack`` as the program would load it, without running it."""
    from stacks.config import load_stack_config

    return load_stack_config(MappingSource(*stack_config(stack, workdir, settings, secrets)))


# --- what a run records ----------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """Inputs with secret wrappers removed (secretness is recorded separately)."""
    if rpc.is_rpc_secret(value):
        return _plain(value["value"])
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


@dataclass
class RecordedResource:
    type: str
    name: str
    urn: str
    parent: str
    custom: bool
    provider: str
    dependencies: list[str]
    inputs: dict[str, Any]
    secret_inputs: set[str]  # top-level input names passed as secrets
    state: dict[str, Any] = field(default_factory=dict)

    def input(self, path: str) -> Any:
        """A nested input by dotted path, e.g. ``nodeShapeConfig.ocpus``."""
        value: Any = self.inputs
        for part in path.split("."):
            value = value[int(part)] if isinstance(value, list) else value[part]
        return value


@dataclass(frozen=True)
class RecordedInvoke:
    token: str
    args: dict[str, Any]


@dataclass(frozen=True)
class ResolvedOutput:
    value: Any
    secret: bool
    known: bool


@dataclass
class ProgramRun:
    stack: str
    preview: bool
    resources: list[RecordedResource] = field(default_factory=list)
    invokes: list[RecordedInvoke] = field(default_factory=list)
    completed: set[str] = field(default_factory=set)  # URNs that called register_outputs
    outputs: dict[str, ResolvedOutput] = field(default_factory=dict)
    error: BaseException | None = None
    loose_errors: list[dict[str, Any]] = field(default_factory=list)  # unawaited task failures

    def ok(self) -> ProgramRun:
        if self.error is not None:
            raise AssertionError(f"the {self.stack} program failed") from self.error
        return self

    def types(self) -> Counter[str]:
        return Counter(resource.type for resource in self.resources)

    def of_type(self, type_: str) -> list[RecordedResource]:
        return [resource for resource in self.resources if resource.type == type_]

    def one(self, type_: str) -> RecordedResource:
        found = self.of_type(type_)
        if len(found) != 1:
            raise AssertionError(f"expected one {type_}, found {len(found)}")
        return found[0]

    def by_urn(self, urn: str) -> RecordedResource:
        return next(resource for resource in self.resources if resource.urn == urn)

    def ancestors(self, resource: RecordedResource) -> Iterator[RecordedResource]:
        urns = {r.urn for r in self.resources}
        while resource.parent in urns:
            resource = self.by_urn(resource.parent)
            yield resource

    def components(self) -> list[RecordedResource]:
        """The program's own components; a provider-implemented one (yaml/v2 ConfigGroup)
        completes in the provider, which the mocks do not run."""
        return [r for r in self.resources if not r.custom and not r.type.startswith("kubernetes:")]


# --- mocks -----------------------------------------------------------------------------------


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


MOCK_SUBSCRIPTION: Final = "00000000-0000-0000-0000-0000000000aa"
MOCK_KUBELET_OBJECT_ID: Final = "00000000-0000-0000-0000-0000000000bb"
MOCK_OCIR_TOKEN: Final = "mock-ocir-auth-token"
MOCK_OCI_NAMESPACE: Final = "frmockns"
OCI_ALL_SERVICES_CIDR: Final = "all-fra-services-in-oracle-services-network"


def _kubeconfig(name: str, user: dict[str, Any]) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": name, "cluster": {"server": "https://203.0.113.10:6443"}}],
            "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
            "current-context": name,
            "users": [{"name": name, "user": user}],
        }
    )


def _autoname(args: MockResourceArgs) -> str:
    return f"{args.name}-mock"


LOAD_BALANCER_ADDRESS: Final = "203.0.113.7"


PROVIDER_OUTPUTS: Final[dict[str, OutputMaker]] = {
    # What the Ingress await returns once the controller has published an address.
    "kubernetes:networking.k8s.io/v1:Ingress": lambda a: {
        "status": {"loadBalancer": {"ingress": [{"ip": LOAD_BALANCER_ADDRESS}]}}
    },
    "oci:ContainerEngine/cluster:Cluster": lambda a: {
        "endpoints": [{"publicEndpoint": "203.0.113.10:6443", "kubernetes": ""}]
    },
    "oci:Identity/authToken:AuthToken": lambda a: {"token": MOCK_OCIR_TOKEN},
    "azure-native:resources:ResourceGroup": lambda a: {
        "name": a.inputs.get("resourceGroupName", _autoname(a))
    },
    "azure-native:containerservice:ManagedCluster": lambda a: {
        "name": a.inputs.get("resourceName", _autoname(a)),
        "fqdn": "todo-aks.hcp.westeurope.azmk8s.io",
        "identityProfile": {
            "kubeletidentity": {
                "objectId": MOCK_KUBELET_OBJECT_ID,
                "clientId": "00000000-0000-0000-0000-0000000000cc",
                "resourceId": "/subscriptions/x/resourceGroups/y/providers/"
                "Microsoft.ManagedIdentity/userAssignedIdentities/kubelet",
            }
        },
        "oidcIssuerProfile": {"enabled": True, "issuerUrl": "https://oidc.example/issuer/"},
    },
    "azure-native:containerregistry:Registry": lambda a: {
        "name": a.inputs["registryName"],
        "loginServer": f"{a.inputs['registryName']}.azurecr.io",
    },
    "gcp:container/cluster:Cluster": lambda a: {
        "endpoint": "203.0.113.20",
        "masterAuth": {
            "clusterCaCertificate": b64("MOCK GKE CA"),
            "clientCertificateConfig": {"issueClientCertificate": False},
        },
    },
    "gcp:serviceaccount/account:Account": lambda a: {
        "email": f"{a.inputs['accountId']}@{a.inputs['project']}.iam.gserviceaccount.com"
    },
    "gcp:artifactregistry/repository:Repository": lambda a: {"name": a.inputs["repositoryId"]},
}


def _oke_sources() -> list[dict[str, str]]:
    def image(name: str) -> dict[str, str]:
        return {"sourceType": "IMAGE", "sourceName": name, "imageId": f"ocid1.image.oc1..{name}"}

    return [
        image("Oracle-Linux-8.10-aarch64-2025.05.01-0-OKE-1.33.1-800"),
        image("Oracle-Linux-8.10-aarch64-2025.06.17-0-OKE-1.33.1-812"),
        image("Oracle-Linux-8.10-Gen2-GPU-2025.06.17-0-OKE-1.33.1-812"),
        image("Oracle-Linux-8.10-2025.06.17-0-OKE-1.33.1-812"),
        image("Oracle-Linux-8.10-aarch64-2025.06.17-0-OKE-1.32.1-811"),
    ]


CLOUD_CALLS: Final[dict[str, CallMaker]] = {
    "oci:Core/getServices:getServices": lambda a: {
        "id": "services",
        "services": [
            {
                "cidrBlock": "oci-fra-objectstorage",
                "description": "OCI FRA Object Storage",
                "id": "ocid1.service.oc1.eu-frankfurt-1.objectstorage",
                "name": "OCI FRA Object Storage",
            },
            {
                "cidrBlock": OCI_ALL_SERVICES_CIDR,
                "description": "All FRA Services In Oracle Services Network",
                "id": "ocid1.service.oc1.eu-frankfurt-1.all",
                "name": "All FRA Services In Oracle Services Network",
            },
        ],
    },
    "oci:ObjectStorage/getNamespace:getNamespace": lambda a: {
        "id": "ns",
        "namespace": MOCK_OCI_NAMESPACE,
    },
    "oci:Identity/getAvailabilityDomains:getAvailabilityDomains": lambda a: {
        "id": "ads",
        "compartmentId": a.args.get("compartmentId", ""),
        "availabilityDomains": [
            {"compartmentId": "c", "id": "ad1", "name": "Uocm:EU-FRANKFURT-1-AD-1"},
            {"compartmentId": "c", "id": "ad2", "name": "Uocm:EU-FRANKFURT-1-AD-2"},
        ],
    },
    "oci:ContainerEngine/getNodePoolOption:getNodePoolOption": lambda a: {
        "id": "all",
        "nodePoolOptionId": "all",
        "sources": _oke_sources(),
        "images": [],
        "kubernetesVersions": ["v1.32.1", "v1.33.1"],
        "shapes": ["VM.Standard.A1.Flex", "VM.Standard.E4.Flex"],
    },
    "oci:ContainerEngine/getClusterKubeConfig:getClusterKubeConfig": lambda a: {
        "id": "kubeconfig",
        "clusterId": a.args["clusterId"],
        "content": _kubeconfig(
            "oke",
            {
                "exec": {
                    "apiVersion": "client.authentication.k8s.io/v1beta1",
                    "command": "oci",
                    "args": [
                        "ce",
                        "cluster",
                        "generate-token",
                        "--cluster-id",
                        a.args["clusterId"],
                    ],
                }
            },
        ),
    },
    "azure-native:authorization:getClientConfig": lambda a: {
        "clientId": "00000000-0000-0000-0000-0000000000dd",
        "objectId": "00000000-0000-0000-0000-0000000000ee",
        "subscriptionId": MOCK_SUBSCRIPTION,
        "tenantId": "00000000-0000-0000-0000-0000000000ff",
    },
    "azure-native:containerservice:listManagedClusterAdminCredentials": lambda a: {
        "kubeconfigs": [
            {
                "name": "clusterAdmin",
                "value": b64(_kubeconfig("aks-admin", {"client-certificate-data": b64("CERT")})),
            }
        ]
    },
    "azure-native:containerservice:listManagedClusterUserCredentials": lambda a: {
        "kubeconfigs": [
            {
                "name": "clusterUser",
                "value": b64(
                    _kubeconfig(
                        "aks-user",
                        {
                            "exec": {
                                "apiVersion": "client.authentication.k8s.io/v1beta1",
                                "command": "kubelogin",
                                "args": ["get-token", "--login", "devicecode", "--server-id", "x"],
                            }
                        },
                    )
                ),
            }
        ]
    },
}


def _kubernetes_state(args: MockResourceArgs) -> dict[str, Any]:
    """The Kubernetes provider names an object after its resource when metadata.name is unset."""
    metadata = args.inputs.get("metadata")
    if isinstance(metadata, dict) and not metadata.get("name"):
        return {"metadata": {**metadata, "name": _autoname(args)}}
    return {}


class RecordingMocks(pulumi.runtime.Mocks):
    """Answers registrations and invokes like providers would, recording every invoke."""

    def __init__(
        self,
        run: ProgramRun,
        extra_outputs: Mapping[str, OutputMaker],
        extra_calls: Mapping[str, CallMaker],
    ) -> None:
        self._run = run
        self._outputs = {**PROVIDER_OUTPUTS, **extra_outputs}
        self._calls = {**CLOUD_CALLS, **extra_calls}

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        state = dict(args.inputs)
        if args.typ.startswith("kubernetes:"):
            state.update(_kubernetes_state(args))
        if self._run.preview:
            # A create in preview: computed outputs and the id are unknown.
            return "", state
        maker = self._outputs.get(args.typ)
        if maker is not None:
            state.update(maker(args))
        return f"{args.name}-id", state

    def call(self, args: MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        self._run.invokes.append(RecordedInvoke(args.token, dict(args.args)))
        maker = self._calls.get(args.token)
        if maker is None:
            raise NotImplementedError(f"no mock for invoke {args.token}")
        return maker(args), []


class RecordingMonitor(MockMonitor):
    """The SDK's mock monitor, also recording parent, provider, dependencies and outputs.

    The SDK calls the monitor from executor threads and lets each create an event loop it never
    closes; left to the garbage collector those loops fail in ``__del__``. Here every such loop
    is created by the monitor itself and closed by :meth:`close_loops` after the run.
    """

    def __init__(self, mocks: RecordingMocks, run: ProgramRun) -> None:
        super().__init__(mocks)
        self._run = run
        self._thread = threading.local()
        self._loops: list[asyncio.AbstractEventLoop] = []
        self._lock = threading.Lock()

    def _ensure_thread_loop(self) -> None:
        if getattr(self._thread, "loop", None) is None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            self._thread.loop = loop
            with self._lock:
                self._loops.append(loop)

    def close_loops(self) -> None:
        with self._lock:
            loops, self._loops = self._loops, []
        for loop in loops:
            loop.close()

    def Invoke(self, request: Any) -> Any:
        self._ensure_thread_loop()
        return super().Invoke(request)

    def ReadResource(self, request: Any) -> Any:
        self._ensure_thread_loop()
        return super().ReadResource(request)

    def RegisterResource(self, request: Any) -> Any:
        self._ensure_thread_loop()
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            inputs = rpc.deserialize_properties(request.object)
            self._run.resources.append(
                RecordedResource(
                    type=request.type,
                    name=request.name,
                    urn=response.urn,
                    parent=request.parent,
                    custom=request.custom,
                    provider=request.provider,
                    dependencies=list(request.dependencies),
                    inputs=_plain(inputs),
                    secret_inputs={key for key, v in inputs.items() if rpc.is_rpc_secret(v)},
                    state=_plain(self.resources[response.urn].state),
                )
            )
        return response

    def RegisterResourceOutputs(self, request: Any) -> Any:
        self._run.completed.add(request.urn)
        return super().RegisterResourceOutputs(request)


# --- running a program -----------------------------------------------------------------------


async def _resolve(value: Any) -> ResolvedOutput:
    output = pulumi.Output.from_input(value)
    known = await output.is_known()
    secret = await output.is_secret()
    resolved = await output.future(with_unknowns=True)
    return ResolvedOutput(None if isinstance(resolved, Unknown) else resolved, secret, known)


def _run_in_fresh_loop(
    run: ProgramRun,
    program: Program,
    config: Mapping[str, str],
    secret_keys: set[str],
    extra_outputs: Mapping[str, OutputMaker],
    extra_calls: Mapping[str, CallMaker],
) -> None:
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    # A failed program leaves futures whose errors nobody awaits; they are the same error as
    # ``run.error`` and would otherwise be logged again when collected.
    loop.set_exception_handler(lambda _loop, context: run.loose_errors.append(context))
    # The SDK's settings are context variables, but the first value ever assigned to one becomes
    # the default of every context: the set of pending output tasks would be shared by all runs
    # and a failed run would leave tasks bound to its closed loop in the next run's way.
    settings.SETTINGS.outputs = set()
    settings.SETTINGS.lock = threading.Lock()
    settings.SETTINGS.package_refs = {}
    settings.SETTINGS.base_providers_by_ref = {}
    mocks = RecordingMocks(run, extra_outputs, extra_calls)
    monitor = RecordingMonitor(mocks, run)
    try:
        pulumi.runtime.set_mocks(
            mocks, project=PROJECT, stack=run.stack, preview=run.preview, monitor=monitor
        )
        pulumi.runtime.set_all_config(
            {f"{PROJECT}:{key}": value for key, value in config.items()},
            [f"{PROJECT}:{key}" for key in secret_keys],
        )
        try:
            loop.run_until_complete(run_pulumi_func(program))
        except Exception as exc:
            run.error = exc
            return
        stack = pulumi.runtime.get_root_resource()
        outputs: dict[str, Any] = getattr(stack, "outputs", {})
        for name, value in outputs.items():
            run.outputs[name] = loop.run_until_complete(_resolve(value))
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.run_until_complete(loop.shutdown_default_executor())
        monitor.close_loops()
        asyncio.set_event_loop(None)
        loop.close()


# The pinned chart archives beside the repository (../shared/charts, see its README); the
# program reads the CRDs it applies from them (infra/platform/crds.py) instead of downloading.
CHARTS_DIR: Final = Path(
    os.environ.get("TODO_CHARTS_DIR", Path(__file__).resolve().parents[3] / "shared" / "charts")
)


@contextlib.contextmanager
def pinned_chart_cache() -> Iterator[None]:
    """The program's chart cache pointed at :data:`CHARTS_DIR` while a run lasts."""
    before = os.environ.get("TODO_CHART_CACHE")
    os.environ["TODO_CHART_CACHE"] = str(CHARTS_DIR)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("TODO_CHART_CACHE", None)
        else:
            os.environ["TODO_CHART_CACHE"] = before


def evaluate(
    stack: str,
    workdir: Path,
    *,
    preview: bool,
    program: Program | None = None,
    settings: Mapping[str, Any] | None = None,
    secrets: Mapping[str, str] | None = None,
    extra_outputs: Mapping[str, OutputMaker] | None = None,
    extra_calls: Mapping[str, CallMaker] | None = None,
) -> ProgramRun:
    """Run ``program`` (default: the project's) for ``stack`` and return what it registered.

    A failure of the program is returned in ``ProgramRun.error`` (use ``.ok()`` to demand
    success), together with whatever was registered before it.
    """
    if program is None:
        from stacks.program import program as project_program

        program = project_program
    config, secret_keys = stack_config(stack, workdir, settings, secrets)
    run = ProgramRun(stack=stack, preview=preview)
    crash: list[BaseException] = []

    def target() -> None:
        try:
            _run_in_fresh_loop(
                run, program, config, secret_keys, extra_outputs or {}, extra_calls or {}
            )
        except BaseException as exc:
            crash.append(exc)

    # A new thread starts with an empty contextvars context: no settings, root stack or config
    # of an earlier run are visible to this one.
    thread = threading.Thread(target=target, name=f"pulumi-mocks-{stack}", daemon=True)
    with pinned_chart_cache():
        thread.start()
        thread.join()
    if crash:
        raise crash[0]
    return run


# --- helpers for the cloud tests ---------------------------------------------------------------

CLOUD_PACKAGES: Final = {"oke": "oci", "aks": "azure-native", "gke": "gcp"}


def cloud_resources(run: ProgramRun, cloud: str) -> list[RecordedResource]:
    """Resources of a cloud package: its explicit provider and everything it manages."""
    package = CLOUD_PACKAGES[cloud]
    return [
        resource
        for resource in run.resources
        if resource.type.startswith(f"{package}:") or resource.type == f"pulumi:providers:{package}"
    ]


def explicit_provider(run: ProgramRun, cloud: str, cluster_type: str) -> RecordedResource:
    """``cloud``'s provider resource, a child of the ``cluster_type`` component, once every
    other resource of the package is checked to go through it and to sit under that cluster."""
    provider = run.one(f"pulumi:providers:{CLOUD_PACKAGES[cloud]}")
    cluster = run.one(cluster_type)
    assert provider.parent == cluster.urn
    for resource in cloud_resources(run, cloud):
        if resource is not provider:
            assert resource.provider.startswith(provider.urn + "::"), resource.name
            assert cluster in run.ancestors(resource), resource.name
    return provider


def cluster_program() -> None:
    """Only the cloud foundation of the stack's config, exporting every ClusterOutputs field."""
    from stacks.cluster import create_cluster
    from stacks.config import PulumiConfigSource, load_stack_config

    outputs = create_cluster(f"todo-{pulumi.get_stack()}", load_stack_config(PulumiConfigSource()))
    pulumi.export("name", outputs.name)
    pulumi.export("kubeconfig", outputs.kubeconfig)
    pulumi.export("registry_server", outputs.registry.server)
    pulumi.export("registry_username", outputs.registry.username)
    pulumi.export("registry_password", outputs.registry.password)
    pulumi.export("node_arch", outputs.node_arch)
    pulumi.export("storage_class", outputs.storage_class)
    pulumi.export("allocatable_cpu_millicores", outputs.allocatable_cpu_millicores)
    pulumi.export("allocatable_memory_mib", outputs.allocatable_memory_mib)
