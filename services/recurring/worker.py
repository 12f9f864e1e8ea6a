"""The recurring process: the ``task.completed`` consumer, the repair sweep on its timer, and
``POST /reminder-check`` through which the Dapr cron binding drives the same sweep."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from app.core.events.contract import EventType
from app.core.processes import RECURRING
from services.common.spec import ConsumerSpec
from services.common.worker import Loop, Worker, WorkerContext, WorkerParts
from services.recurring.occurrences import OccurrenceSweep, on_completed, repair_series
from services.recurring.settings import RecurringSettings

GROUP = RECURRING.consumer_group
log = logging.getLogger("services.recurring")


async def build(context: WorkerContext[RecurringSettings]) -> WorkerParts:
    settings = context.settings
    consumer = ConsumerSpec(
        group=GROUP,
        topics=tuple(topic.name for topic in RECURRING.consumes),
        handler=on_completed,
        event_types=frozenset({EventType.TASK_COMPLETED}),
        max_attempts=settings.handler_max_attempts,
    )

    async def sweep() -> OccurrenceSweep:
        return await repair_series(
            context.sessions,
            grace=timedelta(seconds=settings.recurring_sweep_grace_seconds),
            batch_size=settings.recurring_sweep_batch_size,
        )

    async def sweep_periodically() -> None:
        while True:
            await asyncio.sleep(settings.recurring_sweep_seconds)
            try:
                await sweep()
            except Exception:  # the timer must outlive a database outage
                log.exception("series repair sweep failed")

    async def series_check(_request: Request) -> JSONResponse:
        # Concurrent calls (the cron binding fires on every replica) are safe: each creation is
        # an INSERT ... ON CONFLICT DO NOTHING on (series_id, occurrence_index).
        result = await sweep()
        return JSONResponse(
            {"examined": result.examined, "created": result.created, "failed": result.failed}
        )

    loops: tuple[Loop, ...] = (sweep_periodically,) if settings.recurring_sweep_seconds else ()
    return WorkerParts(
        consumers=(consumer,),
        loops=loops,
        routes=(Route("/reminder-check", series_check, methods=["POST"]),),
    )


WORKER = Worker(RECURRING, settings_type=RecurringSettings, build=build)
