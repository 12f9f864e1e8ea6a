"""The audit process: one consumer of ``task-events``."""

from __future__ import annotations

from app.core.processes import AUDIT
from services.audit.history import GROUP, record_event, record_events
from services.common.settings import WorkerSettings
from services.common.spec import ConsumerSpec
from services.common.worker import Worker, WorkerContext, WorkerParts


def audit_consumer(settings: WorkerSettings) -> ConsumerSpec:
    # Every type on the topic: each carries the task (subject) and its owner.
    return ConsumerSpec(
        group=GROUP,
        topics=tuple(topic.name for topic in AUDIT.consumes),
        handler=record_event,
        batch_handler=record_events,
        max_attempts=settings.handler_max_attempts,
    )


async def build(context: WorkerContext[WorkerSettings]) -> WorkerParts:
    return WorkerParts(consumers=(audit_consumer(context.settings),))


WORKER = Worker(AUDIT, settings_type=WorkerSettings, build=build)
