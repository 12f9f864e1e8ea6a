"""Local run: the API, the outbox relay and the worker services in one process.

``scripts/run-local.sh`` (or ``python -m services.local``). Without ``KAFKA_BOOTSTRAP`` the relay
publishes to the in-process bus (services.common.InProcessBus), which feeds the audit,
recurring and notifier consumers and the web UI's live feed; with it, the same workers run
their Kafka consumers and the relay publishes to the broker. A convenience for development:
deployments run each service as its own process (``python -m services.<name>``).
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

import uvicorn

from app.core.db.migrate import upgrade_async
from app.core.db.session import create_engine, session_factory
from app.core.observability.logs import configure as configure_logs
from app.core.settings import ApiSettings, load
from app.main import create_app
from app.ui.live import LOCAL_FEED
from services.audit.worker import WORKER as AUDIT
from services.common.inprocess import InProcessBus
from services.common.metrics import WorkerMetrics
from services.common.process import (
    QuietServer,
    kafka_runtimes,
    run_until_stopped,
    stop_on_signals,
)
from services.common.publisher import FanOut, Publisher
from services.common.settings import RelaySettings
from services.common.worker import Worker, WorkerContext, WorkerParts
from services.notifier.worker import WORKER as NOTIFIER
from services.recurring.worker import WORKER as RECURRING
from services.relay.worker import publisher_for, relay_parts

LOCAL_WORKERS: tuple[Worker[Any], ...] = (AUDIT, RECURRING, NOTIFIER)
# SQLite has no NOTIFY: the relay's poll is its only wake-up there, so keep it short.
SQLITE_RELAY_POLL_SECONDS = 0.5


async def serve(host: str, port: int) -> None:
    settings = load(ApiSettings)
    configure_logs(settings.log_level)
    sqlite = settings.database_url.startswith("sqlite")
    if sqlite:
        Path(settings.database_url.split("///", 1)[1]).parent.mkdir(parents=True, exist_ok=True)
    await upgrade_async(settings.database_url)

    relay_settings = load(RelaySettings)
    if sqlite:
        relay_settings = relay_settings.model_copy(
            update={"relay_poll_seconds": SQLITE_RELAY_POLL_SECONDS}
        )
    engine = create_engine(settings.database_url, pool_size=settings.database_pool_size)
    sessions = session_factory(engine)
    metrics = WorkerMetrics()
    parts: list[WorkerParts] = [
        await worker.build(
            WorkerContext(worker.name, load(worker.settings_type), sessions, metrics)
        )
        for worker in LOCAL_WORKERS
    ]
    consumers = [spec for part in parts for spec in part.consumers]
    bus: InProcessBus | None = None
    publisher: Publisher
    if settings.kafka_bootstrap:
        publisher = publisher_for(relay_settings)
        runtimes = kafka_runtimes(consumers, relay_settings, sessions, metrics)
    else:
        bus = InProcessBus(sessions, metrics)
        for spec in consumers:
            bus.subscribe(spec)
        publisher = FanOut(bus, LOCAL_FEED)
        runtimes = []
    parts.append(relay_parts(WorkerContext("relay", relay_settings, sessions, metrics), publisher))

    server = QuietServer(
        uvicorn.Config(
            create_app(settings), host=host, port=port, log_config=None, proxy_headers=False
        )
    )
    stop = stop_on_signals()
    if bus is not None:
        await bus.start()
    try:
        await run_until_stopped(
            stop,
            server,
            runtimes,
            [loop() for part in parts for loop in part.loops],
            grace=relay_settings.shutdown_grace_seconds,
        )
    finally:
        if bus is not None:
            await bus.stop()
        for part in parts:
            for hook in part.on_stop:
                await hook()
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    asyncio.run(serve(args.host, args.port))


if __name__ == "__main__":
    main()
