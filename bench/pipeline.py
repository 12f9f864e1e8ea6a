"""Benchmark: the event pipeline on the real PostgreSQL and Kafka, against a raw aiokafka loop.

    uv run python -m bench.pipeline [--events 5000] [--rate 50] [--seconds 6]

Starts PostgreSQL, Kafka, the API, ``python -m services.relay`` and ``python -m services.audit``
on loopback, then prints:
- pipeline throughput: ``--events`` task events committed to the outbox in one transaction,
  until every one is in ``audit_log`` (relay -> Kafka -> audit consumer -> PostgreSQL);
- the raw ceiling in the same run: an idempotent ``acks=all`` aiokafka producer and a consumer
  group committing after every batch, moving the same number of same-sized records (no DB);
- end-to-end latency at moderate load: tasks created through the API at ``--rate`` per second
  for ``--seconds``, from the API's response (the commit) until the task's ``task.created`` is
  in the audit history (seen by a 5 ms poll, so latencies are over-, never under-stated);
- the resident memory of each service process.
Ratios are against the raw loop of the same run: absolute figures on a shared 2-core machine
are noise. Targets (issue 3): throughput >= 40 % of raw, p99 < 100 ms, each service < 120 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.db.event_models import AuditLog
from app.core.db.models import OutboxEvent
from app.core.events import outbox
from app.core.events.topics import Topic
from app.core.processes import TOPICS
from bench.common import rss_mib, summary_ms
from devtools.api_server import ApiServer
from devtools.kafka import KafkaBroker
from devtools.postgres import PostgresServer
from devtools.testkit.events_support import encode, task_event
from devtools.testkit.workers_stack import running_stack

POLL_S = 0.005
RAW_TOPIC = Topic(f"bench-raw-{uuid.uuid4().hex[:6]}", 3)


@dataclass
class Figures:
    raw_per_s: float
    relay_per_s: float
    pipeline_per_s: float
    latencies_s: list[float]
    rss_mib: dict[str, float]


async def raw_loop(bootstrap: str, values: list[bytes]) -> float:
    """Records/s of produce (idempotent, acks=all) -> consume (a group, commit per batch)."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=2
    )
    consumer = AIOKafkaConsumer(
        RAW_TOPIC.name,
        bootstrap_servers=bootstrap,
        group_id=f"bench-raw-{uuid.uuid4().hex[:6]}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=100,
    )
    await producer.start()
    await consumer.start()
    try:
        started = time.perf_counter()

        async def produce() -> None:
            sent = [
                await producer.send(RAW_TOPIC.name, value, key=uuid.uuid4().bytes)
                for value in values
            ]
            await asyncio.gather(*sent)

        async def consume() -> None:
            seen = 0
            while seen < len(values):
                batch = await consumer.getmany(timeout_ms=500, max_records=100)
                seen += sum(len(records) for records in batch.values())
                if batch:
                    await consumer.commit(
                        {tp: records[-1].offset + 1 for tp, records in batch.items()}
                    )

        await asyncio.gather(produce(), consume())
        return len(values) / (time.perf_counter() - started)
    finally:
        await producer.stop()
        await consumer.stop()


async def audited(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(AuditLog)) or 0)


async def unpublished(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        return int(
            await session.scalar(
                select(func.count())
                .select_from(OutboxEvent)
                .where(OutboxEvent.published_at.is_(None))
            )
            or 0
        )


async def pipeline_drain(
    sessions: async_sessionmaker[AsyncSession], count: int
) -> tuple[float, float]:
    """Events/s from one commit of ``count`` outbox rows until all are published, and until
    all are in audit_log."""
    before = await audited(sessions)
    events = [task_event() for _ in range(count)]
    async with sessions() as session, session.begin():
        await outbox.record_many(session, events)
    started = time.perf_counter()
    published_s = 0.0
    while await audited(sessions) < before + count:
        if not published_s and not await unpublished(sessions):
            published_s = time.perf_counter() - started
        await asyncio.sleep(POLL_S)
    return count / (published_s or time.perf_counter() - started), count / (
        time.perf_counter() - started
    )


async def api_latency(
    api: ApiServer, sessions: async_sessionmaker[AsyncSession], rate: float, seconds: float
) -> list[float]:
    """Seconds from each create's response to its task.created in audit_log."""
    async with httpx.AsyncClient(base_url=api.url, timeout=10) as client:
        email, password = f"{uuid.uuid4().hex[:10]}@example.com", secrets.token_urlsafe(12)
        await client.post("/auth/register", json={"email": email, "password": password})
        token = await client.post("/auth/token", data={"username": email, "password": password})
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        committed: dict[uuid.UUID, float] = {}
        effected: dict[uuid.UUID, float] = {}

        async def create() -> None:
            response = await client.post("/tasks", json={"title": "bench"}, headers=headers)
            committed[uuid.UUID(response.json()["id"])] = time.perf_counter()

        async def watch(total: int) -> None:
            last = int(await _max_audit_id(sessions))
            while len(effected) < total:
                async with sessions() as session:
                    rows = (
                        await session.execute(
                            select(AuditLog.id, AuditLog.task_id).where(AuditLog.id > last)
                        )
                    ).all()
                now = time.perf_counter()
                for row in rows:
                    last = max(last, row.id)
                    effected.setdefault(row.task_id, now)
                await asyncio.sleep(POLL_S)

        total = int(rate * seconds)
        watcher = asyncio.create_task(watch(total))
        creates = []
        begin = time.perf_counter()
        for i in range(total):
            await asyncio.sleep(max(0.0, begin + i / rate - time.perf_counter()))
            creates.append(asyncio.create_task(create()))
        await asyncio.gather(*creates)
        await asyncio.wait_for(watcher, 60)
    return [effected[task] - at for task, at in committed.items()]


async def _max_audit_id(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.coalesce(func.max(AuditLog.id), 0))) or 0)


async def run(
    api: ApiServer, kafka: KafkaBroker, log_dir: Path, args: argparse.Namespace
) -> Figures:
    # The relay comes with the stack; it logs nothing per batch at the stack's INFO level.
    async with running_stack(api, kafka, log_dir) as stack:
        audit = stack.service("audit", env={"LOG_LEVEL": "WARNING"})
        await audit.start()
        try:
            sessions = stack.db.sessions
            sample = encode(task_event())
            raw = await raw_loop(kafka.bootstrap, [sample] * args.events)
            # Warm-up: connections, first-use code paths.
            await pipeline_drain(sessions, min(500, args.events))
            relay, pipeline = await pipeline_drain(sessions, args.events)
            latencies = await api_latency(api, sessions, args.rate, args.seconds)
            rss = {
                "api": rss_mib(api.pid or 0),
                "relay": rss_mib(stack.relay.pid),
                "audit": rss_mib(audit.pid),
            }
            return Figures(raw, relay, pipeline, latencies, rss)
        finally:
            audit.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--rate", type=float, default=50.0, help="API creates per second")
    parser.add_argument("--seconds", type=float, default=6.0)
    args = parser.parse_args()
    log_dir = Path(tempfile.mkdtemp(prefix="bench-pipeline-"))
    with PostgresServer(log_dir=log_dir) as postgres, KafkaBroker(log_dir=log_dir) as kafka:
        kafka.create_topics([*TOPICS, RAW_TOPIC])
        with ApiServer(postgres.url(postgres.create_database()), log_dir=log_dir) as api:
            figures = asyncio.run(run(api, kafka, log_dir, args))
    ratio = figures.pipeline_per_s / figures.raw_per_s
    print(f"raw aiokafka produce->consume ({args.events} records): {figures.raw_per_s:8.0f} /s")
    print(
        f"relay: outbox commit -> published ({args.events} events): {figures.relay_per_s:8.0f} /s"
    )
    print(
        f"pipeline outbox->relay->Kafka->audit ({args.events} events): "
        f"{figures.pipeline_per_s:8.0f} /s  = {ratio:.0%} of raw (target >= 40%)"
    )
    print(
        f"API commit -> audit effect at {args.rate:g}/s ({len(figures.latencies_s)} tasks): "
        f"{summary_ms(figures.latencies_s)}  (target p99 < 100 ms)"
    )
    for name, mib in figures.rss_mib.items():
        print(f"RSS {name:6s} {mib:6.1f} MiB")
    print(f"logs: {log_dir}")


if __name__ == "__main__":
    main()
