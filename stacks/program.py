"""The Pulumi program: config -> capacity check -> cluster -> platform -> workloads -> outputs."""

from __future__ import annotations

import dataclasses
from typing import Final, cast

import pulumi
import pulumi_kubernetes as k8s

from infra.capacity import platform_requests, platform_volumes, workloads_requests
from infra.cloud.base import ClusterOutputs
from infra.images import AppImage, AppImageArgs
from infra.observability import dashboards, rule_groups
from infra.platform import APP_NAMESPACE, Platform, PlatformArgs, SmtpRelay
from infra.platform.k8s import ChartSource
from infra.workloads import NotifierChannels, Workloads, WorkloadsArgs
from stacks.capacity import check_capacity, check_storage
from stacks.cluster import (
    MIN_VOLUME_GB,
    boot_disks,
    create_cluster,
    describe_pool,
    node_arch,
    node_count,
    planned_allocatable,
)
from stacks.config import PulumiConfigSource, SmtpSettings, StackConfig, load_stack_config

# Sizing reads replica counts, modes and storage sizes only. The plans are built before any
# resource exists, so they carry no provider yet; the real one is attached once the cluster
# component is registered (see `program`).
_UNBOUND_PROVIDER: Final = cast(k8s.Provider, None)

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
    password = smtp.password.output() if smtp.password is not None else None
    return SmtpRelay(smtp.smarthost, smtp.sender, smtp.username, password)


def platform_plan(config: StackConfig) -> PlatformArgs:
    return PlatformArgs(
        provider=_UNBOUND_PROVIDER,
        storage_class=None,
        kafka_replicas=config.kafka.replicas,
        kafka_storage_gi=config.kafka.storage_gi,
        database_mode=config.database.mode,
        database_url=config.database.url.output() if config.database.url else None,
        database_storage_gi=config.database.storage_gi,
        domain=config.ingress.domain,
        tls_email=config.ingress.tls_email,
        alert_email_to=config.alerts.email_to,
        alert_smtp=smtp_relay(config.alerts.smtp),
        alert_slack_webhook=(
            config.alerts.slack_webhook.output() if config.alerts.slack_webhook else None
        ),
        grafana_admin_password=config.grafana_admin_password.output(),
        database_owner_password=(
            config.database.owner_password.output() if config.database.owner_password else None
        ),
        charts=ChartSource(config.chart_directory),
        await_operators=config.operator_waits,
        node_count=node_count(config),
        rules=rule_groups(namespace=APP_NAMESPACE, runbook_url=config.runbook_url),
        dashboards=dashboards(namespace=APP_NAMESPACE),
    )


def notifier_channels(config: StackConfig) -> NotifierChannels:
    notifier = config.notifier
    if notifier is None:
        return NotifierChannels()
    return NotifierChannels(
        channels=notifier.channels,
        webhook_url=notifier.webhook_url,
        webhook_secret=notifier.webhook_secret.output() if notifier.webhook_secret else None,
        smtp_host=notifier.smtp_host,
        smtp_port=notifier.smtp_port,
        smtp_from=notifier.smtp_from,
        smtp_username=notifier.smtp_username,
        smtp_password=notifier.smtp_password.output() if notifier.smtp_password else None,
        vapid_private_key=(
            notifier.vapid_private_key.output() if notifier.vapid_private_key else None
        ),
        vapid_subject=notifier.vapid_subject,
    )


def workloads_plan(config: StackConfig) -> WorkloadsArgs:
    return WorkloadsArgs(
        provider=_UNBOUND_PROVIDER,
        namespace=APP_NAMESPACE,
        image_registry="",
        image_tag=config.image_tag,
        registry_username=None,
        registry_password=None,
        node_arch=node_arch(config),
        database_url="",
        kafka_bootstrap="",
        domain=config.ingress.domain,
        api_replicas=config.api.replicas,
        api_max_replicas=config.api.max_replicas,
        depends_on=(),
        notifier=notifier_channels(config),
        jwt_signing_key=config.jwt_signing_key.output(),
    )


def build_image(cluster: ClusterOutputs, config: StackConfig) -> AppImage:
    """The app image built from the Dockerfile and pushed to the cluster's registry."""
    return AppImage(
        "todo",
        AppImageArgs(
            registry=cluster.registry_server,
            tag=config.image_tag,
            node_arch=cluster.node_arch,
            registry_username=cluster.registry_username,
            registry_password=cluster.registry_password,
        ),
    )


def program() -> None:
    config = load_stack_config(PulumiConfigSource())
    platform_args, workloads_args = platform_plan(config), workloads_plan(config)
    check_capacity(
        platform_requests(platform_args) + workloads_requests(workloads_args),
        planned_allocatable(config),
        describe_pool(config),
    )
    check_storage(
        [*platform_volumes(platform_args), *boot_disks(config)],
        MIN_VOLUME_GB[config.provider],
        config.storage_limit_gb,
    )

    cluster = create_cluster(f"todo-{pulumi.get_stack()}", config)
    platform = Platform(
        "todo",
        dataclasses.replace(
            platform_args,
            provider=cluster.provider,
            storage_class=cluster.storage_class,
            ingress_service=cluster.ingress_service,
        ),
    )
    built = build_image(cluster, config) if config.images_build else None
    workloads = Workloads(
        "todo",
        dataclasses.replace(
            workloads_args,
            # The pushed tag@digest: a rebuild under the same tag still rolls the pods out.
            image=built.ref if built else None,
            provider=cluster.provider,
            namespace=platform.app_namespace,
            image_registry=cluster.registry_server,
            registry_username=cluster.registry_username,
            registry_password=cluster.registry_password,
            database_url=platform.database_url,
            kafka_bootstrap=platform.kafka_bootstrap,
            depends_on=[*platform.ready, *([built] if built else [])],
            ingress_url=cluster.ingress_service.url,
            await_ingress_status=config.operator_waits,
        ),
    )

    pulumi.export("api_url", workloads.api_url)
    pulumi.export("grafana_url", platform.grafana_url)
    pulumi.export("registry_server", cluster.registry_server)
    pulumi.export("kubeconfig", pulumi.Output.secret(cluster.kubeconfig))
    pulumi.export("kafka_bootstrap", platform.kafka_bootstrap)
    pulumi.export("cluster_name", cluster.name)
    pulumi.export("namespace", platform.app_namespace)
    pulumi.export("dapr_app_ids", workloads.dapr_app_ids)
    # Read before the next `pulumi up`, this is the tag to roll back to.
    pulumi.export("image_tag", config.image_tag)
