"""The runner (services/runner.py): any set of the catalogue's workers, in one process or one
process each, looked up in the process catalogue (services/catalogue.py)."""

from __future__ import annotations

import os
import signal
import socket
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from app.core.events.contract import EventType
from app.core.events.outbox import record
from app.core.processes import WORKERS
from devtools.postgres import PostgresServer
from devtools.process import LOOPBACK, free_port
from devtools.testkit.events_support import task_event
from devtools.testkit.metrics import Samples
from devtools.testkit.workers_support import Database, eventually, migrated_database
from services import catalogue
from services.runner import main
from tests.services.conftest import NewWorker

RUNNER = [sys.executable, "-m", "services.runner"]


def test_every_worker_of_the_catalogue_is_found_by_its_name() -> None:
    found = catalogue.workers(catalogue.WORKER_NAMES)
    assert [worker.process for worker in found] == list(WORKERS)
    assert catalogue.WORKER_NAMES == ("relay", "recurring", "notifier", "audit")


@pytest.mark.parametrize("name", ["api", "nope"])
def test_a_name_that_is_no_worker_process_is_refused(name: str) -> None:
    with pytest.raises(LookupError) as refused:
        catalogue.worker(name)
    assert str(refused.value) == (
        f"no worker process {name!r}: the catalogue has relay, recurring, notifier, audit"
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "name the workers, or give --all alone"),
        (["--all", "audit"], "name the workers, or give --all alone"),
        (["audit", "audit"], "a worker is named twice"),
        (["audit", "nope"], "no worker process 'nope'"),
    ],
)
def test_the_command_line_refuses_a_bad_list_and_starts_nothing(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


@pytest.fixture
async def db(postgres: PostgresServer) -> AsyncIterator[Database]:
    async with migrated_database(postgres) as database:
        yield database


async def _outbox_event_audited(db: Database) -> None:
    """An event written to the outbox must come out in the audit log: the relay published it
    to Kafka and the audit consumer applied it."""
    event = task_event(EventType.TASK_UPDATED, task_id=uuid.uuid4(), version=1)
    async with db.sessions() as session, session.begin():
        await record(session, event)

    async def audited() -> bool:
        async with db.engine.connect() as connection:
            query = text("SELECT count(*) FROM audit_log WHERE event_id = :id")
            return await connection.scalar(query, {"id": event.id}) == 1

    await eventually(audited, within=40, what="the outbox event in the audit log")


def _port_pair() -> int:
    """A free port whose next port is free too (the runner's --each numbers them in order)."""
    for _ in range(50):
        port = free_port()
        with socket.socket() as probe:
            try:
                probe.bind((LOOPBACK, port + 1))
            except OSError:
                continue
        return port
    raise AssertionError("no two free consecutive ports")


@pytest.mark.postgres
@pytest.mark.kafka
async def test_relay_and_audit_in_one_process(db: Database, new_worker: NewWorker) -> None:
    both = new_worker("relay+audit", command=[*RUNNER, "relay", "audit"])
    await both.start()
    try:
        await _outbox_event_audited(db)
        async with httpx.AsyncClient(timeout=5) as client:
            samples = Samples.parse((await client.get(f"{both.url}/metrics")).text)
        # One registry for both: the relay's backlog (its one event published) and the audit
        # consumer's handling. The group "audit" is the catalogue's, on the session's broker, so
        # it also catches up on events earlier tests left on task-events: at least ours.
        assert samples.value("todo_outbox_backlog") == 0
        assert samples.total("todo_events_processed_total", group="audit") >= 1
        both.send_sigterm()
        assert await both.wait_exit() == 0
    finally:
        both.stop()


@pytest.mark.postgres
@pytest.mark.kafka
async def test_each_worker_in_its_own_process_and_one_dying_stops_the_rest(
    db: Database, new_worker: NewWorker
) -> None:
    port = _port_pair()
    runner = new_worker(
        "runner",
        env={"HTTP_PORT": str(port)},
        command=[*RUNNER, "--each", "relay", "audit"],
        port=port + 1,  # ready once the audit process (the second) is
    )
    await runner.start()
    try:
        await _outbox_event_audited(db)
        async with httpx.AsyncClient(timeout=5) as client:
            relay = await client.get(f"http://{LOOPBACK}:{port}/metrics")
            audit = await client.get(f"{runner.url}/metrics")
        assert "todo_outbox_backlog" in relay.text
        assert "todo_outbox_backlog" not in audit.text  # two processes, two registries
        # SIGKILL the audit process: the runner stops the relay and reports the failure.
        os.kill(_child_pid(runner.pid, "services.audit"), signal.SIGKILL)
        assert await runner.wait_exit() == 1
    finally:
        runner.stop()
    assert "runner: audit exited with -9" in runner.log_path.read_text()


def _child_pid(parent: int, module: str) -> int:
    """The pid of ``parent``'s child running ``python -m <module>``."""
    for status in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = status.read_text().rsplit(")", 1)[1].split()
            cmdline = (status.parent / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if int(fields[1]) == parent and module.encode() in cmdline:
            return int(status.parent.name)
    raise AssertionError(f"no child of {parent} runs {module}")
