"""A worker process: its consumers, background loops and HTTP routes, run until SIGTERM.

Every service package defines one :class:`Worker` (``services/<name>/worker.py: WORKER``) for
its process in the catalogue (:mod:`app.core.processes`), and a ``__main__`` that runs it. The
runner (:mod:`services.runner`) runs any set of them, in one process or one process each; the
local run (``services/local.py``) runs them all beside the API on the in-process bus.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from opentelemetry.sdk.trace import TracerProvider
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.routing import BaseRoute

from app.core.processes import ProcessSpec, UndeclaredTopic
from services.common.http import ReadyCheck
from services.common.metrics import WorkerMetrics
from services.common.publisher import Publisher
from services.common.settings import WorkerSettings
from services.common.spec import ConsumerSpec

S = TypeVar("S", bound=WorkerSettings)

Loop = Callable[[], Coroutine[Any, Any, None]]
"""A background coroutine that runs until it is cancelled at shutdown (sweeps, schedulers)."""


@dataclass(frozen=True, slots=True)
class WorkerContext(Generic[S]):
    """What a worker's ``build`` gets: its validated settings, the database, its metrics and
    its tracer provider (None: tracing is off, events still pass their trace context on)."""

    name: str
    settings: S
    sessions: async_sessionmaker[AsyncSession]
    metrics: WorkerMetrics
    tracer: TracerProvider | None = None
    # Where the relay publishes when the process has no broker (the local run's in-process
    # bus); None: the relay's configured backend.
    local_publisher: Publisher | None = None


@dataclass(frozen=True, slots=True)
class WorkerParts:
    """What a worker runs: consumers (Kafka or in-process), loops, and extra HTTP routes."""

    consumers: Sequence[ConsumerSpec] = ()
    loops: Sequence[Loop] = ()
    routes: Sequence[BaseRoute] = ()
    # Awaited at shutdown, after the loops are cancelled and the consumers have left their groups.
    on_stop: Sequence[Callable[[], Awaitable[None]]] = ()
    # Extra /readyz checks: each returns None when ready, else what is not ready.
    ready_checks: Sequence[ReadyCheck] = ()


@dataclass(frozen=True, slots=True)
class Worker(Generic[S]):
    process: ProcessSpec  # its entry in the process catalogue
    settings_type: type[S]
    build: Callable[[WorkerContext[S]], Awaitable[WorkerParts]]

    @property
    def name(self) -> str:
        return self.process.name


def check_consumers(process: ProcessSpec, consumers: Sequence[ConsumerSpec]) -> None:
    """Refuse a consumer the catalogue does not declare for ``process``: its group must be the
    process's (so the dead-letter topic it writes is one the process produces) and its topics
    among those the process consumes."""
    consumes = {topic.name for topic in process.consumes}
    for consumer in consumers:
        if consumer.group != process.group or not set(consumer.topics) <= consumes:
            raise UndeclaredTopic(
                f"a consumer of {', '.join(consumer.topics)} in group {consumer.group!r} is not "
                f"process {process.name!r}'s: app/core/processes.py declares group "
                f"{process.group!r} on {', '.join(sorted(consumes)) or 'no topic'}"
            )
