"""Benchmark: the task API on real PostgreSQL against a raw asyncpg loop writing the same rows.

    uv run python -m bench.api [--seconds 8] [--concurrency 32]

Starts PostgreSQL and the API (uvicorn, one process) on loopback, then prints:
- create-task throughput and p50/p99 latency at full load (closed loop, N concurrent clients);
- list-tasks throughput and p99;
- the raw ceiling: asyncpg inserting the same task row + outbox row per task, same concurrency;
- p99 of create-task at half the measured maximum rate (open loop, paced);
- the API process's resident memory.
Ratios are against the raw loop measured in the same run, because absolute times on a shared
2-core machine are noise.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import asyncpg
import httpx

from bench.common import percentile, rss_mib, summary_ms
from devtools.api_server import ApiServer
from devtools.postgres import PostgresServer

TASK = {
    "title": "benchmark task",
    "description": "created by bench/api.py",
    "priority": "high",
    "tags": ["bench"],
    "due_date": "2031-01-01T09:00:00Z",
}


async def closed_loop(
    call: Callable[[], Awaitable[None]], concurrency: int, seconds: float
) -> tuple[float, list[float]]:
    """Run ``call`` back-to-back from ``concurrency`` workers; (ops/s, latencies)."""
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            await call()
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return len(latencies) / (time.perf_counter() - started), latencies


async def open_loop(
    call: Callable[[], Awaitable[None]], rate: float, seconds: float
) -> list[float]:
    """Start ``call`` at a fixed ``rate`` per second regardless of replies; latencies."""
    latencies: list[float] = []

    async def one() -> None:
        started = time.perf_counter()
        await call()
        latencies.append(time.perf_counter() - started)

    pending = []
    begin = time.perf_counter()
    for i in range(int(rate * seconds)):
        delay = begin + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        pending.append(asyncio.create_task(one()))
    await asyncio.gather(*pending)
    return latencies


async def login(client: httpx.AsyncClient) -> dict[str, str]:
    email, password = f"bench-{uuid.uuid4().hex[:8]}@example.com", "benchmark-pw"
    await client.post("/auth/register", json={"email": email, "password": password})
    token = await client.post("/auth/token", data={"username": email, "password": password})
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


async def raw_inserts(dsn: str, concurrency: int, seconds: float) -> tuple[float, list[float]]:
    """The same rows the API writes per task (task + outbox event), straight through asyncpg."""
    pool = await asyncpg.create_pool(dsn, min_size=concurrency, max_size=concurrency)
    owner = uuid.uuid4()
    await pool.execute(
        "INSERT INTO users (id, email, password_hash) VALUES ($1, $2, 'x')",
        owner,
        f"raw-{owner.hex[:8]}@example.com",
    )
    due = datetime(2031, 1, 1, 9, tzinfo=UTC)

    async def insert() -> None:
        task_id, now = uuid.uuid4(), datetime.now(UTC)
        payload = json.dumps({"id": str(uuid.uuid4()), "type": "task.created", "data": TASK})
        async with pool.acquire() as connection, connection.transaction():
            await connection.execute(
                "INSERT INTO tasks (id, owner_id, title, description, priority, tags, due_date,"
                " created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
                task_id, owner, TASK["title"], TASK["description"], "high", '["bench"]', due, now,
            )
            await connection.execute(
                "INSERT INTO outbox (event_id, topic, key, event_type, payload)"
                " VALUES ($1, 'task-events', $2, 'task.created', $3)",
                uuid.uuid4(), str(task_id), payload,
            )
            await connection.execute("SELECT pg_notify('outbox', '')")

    try:
        return await closed_loop(insert, concurrency, seconds)
    finally:
        await pool.close()


async def run(seconds: float, concurrency: int) -> None:
    with PostgresServer() as postgres:
        database = postgres.create_database()
        api = ApiServer(postgres.url(database))
        # Alembic runs its own event loop: start (migrate + spawn) off this one.
        await asyncio.to_thread(api.start)
        try:
            limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
            async with httpx.AsyncClient(base_url=api.url, limits=limits, timeout=30) as client:
                headers = await login(client)

                async def create() -> None:
                    response = await client.post("/tasks", json=TASK, headers=headers)
                    assert response.status_code == 201, response.text

                async def list_page() -> None:
                    response = await client.get("/tasks?limit=50", headers=headers)
                    assert response.status_code == 200, response.text

                await closed_loop(create, concurrency, 1.0)  # warm-up: pools, caches, JIT-free PG
                create_rate, create_lat = await closed_loop(create, concurrency, seconds)
                list_rate, list_lat = await closed_loop(list_page, concurrency, seconds)
                paced = await open_loop(create, create_rate / 2, seconds)
                rss = rss_mib(api.pid) if api.pid else float("nan")

        finally:
            api.stop()
        raw_rate, raw_lat = await raw_inserts(
            postgres.url(database, driver="postgresql"), concurrency, seconds
        )

    print(f"concurrency {concurrency}, {seconds:g} s per phase, PostgreSQL + uvicorn (1 process)")
    print(f"create task (API)   {create_rate:8.1f} tasks/s   {summary_ms(create_lat)}")
    print(f"raw asyncpg loop    {raw_rate:8.1f} tasks/s   {summary_ms(raw_lat)}")
    print(f"list tasks (API)    {list_rate:8.1f} pages/s   {summary_ms(list_lat)}")
    print(
        f"create at half max  {create_rate / 2:8.1f} tasks/s   p99 {percentile(paced, 99) * 1000:.2f} ms"
    )
    print(f"API RSS             {rss:8.1f} MiB")
    print(f"ratio API create / raw loop: {create_rate / raw_rate:.2f} (target >= 0.40)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    asyncio.run(run(args.seconds, args.concurrency))


if __name__ == "__main__":
    main()
