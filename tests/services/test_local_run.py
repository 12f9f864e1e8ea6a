"""The local run: the API, relay and workers in one process on the in-process bus (SQLite).

A convenience, so only its wiring is tested here; every delivery guarantee is tested on Kafka.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import sqlite3
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from devtools.process import LOOPBACK, free_port
from services.audit.worker import audit_consumer
from services.common import DeadLetterReason, InProcessBus, OutgoingMessage, WorkerSettings
from tests.services.events_support import encode, task_event
from tests.services.workers_support import Database, eventually, sqlite_database


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    async with sqlite_database(tmp_path / "local.db") as database:
        yield database


async def test_the_bus_applies_events_once_and_keeps_poison_aside(db: Database) -> None:
    bus = InProcessBus(db.sessions)
    bus.subscribe(audit_consumer(WorkerSettings()))
    event = task_event()
    message = OutgoingMessage("task-events", event.subject, encode(event), str(event.id))
    await bus.start()
    try:
        await bus.publish([message, message, OutgoingMessage("task-events", "k", b"garbage")])
        await bus.drained()
    finally:
        await bus.stop()

    async with db.engine.connect() as connection:
        rows = (await connection.exec_driver_sql("SELECT event_id FROM audit_log")).all()
    assert [uuid.UUID(str(row[0])) for row in rows] == [event.id]
    assert [(d.group, d.reason) for d in bus.dead_letters] == [
        ("audit", DeadLetterReason.UNDECODABLE)
    ]


def _audited(path: Path, task_id: str) -> bool:
    with sqlite3.connect(path) as connection:
        (count,) = connection.execute(
            "SELECT count(*) FROM audit_log WHERE replace(task_id, '-', '') = ?",
            (task_id.replace("-", ""),),
        ).fetchone()
    return bool(count)


async def test_the_local_run_carries_a_change_from_the_api_to_the_audit_history(
    tmp_path: Path,
) -> None:
    database = tmp_path / "todo.db"
    port = free_port()
    env = {key: value for key, value in os.environ.items() if key not in ("KAFKA_BOOTSTRAP", "CI")}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.local",
        "--port",
        str(port),
        env={
            **env,
            "DATABASE_URL": f"sqlite:///{database}",
            "JWT_SECRET": secrets.token_urlsafe(48),
            "LOG_LEVEL": "WARNING",
        },
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://{LOOPBACK}:{port}", timeout=5) as client:
            await eventually(lambda: _healthy(client), within=60, what="the local run serving")
            credentials = {"email": "local@example.com", "password": secrets.token_urlsafe(12)}
            assert (await client.post("/auth/register", json=credentials)).status_code == 201
            token = await client.post(
                "/auth/token",
                data={"username": credentials["email"], "password": credentials["password"]},
            )
            headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
            created = await client.post("/tasks", json={"title": "local"}, headers=headers)
            assert created.status_code == 201
            task_id = created.json()["id"]
            await eventually(
                lambda: _audited(database, task_id), within=30, what="the task in the audit log"
            )
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, stderr.decode()[-2000:]


async def _healthy(client: httpx.AsyncClient) -> bool:
    try:
        return (await client.get("/healthz")).status_code == 200
    except httpx.HTTPError:
        return False
