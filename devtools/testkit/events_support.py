"""Support for the event-backbone tests (runtime, relay, audit, e2e) and bench/pipeline.py.

Raw Kafka access for the tests' own eyes (produce bytes, read a topic from the beginning, read
a group's committed offsets), well-formed events, and the worker services as real processes
(``python -m services.<name>``) that a test can SIGTERM or ``kill -9``.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Unpack

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from app.core.events.contract import CloudEvent, EventType, TaskData, TaskDeletedData
from app.core.events.topics import Topic
from devtools.kafka import KafkaBroker
from devtools.testkit.metrics import Samples
from devtools.testkit.worker_process import WorkerExtras, WorkerOptions, WorkerProcess


def new_topic(kafka: KafkaBroker, prefix: str, partitions: int = 3) -> str:
    """A fresh topic (auto-creation is off on the test broker)."""
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    kafka.create_topics([Topic(name, partitions)])
    return name


def new_group(kafka: KafkaBroker, prefix: str) -> str:
    """A fresh consumer group name, with its dead-letter topic created."""
    group = f"{prefix}-{uuid.uuid4().hex[:8]}"
    kafka.create_topics([Topic(f"{group}.dlq", 1)])
    return group


def task_event(
    event_type: EventType = EventType.TASK_CREATED,
    *,
    task_id: uuid.UUID | None = None,
    owner_id: uuid.UUID | None = None,
    version: int = 1,
    title: str = "a task",
) -> CloudEvent:
    """A valid task event, as the API would emit it."""
    task_id = task_id or uuid.uuid4()
    owner_id = owner_id or uuid.uuid4()
    if event_type is EventType.TASK_DELETED:
        return CloudEvent.of(
            event_type,
            TaskDeletedData(id=task_id, owner_id=owner_id, series_id=None),
            subject=task_id,
        )
    data = TaskData(
        id=task_id,
        owner_id=owner_id,
        title=title,
        description="",
        priority="medium",
        tags=[],
        completed=event_type is EventType.TASK_COMPLETED,
        completed_at=datetime.now(UTC) if event_type is EventType.TASK_COMPLETED else None,
        due_date=None,
        timezone="UTC",
        recurrence=None,
        series_id=None,
        occurrence_index=None,
        version=version,
    )
    return CloudEvent.of(event_type, data, subject=task_id)


def encode(event: CloudEvent) -> bytes:
    return event.model_dump_json().encode()


async def produce(
    bootstrap: str, topic: str, records: Iterable[tuple[str | None, bytes | None]]
) -> None:
    """Send raw ``(key, value)`` records and wait until the broker has every one."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        futures = [
            await producer.send(topic, value, key=key.encode() if key is not None else None)
            for key, value in records
        ]
        for future in futures:
            await future
    finally:
        await producer.stop()


@dataclass(frozen=True)
class Record:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: dict[str, bytes]


async def read_topic(
    bootstrap: str,
    topic: str,
    *,
    count: int,
    keys: Collection[str] | None = None,
    within: float = 30.0,
) -> list[Record]:
    """The records of ``topic`` from the beginning (only those with ``keys``, if given), once
    there are at least ``count``.

    Waits up to ``within`` seconds for them, and reads up to the end offsets as of then, so a
    surplus (a duplicate that should not be there) shows too. Records keep partition order.
    """
    wanted = None if keys is None else {key.encode() for key in keys}
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        partitions = await _partitions(bootstrap, topic)
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        records: list[Record] = []
        deadline = time.monotonic() + within
        while True:
            batch = await consumer.getmany(timeout_ms=200)
            for tp_records in batch.values():
                records.extend(
                    Record(r.topic, r.partition, r.offset, r.key, r.value or b"", dict(r.headers))
                    for r in tp_records
                    if wanted is None or r.key in wanted
                )
            positions = [await consumer.position(tp) for tp in partitions]
            caught_up = all(pos >= ends[tp] for pos, tp in zip(positions, partitions, strict=True))
            if len(records) >= count and caught_up:
                return records
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{topic}: {len(records)} records after {within:g} s, expected {count}"
                )
            ends = await consumer.end_offsets(partitions)
    finally:
        await consumer.stop()


async def _partitions(bootstrap: str, topic: str) -> list[TopicPartition]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        (described,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    assert described["error_code"] == 0, f"topic {topic}: error {described['error_code']}"
    return [TopicPartition(topic, p["partition"]) for p in described["partitions"]]


async def committed_offsets(bootstrap: str, group: str, topic: str) -> dict[tuple[str, int], int]:
    """The offsets ``group`` has committed on ``topic`` ({} while its coordinator is not up)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group)
    await consumer.start()
    try:
        async with asyncio.timeout(10):
            committed = {
                (tp.topic, tp.partition): await consumer.committed(tp)
                for tp in await _partitions(bootstrap, topic)
            }
    except (KafkaError, TimeoutError):
        return {}
    finally:
        await consumer.stop()
    return {tp: offset for tp, offset in committed.items() if offset is not None}


async def end_offsets(bootstrap: str, topic: str) -> dict[tuple[str, int], int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        partitions = await _partitions(bootstrap, topic)
        ends = await consumer.end_offsets(partitions)
    finally:
        await consumer.stop()
    return {(tp.topic, tp.partition): offset for tp, offset in ends.items()}


class ServiceProcess:
    """The async face of :class:`WorkerProcess` (the one worker harness): start and wait for
    the exit without blocking the event loop, signals, and /metrics samples."""

    def __init__(self, name: str, **options: Unpack[WorkerOptions]) -> None:
        self.name = name
        # The broker's minimum: a killed consumer's partitions move on within seconds.
        env = {"CONSUMER_SESSION_TIMEOUT_MS": "6000", **(options.get("env") or {})}
        self.server = WorkerProcess(name, **(options | {"env": env}))
        self.port = self.server.port
        self.url = self.server.url
        self.log_path = self.server.log_path

    @property
    def pid(self) -> int:
        assert self.server.process.pid is not None
        return self.server.process.pid

    async def start(self, *, within: float = 40.0) -> None:
        """Start and wait until /readyz answers 200 (consumers in their groups, DB reachable)."""
        self.server.start_timeout = within
        await asyncio.to_thread(self.server.start)

    def kill(self) -> None:
        """SIGKILL: no cleanup at all, as when a node dies."""
        os.kill(self.pid, signal.SIGKILL)
        self.server.process.wait()

    def send_sigterm(self) -> None:
        """Ask for the graceful shutdown (what Kubernetes sends first)."""
        os.kill(self.pid, signal.SIGTERM)

    async def wait_exit(self, *, within: float = 30.0) -> int:
        """The exit code, once the process has exited (within ``within`` seconds)."""
        return await asyncio.wait_for(asyncio.to_thread(self.server.process.wait), within)

    def stop(self) -> None:
        self.server.stop()

    async def metric(self, name: str, **labels: str) -> float:
        """The sum of a metric's samples that carry ``labels`` (0 when absent)."""
        async with httpx.AsyncClient(timeout=5) as client:
            return Samples.parse((await client.get(f"{self.url}/metrics")).text).total(
                name, **labels
            )


@dataclass(frozen=True)
class WorkerSite:
    """Where a test's workers run: their database, their broker and the folder for their logs."""

    database_url: str
    bootstrap: str
    log_dir: Path

    def worker(self, name: str, **extras: Unpack[WorkerExtras]) -> ServiceProcess:
        """Worker ``name`` on this site (not started)."""
        return ServiceProcess(
            name,
            database_url=self.database_url,
            bootstrap=self.bootstrap,
            log_dir=self.log_dir,
            **extras,
        )
