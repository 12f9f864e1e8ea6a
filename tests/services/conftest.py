"""What the worker-service tests share: a test's worker processes, wired to its database, and
the receivers the notifier's channels deliver to."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Protocol, Unpack

import pytest

from devtools.kafka import KafkaBroker
from devtools.testkit.events_support import ServiceProcess, WorkerSite
from devtools.testkit.push_service import PushService
from devtools.testkit.worker_process import WorkerExtras
from devtools.testkit.workers_support import Database, SmtpSink


class NewWorker(Protocol):
    def __call__(self, name: str, **extras: Unpack[WorkerExtras]) -> ServiceProcess: ...


@pytest.fixture
def new_worker(db: Database, kafka: KafkaBroker, tmp_path: Path) -> NewWorker:
    """Makes worker ``name`` (not started) on the module's ``db`` and the session's broker,
    logging into the test's own directory."""
    return WorkerSite(db.url, kafka.bootstrap, tmp_path).worker


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    with SmtpSink() as sink:
        yield sink


@pytest.fixture
async def push() -> AsyncIterator[PushService]:
    async with PushService() as service:
        yield service
