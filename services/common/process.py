"""Running workers in one process: ``python -m services.<name>`` (one), or the runner
(``python -m services.runner``, any set of them).

Starts the process's HTTP server, its workers' Kafka consumers and loops; on SIGTERM (or SIGINT)
it stops taking new batches, lets the one in flight finish and commit, leaves the consumer
groups, and exits 0. If any part dies unexpectedly the process exits 1, so the orchestrator
restarts it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any, Generic

import uvicorn
from aiokafka.errors import KafkaError
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.db.probe import DatabaseProbe
from app.core.db.session import create_engine, session_factory
from app.core.gc_tuning import settle_after_startup
from app.core.observability import log_limits, metric_catalog
from app.core.observability.logs import configure as configure_logs
from app.core.observability.tracing import instrument_engine, tracer_provider
from app.core.settings import SettingsError, load
from services.common.broker_probe import BrokerProbe
from services.common.http import worker_http_app
from services.common.metrics import WorkerMetrics, task_change_counter
from services.common.publisher import Publisher
from services.common.runtime import KafkaConsumerRuntime
from services.common.settings import WorkerSettings
from services.common.spec import ConsumerSpec
from services.common.waiting import wait_set
from services.common.worker import S, Worker, WorkerContext, WorkerParts, check_consumers

log = logging.getLogger("services.process")

# Between attempts to reach the broker at start-up (it may start after us).
_START_RETRY_S = 2.0


@dataclass(frozen=True, slots=True)
class Configured(Generic[S]):
    """A worker with the settings it runs with."""

    worker: Worker[S]
    settings: S


def configured(worker: Worker[S]) -> Configured[S]:
    """``worker`` with its settings from the environment (:class:`SettingsError` if bad)."""
    return Configured(worker, load(worker.settings_type))


def run(*workers: Worker[Any]) -> None:
    """The ``__main__`` of a service (or of several in one process): settings from the
    environment, serve until SIGTERM."""
    name = process_name(workers)
    try:
        chosen = [configured(worker) for worker in workers]
    except SettingsError as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    configure_logs(chosen[0].settings.log_level)
    log_limits.install()  # a broker outage is logged at a bounded rate
    try:
        asyncio.run(serve(chosen, settle_gc=True))
    except SettingsError as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    except _PartFailed:
        raise SystemExit(1) from None


class _PartFailed(Exception):
    pass


def process_name(workers: Sequence[Worker[Any]]) -> str:
    """The process's name in logs, traces and metrics: its workers' names joined by '+'."""
    return "+".join(worker.name for worker in workers)


async def build_parts(
    workers: Sequence[Configured[Any]],
    sessions: async_sessionmaker[AsyncSession],
    metrics: WorkerMetrics,
    *,
    tracer: TracerProvider | None = None,
    local_publisher: Publisher | None = None,
) -> WorkerParts:
    """Every worker's parts, merged: one process runs them side by side on one database pool
    and one metrics registry."""
    built = [
        await each.worker.build(
            WorkerContext(
                each.worker.name, each.settings, sessions, metrics, tracer, local_publisher
            )
        )
        for each in workers
    ]
    for each, parts in zip(workers, built, strict=True):
        check_consumers(each.worker.process, parts.consumers)
    return WorkerParts(
        consumers=[spec for parts in built for spec in parts.consumers],
        loops=[loop for parts in built for loop in parts.loops],
        routes=[route for parts in built for route in parts.routes],
        on_stop=[hook for parts in built for hook in parts.on_stop],
        ready_checks=[check for parts in built for check in parts.ready_checks],
    )


async def serve(
    workers: Sequence[Configured[Any]],
    *,
    span_exporter: SpanExporter | None = None,
    stop: asyncio.Event | None = None,
    settle_gc: bool = False,
) -> None:
    """Run ``workers`` in this process, on Kafka, until SIGTERM/SIGINT (or until ``stop`` is
    set); raises if one of their parts fails.

    The process-wide settings (database, HTTP port, broker, tracing, shutdown grace) are the
    first worker's: every worker reads them from the same environment variables.
    Traces go to ``OTEL_EXPORTER_OTLP_ENDPOINT`` when it is set; ``span_exporter`` replaces
    that export, and ``stop`` the signal handlers, for tests that run workers in-process.
    ``settle_gc``: the process is the workers' own; tune its garbage collector once built.
    """
    settings: WorkerSettings = workers[0].settings
    name = process_name([each.worker for each in workers])
    engine = create_engine(settings.database_url, pool_size=settings.database_pool_size)
    probe = DatabaseProbe(settings.database_url)
    provider = tracer_provider(
        f"todo-{name}", otlp_endpoint=settings.otel_exporter_otlp_endpoint, exporter=span_exporter
    )
    instrument_engine(engine, provider)
    metrics = WorkerMetrics()
    # A process the catalog says creates tasks counts them once committed, as the API does.
    creates_tasks = any(
        each.worker.name in metric_catalog.TASK_EVENTS.exported_by for each in workers
    )
    count_changes = task_change_counter(metrics) if creates_tasks else None
    sessions = session_factory(engine, after_commit=count_changes)
    try:
        parts = await build_parts(workers, sessions, metrics, tracer=provider)
        runtimes = kafka_runtimes(parts.consumers, settings, sessions, metrics, tracer=provider)
        if settings.kafka_bootstrap:
            broker = BrokerProbe(
                settings.kafka_bootstrap,
                settings.kafka_client_id,
                metrics,
                interval=settings.kafka_probe_seconds,
            )
            parts = replace(
                parts,
                loops=[*parts.loops, broker.run],
                ready_checks=[*parts.ready_checks, broker.problem],
            )
        checks = [
            *(_consumer_ready(runtime) for runtime in runtimes),
            *parts.ready_checks,
        ]
        app = worker_http_app(name, metrics, engine, probe, checks, parts.routes)
        server = QuietServer(
            uvicorn.Config(app, host=settings.http_host, port=settings.http_port, log_config=None)
        )
        if settle_gc:
            settle_after_startup()
        failed = await run_parts(
            stop if stop is not None else stop_on_signals(),
            server,
            runtimes,
            parts,
            grace=settings.shutdown_grace_seconds,
        )
    finally:
        await probe.close()
        await engine.dispose()
        if provider is not None:
            provider.shutdown()  # exports the spans still batched
    if failed:
        raise _PartFailed


def kafka_runtimes(
    specs: Sequence[ConsumerSpec],
    settings: WorkerSettings,
    sessions: async_sessionmaker[AsyncSession],
    metrics: WorkerMetrics,
    *,
    tracer: TracerProvider | None = None,
) -> list[KafkaConsumerRuntime]:
    """A Kafka consumer runtime per spec, tuned by ``settings``."""
    if specs and not settings.kafka_bootstrap:
        raise SettingsError("KAFKA_BOOTSTRAP: required by the Kafka consumers")
    return [
        KafkaConsumerRuntime(
            spec,
            bootstrap=settings.kafka_bootstrap or "",
            sessions=sessions,
            metrics=metrics,
            tracer=tracer,
            client_id=settings.kafka_client_id,
            batch_size=settings.consumer_batch_size,
            retry_backoff_seconds=settings.handler_retry_backoff_seconds,
            session_timeout_ms=settings.consumer_session_timeout_ms,
        )
        for spec in specs
    ]


class QuietServer(uvicorn.Server):
    """uvicorn without its own signal handling: the worker decides when the server stops."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _consumer_ready(runtime: KafkaConsumerRuntime) -> Callable[[], str | None]:
    def check() -> str | None:
        return None if runtime.ready else f"consumer {runtime.spec.group}: not in its group yet"

    return check


def stop_on_signals() -> asyncio.Event:
    """An event set by SIGTERM or SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    return stop


async def run_parts(
    stop: asyncio.Event,
    server: uvicorn.Server,
    runtimes: Sequence[KafkaConsumerRuntime],
    parts: WorkerParts,
    *,
    grace: float,
) -> bool:
    """Run everything until ``stop`` is set or a part fails; returns whether one failed.

    Shutdown order: cancel the loops, let each consumer finish its batch and leave its group,
    stop the HTTP server (probes answer until the end), then the parts' ``on_stop`` hooks.
    """
    try:
        return await _run_until_stopped(
            stop, server, runtimes, [loop() for loop in parts.loops], grace=grace
        )
    finally:
        for hook in parts.on_stop:
            await hook()


async def _run_until_stopped(
    stop: asyncio.Event,
    server: uvicorn.Server,
    runtimes: Sequence[KafkaConsumerRuntime],
    loops: Sequence[Coroutine[Any, Any, None]],
    *,
    grace: float,
) -> bool:
    http = asyncio.create_task(server.serve(), name="http")
    running: list[asyncio.Task[None]] = [
        asyncio.create_task(_consume(runtime, stop), name=f"consumer:{runtime.spec.group}")
        for runtime in runtimes
    ]
    loop_tasks = [asyncio.create_task(coro, name="loop") for coro in loops]
    watched = [http, *running, *loop_tasks]
    stopper = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait([*watched, stopper], return_when=asyncio.FIRST_COMPLETED)
    failed = any(task in done for task in watched)
    for task in done:
        if task is not stopper and not task.cancelled() and task.exception() is not None:
            log.error("worker part failed", exc_info=task.exception())
    log.info("shutting down", extra={"failed": failed})
    stop.set()
    for task in loop_tasks:
        task.cancel()
    # Each consumer finishes its in-flight batch, commits and leaves its group.
    await _bounded(asyncio.gather(*(r.stop() for r in runtimes), return_exceptions=True), grace)
    await _bounded(asyncio.gather(*running, *loop_tasks, return_exceptions=True), grace)
    server.should_exit = True
    await _bounded(http, grace)
    stopper.cancel()
    return failed


async def _consume(runtime: KafkaConsumerRuntime, stop: asyncio.Event) -> None:
    """Start the consumer (waiting for the broker if need be), then run it until stopped."""
    while not stop.is_set():
        try:
            await runtime.start()
            break
        except KafkaError as exc:
            log.warning(
                "broker unreachable, retrying",
                extra={"group": runtime.spec.group, "error": repr(exc)},
            )
            await wait_set(stop, _START_RETRY_S)
    else:
        return
    await runtime.run()


async def _bounded(awaitable: Awaitable[Any], seconds: float) -> None:
    try:
        async with asyncio.timeout(seconds):
            await awaitable
    except TimeoutError:
        log.error("shutdown step timed out", extra={"seconds": seconds})
