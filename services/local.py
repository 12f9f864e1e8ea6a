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
from services.catalogue import WORKER_NAMES, workers
from services.common.inprocess import InProcessBus
from services.common.metrics import WorkerMetrics
from services.common.process import (
    Configured,
    QuietServer,
    build_parts,
    configured,
    kafka_runtimes,
    run_parts,
    stop_on_signals,
)
from services.common.publisher import FanOut
from services.common.settings import RelaySettings

# SQLite has no NOTIFY: the relay's poll is its only wake-up there, so keep it short.
SQLITE_RELAY_POLL_SECONDS = 0.5


def _local_settings(each: Configured[Any], sqlite: bool) -> Configured[Any]:
    if sqlite and isinstance(each.settings, RelaySettings):
        quick = each.settings.model_copy(update={"relay_poll_seconds": SQLITE_RELAY_POLL_SECONDS})
        return Configured(each.worker, quick)
    return each


async def serve(host: str, port: int) -> None:
    settings = load(ApiSettings)
    configure_logs(settings.log_level)
    sqlite = settings.database_url.startswith("sqlite")
    if sqlite:
        Path(settings.database_url.split("///", 1)[1]).parent.mkdir(parents=True, exist_ok=True)
    await upgrade_async(settings.database_url)

    # Every worker of the process catalogue, as the runner would run them in one process.
    chosen = [_local_settings(configured(w), sqlite) for w in workers(WORKER_NAMES)]
    process_settings = chosen[0].settings
    engine = create_engine(settings.database_url, pool_size=settings.database_pool_size)
    sessions = session_factory(engine)
    metrics = WorkerMetrics()
    # Without a broker the relay publishes to the in-process bus, which feeds the consumers
    # and the web UI's live feed.
    bus = None if settings.kafka_bootstrap else InProcessBus(sessions, metrics)
    parts = await build_parts(
        chosen,
        sessions,
        metrics,
        local_publisher=None if bus is None else FanOut(bus, LOCAL_FEED),
    )
    runtimes = []
    if bus is None:
        runtimes = kafka_runtimes(parts.consumers, process_settings, sessions, metrics)
    else:
        for spec in parts.consumers:
            bus.subscribe(spec)
    server = QuietServer(
        uvicorn.Config(
            create_app(settings), host=host, port=port, log_config=None, proxy_headers=False
        )
    )
    stop = stop_on_signals()
    if bus is not None:
        await bus.start()
    try:
        await run_parts(
            stop, server, runtimes, parts, grace=process_settings.shutdown_grace_seconds
        )
    finally:
        if bus is not None:
            await bus.stop()
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    asyncio.run(serve(args.host, args.port))


if __name__ == "__main__":
    main()
