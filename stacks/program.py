"""The Pulumi program, top to bottom: config -> capacity check -> cluster -> platform ->
workloads -> outputs. Each step's arguments are built from the config and what the steps before
it returned."""

from __future__ import annotations

from typing import Final

import pulumi

from infra.cloud.base import ClusterOutputs
from infra.images import AppImage, AppImageArgs
from infra.observability import dashboards, rule_groups
from infra.platform import APP_NAMESPACE, Platform, PlatformArgs, SmtpRelay
from infra.platform.k8s import ChartSource
from infra.workloads import ChatAgent, NotifierChannels, Workloads, WorkloadsArgs
from stacks.capacity import check_stack_fits
from stacks.cluster import create_cluster, node_arch
from stacks.config import PulumiConfigSource, SmtpSettings, StackConfig, load_stack_config
from stacks.config_fields import secret_output

STACK_OUTPUTS: Final = (
    "api_url",
    "grafana_url",
    "registry_server",
    "kubeconfig",
    "kafka_bootstrap",
    "cluster_name",
    "namespace",
    "dapr_app_ids",
    "image_tag",
)


def smtp_relay(smtp: SmtpSettings | None) -> SmtpRelay | None:
    if smtp is None:
        return None
    return SmtpRelay(smtp.smarthost, smtp.sender, smtp.username, secret_output(smtp.password))


def platform_args(config: StackConfig, cluster: ClusterOutputs) -> PlatformArgs:
    return PlatformArgs(
        provider=cluster.provider,
        storage_class=cluster.storage_class,
        ingress_service=cluster.ingress_service,
        kafka_replicas=config.kafka.replicas,
        kafka_storage_gi=config.kafka.storage_gi,
        database_mode=config.database.mode,
        database_url=secret_output(config.database.url),
        database_storage_gi=config.database.storage_gi,
        domain=config.ingress.domain,
        tls_email=config.ingress.tls_email,
        alert_email_to=config.alerts.email_to,
        alert_smtp=smtp_relay(config.alerts.smtp),
        alert_slack_webhook=secret_output(config.alerts.slack_webhook),
        grafana_admin_password=config.grafana_admin_password.output(),
        database_owner_password=secret_output(config.database.owner_password),
        charts=ChartSource(config.chart_directory),
        await_operators=config.operator_waits,
        rules=rule_groups(namespace=APP_NAMESPACE, runbook_url=config.runbook_url),
        dashboards=dashboards(namespace=APP_NAMESPACE),
    )


def notifier_channels(config: StackConfig) -> NotifierChannels:
    notifier = config.notifier
    return NotifierChannels(
        channels=notifier.channels,
        webhook_url=notifier.webhook_url,
        webhook_secret=secret_output(notifier.webhook_secret),
        smtp_host=notifier.smtp_host,
        smtp_port=notifier.smtp_port,
        smtp_from=notifier.smtp_from,
        smtp_username=notifier.smtp_username,
        smtp_password=secret_output(notifier.smtp_password),
        vapid_private_key=secret_output(notifier.vapid_private_key),
        vapid_subject=notifier.vapid_subject,
    )


def chat_agent(config: StackConfig) -> ChatAgent | None:
    """The chat's AI service, or None (the deterministic parser) without chatAiBaseUrl."""
    ai = config.chat_ai
    if ai.base_url is None or ai.model is None:
        return None
    bounds = ai.model_dump(exclude={"base_url", "model", "api_key"})
    return ChatAgent(ai.base_url, ai.model, secret_output(ai.api_key), **bounds)


def image_args(config: StackConfig, cluster: ClusterOutputs) -> AppImageArgs:
    """The app image built from the Dockerfile and pushed to the cluster's registry."""
    return AppImageArgs(cluster.registry, config.image_tag, cluster.node_arch)


def workloads_args(
    config: StackConfig, cluster: ClusterOutputs, platform: Platform, image: AppImage | None
) -> WorkloadsArgs:
    return WorkloadsArgs(
        provider=cluster.provider,
        namespace=platform.app_namespace,
        image_registry=cluster.registry.server,
        image_tag=config.image_tag,
        # The pushed tag@digest: a rebuild under the same tag still rolls the pods out.
        image=image.ref if image is not None else None,
        registry_username=cluster.registry.username,
        registry_password=cluster.registry.password,
        node_arch=node_arch(config),
        database_url=platform.database_url,
        kafka_bootstrap=platform.kafka_bootstrap,
        domain=config.ingress.domain,
        api_replicas=config.api.replicas,
        api_max_replicas=config.api.max_replicas,
        ingress_url=cluster.ingress_service.url,
        await_ingress_status=config.operator_waits,
        notifier=notifier_channels(config),
        chat_agent=chat_agent(config),
        jwt_signing_key=config.jwt_signing_key.output(),
    )


def program() -> None:
    config = load_stack_config(PulumiConfigSource())
    check_stack_fits(config)

    cluster = create_cluster(f"todo-{pulumi.get_stack()}", config)
    platform = Platform("todo", platform_args(config, cluster))
    image = AppImage("todo", image_args(config, cluster)) if config.images_build else None
    workloads = Workloads(
        "todo",
        workloads_args(config, cluster, platform, image),
        pulumi.ResourceOptions(depends_on=[*platform.ready, *([image] if image else [])]),
    )

    pulumi.export("api_url", workloads.api_url)
    pulumi.export("grafana_url", platform.grafana_url)
    pulumi.export("registry_server", cluster.registry.server)
    pulumi.export("kubeconfig", pulumi.Output.secret(cluster.kubeconfig))
    pulumi.export("kafka_bootstrap", platform.kafka_bootstrap)
    pulumi.export("cluster_name", cluster.name)
    pulumi.export("namespace", platform.app_namespace)
    pulumi.export("dapr_app_ids", workloads.dapr_app_ids)
    # Read before the next `pulumi up`, this is the tag to roll back to.
    pulumi.export("image_tag", config.image_tag)
