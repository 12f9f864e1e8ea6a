"""What the worker-service tests share: a test's worker processes, wired to its database."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, Unpack

import pytest

from devtools.kafka import KafkaBroker
from devtools.testkit.events_support import ServiceProcess
from devtools.testkit.worker_process import WorkerExtras
from devtools.testkit.workers_support import Database


class NewWorker(Protocol):
    def __call__(self, name: str, **extras: Unpack[WorkerExtras]) -> ServiceProcess: ...


@pytest.fixture
def new_worker(db: Database, kafka: KafkaBroker, tmp_path: Path) -> NewWorker:
    """Makes worker ``name`` (not started) on the module's ``db`` and the session's broker,
    logging into the test's own directory."""

    def make(name: str, **extras: Unpack[WorkerExtras]) -> ServiceProcess:
        return ServiceProcess(
            name, database_url=db.url, bootstrap=kafka.bootstrap, log_dir=tmp_path, **extras
        )

    return make
