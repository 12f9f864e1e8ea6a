"""The relay process: the publish loop, its LISTEN wake-up, and the pruning timer."""

from __future__ import annotations

from datetime import timedelta
from functools import partial

from app.core.processes import RELAY
from app.core.settings import SettingsError
from services.common.publisher import DeclaredTopics, Publisher
from services.common.settings import RelaySettings
from services.common.worker import Worker, WorkerContext, WorkerParts
from services.relay.loop import RelayLoop, prune_periodically
from services.relay.outbox import OutboxBacklog, OutboxRelay
from services.relay.publishers import DaprPublisher, KafkaPublisher


def publisher_for(settings: RelaySettings) -> Publisher:
    """The configured backend (RELAY_BACKEND)."""
    if settings.relay_backend == "dapr":
        return DaprPublisher(settings.dapr_http_endpoint, settings.dapr_pubsub)
    if not settings.kafka_bootstrap:
        raise SettingsError("KAFKA_BOOTSTRAP: required by RELAY_BACKEND=kafka")
    return KafkaPublisher(settings.kafka_bootstrap, f"{settings.kafka_client_id}-relay")


def relay_parts(context: WorkerContext[RelaySettings], publisher: Publisher) -> WorkerParts:
    """The relay's loops over ``publisher`` (Kafka, Dapr, or the local in-process bus), which
    may carry only the topics the catalogue says the relay produces."""
    settings = context.settings
    relay = OutboxRelay(
        context.sessions,
        DeclaredTopics(RELAY, publisher),
        batch_size=settings.relay_batch_size,
        tracer=context.tracer,
    )
    context.metrics.before_scrape(OutboxBacklog(context.sessions, context.metrics).refresh)
    postgres = settings.database_url.startswith("postgresql")
    loop = RelayLoop(
        relay,
        poll_seconds=settings.relay_poll_seconds,
        # LISTEN needs PostgreSQL; on SQLite (local run) the poll is the only wake-up.
        listener_url=settings.database_url if postgres else None,
    )
    pruning = partial(
        prune_periodically,
        context.sessions,
        retention=timedelta(hours=settings.retention_hours),
        batch_size=settings.prune_batch_size,
        interval_seconds=settings.prune_interval_seconds,
    )

    def ready() -> str | None:
        return None if loop.last_error is None else f"publishing: {loop.last_error}"

    return WorkerParts(loops=(loop.run, pruning), on_stop=(publisher.stop,), ready_checks=(ready,))


async def build(context: WorkerContext[RelaySettings]) -> WorkerParts:
    publisher = context.local_publisher or publisher_for(context.settings)
    return relay_parts(context, publisher)


WORKER = Worker(RELAY, settings_type=RelaySettings, build=build)
