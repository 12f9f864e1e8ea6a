"""The app as typed Kubernetes resources: the migration Job, a Deployment, ServiceAccount and
Service per process of :mod:`infra.workloads.catalog`, the API's Ingress, HPA and PDB, KEDA
ScaledObjects for the consuming workers, NetworkPolicies, and the Secrets they read."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import pulumi
import pulumi_kubernetes as k8s

from infra import app_names
from infra.components import Component, Outputs, child_opts
from infra.platform import namespaces, sizing
from infra.platform.k8s import KubeObject, object_meta, secret
from infra.workloads import catalog, chat_agent, network, pods, scaling, subscriptions
from infra.workloads.chat_agent import ChatAgent
from infra.workloads.notifier import SECRET_NAME as NOTIFIER_SECRET
from infra.workloads.notifier import NotifierChannels
from infra.workloads.scaling import EventTransport

__all__ = ["ChatAgent", "EventTransport", "NotifierChannels", "Workloads", "WorkloadsArgs"]

_TAG: Final = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
ARCHES: Final = ("arm64", "amd64")
PULL_SECRET: Final = "registry-credentials"  # noqa: S105 (a name, not a secret)
MIGRATION_NAME: Final = "todo-migrate"
API_TLS_SECRET: Final = "todo-api-tls"  # noqa: S105 (a name, not a secret)
# ingress-nginx refuses (403) clients from these source ranges on the annotated Ingress's paths.
DENYLIST_ANNOTATION: Final = "nginx.ingress.kubernetes.io/denylist-source-range"


@dataclass(frozen=True)
class WorkloadsArgs:
    provider: k8s.Provider
    namespace: str
    image_registry: pulumi.Input[str]
    image_tag: str  # never "latest"
    registry_username: pulumi.Input[str] | None
    registry_password: pulumi.Input[str] | None  # secret -> imagePullSecret
    node_arch: str
    database_url: pulumi.Input[str]  # secret
    kafka_bootstrap: pulumi.Input[str]
    domain: str | None
    api_replicas: int
    api_max_replicas: int
    # How events reach the workers: their own aiokafka consumers ("kafka"), or the Dapr
    # sidecar through declarative Subscriptions ("dapr"). Also what the relay publishes with.
    event_transport: EventTransport = "kafka"
    # The full reference when the program builds the image (``tag@digest``, see infra/images.py);
    # None pulls ``<image_registry>/todo-platform:<image_tag>``.
    image: pulumi.Input[str] | None = None
    # Where clients reach the ingress when no load balancer reports an address (node ports on
    # kind); None reads the address from the Ingress status.
    ingress_url: str | None = None
    # How reminders are delivered; the default logs them only.
    notifier: NotifierChannels = field(default_factory=NotifierChannels)
    # The chat's AI service; None (the default) keeps the deterministic chat parser.
    chat_agent: ChatAgent | None = None
    # Wait for the ingress controller to publish the API Ingress's address (k8s.await_ready);
    # off only where no controller runs (the deploy tests' kwok nodes).
    await_ingress_status: bool = True
    # secret: the key the API signs its tokens with (stacks/secrets.py generates it)
    jwt_signing_key: pulumi.Input[str] | None = None

    def __post_init__(self) -> None:
        if self.jwt_signing_key is None:
            raise ValueError("jwt_signing_key is required (the stack's setup step generates one)")
        if self.namespace != namespaces.APP:
            raise ValueError(
                f"namespace must be {namespaces.APP!r} (the platform's Dapr resources and "
                f"policies live there), got {self.namespace!r}"
            )
        if self.image_tag == "latest" or not _TAG.match(self.image_tag):
            raise ValueError(
                f"image_tag {self.image_tag!r} must be a pinned Docker tag, never 'latest'"
            )
        if self.node_arch not in ARCHES:
            raise ValueError(f"node_arch must be one of {ARCHES}, got {self.node_arch!r}")
        if not 1 <= self.api_replicas <= self.api_max_replicas:
            raise ValueError(
                "need 1 <= api_replicas <= api_max_replicas, got "
                f"{self.api_replicas} and {self.api_max_replicas}"
            )
        if (self.registry_username is None) != (self.registry_password is None):
            raise ValueError("registry_username and registry_password go together")
        if self.event_transport not in ("kafka", "dapr"):
            raise ValueError(
                f"event_transport must be 'kafka' or 'dapr', got {self.event_transport!r}"
            )


def docker_config(registry: str, username: str, password: str) -> str:
    """``.dockerconfigjson`` for one registry host."""
    host = registry.split("/", 1)[0]
    auth = base64.b64encode(f"{username}:{password}".encode()).decode()
    return json.dumps({"auths": {host: {"username": username, "password": password, "auth": auth}}})


def api_url_from_status(status: Any) -> str:
    """``http://<address>`` of the Ingress's load balancer, from the Ingress status."""
    entries = (((status or {}).get("load_balancer") or {}).get("ingress")) or []
    for entry in entries:
        address = entry.get("ip") or entry.get("hostname")
        if address:
            return f"http://{address}"
    raise ValueError("the API Ingress has no load-balancer address")


class Workloads(Component[WorkloadsArgs]):
    TYPE = "todo:workloads:Workloads"

    api_url: pulumi.Output[str]
    dapr_app_ids: dict[str, str]

    def _build(self, name: str, args: WorkloadsArgs, after: list[pulumi.Resource]) -> Outputs:
        self._args = args
        self._after = after  # the platform (and a built image)
        self._ns = args.namespace
        image = (
            args.image
            if args.image is not None
            else app_names.image_ref(args.image_registry, args.image_tag)
        )

        secret = self._app_secret()
        pull_secret = self._pull_secret()
        ai = args.chat_agent
        # The notifier's channel secrets and the AI key, each apart from the app Secret: only
        # the process that uses one reads it.
        own_secrets = [
            self._own_secret(NOTIFIER_SECRET, args.notifier.secret_data()),
            self._own_secret(chat_agent.SECRET_NAME, ai.secret_data() if ai else {}),
        ]
        base = [
            *self._after,
            secret,
            *([pull_secret] if pull_secret else []),
            *(own for own in own_secrets if own),
        ]
        policies = [
            k8s.networking.v1.NetworkPolicy(
                f"netpol-{flow.name}",
                metadata=object_meta(flow.name, self._ns),
                spec=flow.spec(),
                opts=self._opts(self._after),
            )
            for flow in network.flows(ai.port if ai else None)
        ]
        base += policies
        pull = PULL_SECRET if pull_secret else None

        migration = self._migration_job(image, pull, base)
        deployments = {
            app.key: self._deployment(app, image, pull, [*base, migration]) for app in catalog.APPS
        }
        # Services and the Ingress await their endpoints: created after the pods they select
        # are Ready (so after the migration Job), the await never races a slow first rollout.
        services = {
            app.key: self._service(app, [*base, deployments[app.key]]) for app in catalog.APPS
        }
        ingress = self._api_ingress([*base, services[catalog.API.key]])
        self._api_scaling(deployments[catalog.API.key])
        for app in catalog.APPS:
            if app.consumes:
                KubeObject(
                    f"scaledobject-{app.key}",
                    scaling.scaled_object_manifest(app, args.kafka_bootstrap, args.event_transport),
                    self._opts([deployments[app.key]]),
                )
                if args.event_transport == "dapr":
                    for manifest in subscriptions.subscription_manifests(app):
                        KubeObject(
                            f"subscription-{manifest['metadata']['name']}",
                            manifest,
                            self._opts(self._after),
                        )

        self.dapr_app_ids = catalog.dapr_app_ids()
        # With a domain (or node ports) the URL is known up front, also in the first preview;
        # otherwise it is the load balancer's address, known once the Ingress has been admitted.
        if args.domain:
            self.api_url = pulumi.Output.from_input(f"https://{args.domain}")
        elif args.ingress_url:
            self.api_url = pulumi.Output.from_input(args.ingress_url)
        else:
            self.api_url = ingress.status.apply(api_url_from_status)
        return {"api_url": self.api_url, "dapr_app_ids": self.dapr_app_ids}

    # --- helpers ----------------------------------------------------------------------------
    def _opts(self, depends_on: Sequence[pulumi.Resource] = ()) -> pulumi.ResourceOptions:
        return child_opts(self, self._args.provider, depends_on)

    def _app_secret(self) -> k8s.core.v1.Secret:
        return k8s.core.v1.Secret(
            app_names.APP_SECRET_NAME,
            metadata=object_meta(app_names.APP_SECRET_NAME, self._ns),
            type="Opaque",
            string_data={
                app_names.DATABASE_URL_KEY: secret(self._args.database_url),
                app_names.JWT_SECRET_KEY: secret(self._args.jwt_signing_key or ""),
            },
            opts=self._opts(self._after),
        )

    def _own_secret(
        self, name: str, data: dict[str, pulumi.Input[str]]
    ) -> k8s.core.v1.Secret | None:
        """A Secret of one process's own; none without entries."""
        if not data:
            return None
        return k8s.core.v1.Secret(
            name,
            metadata=object_meta(name, self._ns),
            type="Opaque",
            string_data=data,
            opts=self._opts(self._after),
        )

    def _pull_secret(self) -> k8s.core.v1.Secret | None:
        args = self._args
        if args.registry_username is None or args.registry_password is None:
            return None
        config = pulumi.Output.all(
            args.image_registry, args.registry_username, args.registry_password
        ).apply(lambda v: docker_config(str(v[0]), str(v[1]), str(v[2])))
        return k8s.core.v1.Secret(
            PULL_SECRET,
            metadata=object_meta(PULL_SECRET, self._ns),
            type="kubernetes.io/dockerconfigjson",
            string_data={".dockerconfigjson": secret(config)},
            opts=self._opts(self._after),
        )

    def _service_account(self, name: str) -> k8s.core.v1.ServiceAccount:
        # Tokens are mounted per pod (see pods.pod_spec), never by default.
        return k8s.core.v1.ServiceAccount(
            f"sa-{name}",
            metadata=object_meta(name, self._ns),
            automount_service_account_token=False,
            opts=self._opts(self._after),
        )

    def _migration_job(
        self, image: pulumi.Input[str], pull: str | None, depends_on: list[pulumi.Resource]
    ) -> k8s.batch.v1.Job:
        account = self._service_account(MIGRATION_NAME)
        core = k8s.core.v1
        main = pods.container(
            "migrate",
            image,
            catalog.MIGRATION_COMMAND,
            sizing.MIGRATION,
            pods.environment(None, self._args.kafka_bootstrap, self._args.event_transport),
            port=None,
        )
        return k8s.batch.v1.Job(
            "migration",
            metadata=object_meta(
                MIGRATION_NAME,
                self._ns,
                labels=pods.labels(MIGRATION_NAME, "migration", dapr=False),
                annotations=pods.NO_DAPR,
            ),
            spec=k8s.batch.v1.JobSpecArgs(
                backoff_limit=2,
                active_deadline_seconds=600,
                template=core.PodTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(
                        labels=pods.labels(MIGRATION_NAME, "migration", dapr=False),
                        annotations=pods.NO_DAPR,
                    ),
                    spec=pods.pod_spec(
                        MIGRATION_NAME,
                        main,
                        self._args.node_arch,
                        pull,
                        dapr=False,
                        restart_policy="Never",
                    ),
                ),
            ),
            # A Job's pod template is immutable: a new image replaces the Job (and reruns the
            # migration) under the same name, so the old one must go first.
            opts=pulumi.ResourceOptions.merge(
                self._opts([*depends_on, account]),
                pulumi.ResourceOptions(delete_before_replace=True),
            ),
        )

    def _deployment(
        self,
        app: catalog.App,
        image: pulumi.Input[str],
        pull: str | None,
        depends_on: list[pulumi.Resource],
    ) -> k8s.apps.v1.Deployment:
        account = self._service_account(app.app_id)
        env = pods.environment(app, self._args.kafka_bootstrap, self._args.event_transport)
        if app is catalog.NOTIFIER:
            env += self._args.notifier.environment()
        elif app is catalog.API:
            # Address verification links go out through the notifier's relay, made on the
            # public address (never on a Host header a client chose).
            env += self._args.notifier.smtp_environment()
            env += self._args.notifier.api_environment()
            if self._args.chat_agent is not None:
                env += self._args.chat_agent.environment()
            if self._args.domain:
                env.append(
                    k8s.core.v1.EnvVarArgs(name="PUBLIC_URL", value=f"https://{self._args.domain}")
                )
        main = pods.container(app.key, image, app.command, app.size, env, app.port)
        pod_labels = pods.labels(app.app_id, "api" if app is catalog.API else "worker", dapr=True)
        # Replicas are the autoscaler's (HPA for the API, KEDA for consumers); setting them
        # here would fight it on every update. Only the singleton relay is pinned, to one,
        # and replaced (not rolled) so two relays never publish at once.
        strategy = (
            k8s.apps.v1.DeploymentStrategyArgs(type="Recreate")
            if app.singleton
            else k8s.apps.v1.DeploymentStrategyArgs(
                type="RollingUpdate",
                rolling_update=k8s.apps.v1.RollingUpdateDeploymentArgs(
                    max_unavailable=0, max_surge=1
                ),
            )
        )
        return k8s.apps.v1.Deployment(
            f"deployment-{app.key}",
            metadata=object_meta(app.app_id, self._ns, labels=pod_labels),
            spec=k8s.apps.v1.DeploymentSpecArgs(
                replicas=1 if app.singleton else None,
                revision_history_limit=5,
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels=pods.selector(app.app_id)),
                strategy=strategy,
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(
                        labels=pod_labels, annotations=pods.dapr_annotations(app)
                    ),
                    spec=pods.pod_spec(app.app_id, main, self._args.node_arch, pull, dapr=True),
                ),
            ),
            opts=self._opts([*depends_on, account]),
        )

    def _service(self, app: catalog.App, depends_on: list[pulumi.Resource]) -> k8s.core.v1.Service:
        return k8s.core.v1.Service(
            f"service-{app.key}",
            metadata=object_meta(
                app.app_id, self._ns, labels=pods.labels(app.app_id, "service", dapr=True)
            ),
            spec=k8s.core.v1.ServiceSpecArgs(
                type="ClusterIP",
                selector=pods.selector(app.app_id),
                ports=[
                    k8s.core.v1.ServicePortArgs(
                        name="http", port=app.port, target_port="http", protocol="TCP"
                    )
                ],
            ),
            opts=self._opts(depends_on),
        )

    def _api_ingress(self, depends_on: list[pulumi.Resource]) -> k8s.networking.v1.Ingress:
        net = k8s.networking.v1
        domain = self._args.domain
        annotations = {"nginx.ingress.kubernetes.io/proxy-body-size": "1m"}
        if not self._args.await_ingress_status:
            annotations["pulumi.com/skipAwait"] = "true"
        tls = None
        if domain:
            annotations["cert-manager.io/cluster-issuer"] = "letsencrypt"
            annotations["nginx.ingress.kubernetes.io/force-ssl-redirect"] = "true"
            tls = [net.IngressTLSArgs(hosts=[domain], secret_name=API_TLS_SECRET)]
        api = self._ingress("ingress-api", catalog.API.app_id, "/", annotations, tls, depends_on)
        # /metrics is Prometheus's, which scrapes the pods inside the cluster: at the edge it is
        # refused to every client (a longer path than "/", so nginx picks this rule for it).
        self._ingress(
            "ingress-api-metrics",
            f"{catalog.API.app_id}-metrics",
            "/metrics",
            {**annotations, DENYLIST_ANNOTATION: "0.0.0.0/0,::/0"},
            tls,
            depends_on,
        )
        return api

    def _ingress(
        self,
        resource: str,
        name: str,
        path: str,
        annotations: dict[str, str],
        tls: list[k8s.networking.v1.IngressTLSArgs] | None,
        depends_on: list[pulumi.Resource],
    ) -> k8s.networking.v1.Ingress:
        net = k8s.networking.v1
        backend = net.IngressBackendArgs(
            service=net.IngressServiceBackendArgs(
                name=catalog.API.app_id, port=net.ServiceBackendPortArgs(name="http")
            )
        )
        return net.Ingress(
            resource,
            metadata=object_meta(name, self._ns, annotations=annotations),
            spec=net.IngressSpecArgs(
                ingress_class_name="nginx",
                tls=tls,
                rules=[
                    net.IngressRuleArgs(
                        host=self._args.domain,
                        http=net.HTTPIngressRuleValueArgs(
                            paths=[
                                net.HTTPIngressPathArgs(
                                    path=path, path_type="Prefix", backend=backend
                                )
                            ]
                        ),
                    )
                ],
            ),
            opts=self._opts(depends_on),
        )

    def _api_scaling(self, deployment: k8s.apps.v1.Deployment) -> None:
        app_id = catalog.API.app_id
        k8s.autoscaling.v2.HorizontalPodAutoscaler(
            "hpa-api",
            metadata=object_meta(app_id, self._ns),
            spec=scaling.hpa_spec(app_id, self._args.api_replicas, self._args.api_max_replicas),
            opts=self._opts([deployment]),
        )
        k8s.policy.v1.PodDisruptionBudget(
            "pdb-api",
            metadata=object_meta(app_id, self._ns),
            spec=scaling.pdb_spec(pods.selector(app_id)),
            opts=self._opts([deployment]),
        )
