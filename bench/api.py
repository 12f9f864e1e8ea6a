"""Benchmark: the task API on real PostgreSQL against a raw asyncpg loop writing the same rows.

    uv run python -m bench.api [--seconds 8] [--concurrency 32] [--workers 1]

Starts PostgreSQL and the API (uvicorn) on loopback, then prints:
- create-task throughput and p50/p99 latency at full load (closed loop: `wrk`, a C load
  generator, so the client's own CPU does not eat into the server's share of the 2 cores);
- list-tasks throughput and p99 (wrk);
- the raw ceiling: asyncpg inserting the same task row + outbox row per task, same concurrency;
- p50/p99 of create-task at half the measured maximum rate (open loop, bench/paced_http.py);
- CPU time per created task: the API processes (from /proc) and the raw loop's process;
- the API process's resident memory.
Ratios are against the raw loop measured in the same run, because absolute times on a shared
2-core machine are noise.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import re
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx

from bench.common import cpu_seconds, rss_mib, summary_ms
from bench.paced_http import http_request, paced
from devtools.api_server import ApiServer
from devtools.postgres import PostgresServer
from devtools.process import LOOPBACK

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
                task_id,
                owner,
                TASK["title"],
                TASK["description"],
                "high",
                '["bench"]',
                due,
                now,
            )
            await connection.execute(
                "INSERT INTO outbox (event_id, topic, key, event_type, payload)"
                " VALUES ($1, 'task-events', $2, 'task.created', $3)",
                uuid.uuid4(),
                str(task_id),
                payload,
            )
            await connection.execute("SELECT pg_notify('outbox', '')")

    try:
        return await closed_loop(insert, concurrency, seconds)
    finally:
        await pool.close()


WRK_SCRIPT = """
wrk.method = "{method}"
wrk.body = {body}
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "{authorization}"
"""


@dataclass
class WrkResult:
    requests: int
    rate: float
    p50_ms: float
    p99_ms: float
    errors: int


def _ms(value: str) -> float:
    for unit, factor in (("us", 0.001), ("ms", 1.0), ("s", 1000.0)):
        if value.endswith(unit):
            return float(value.removesuffix(unit)) * factor
    raise ValueError(value)


def wrk(
    url: str,
    method: str,
    body: str | None,
    authorization: str,
    seconds: float,
    concurrency: int,
    workdir: Path,
) -> WrkResult:
    """Closed-loop load with wrk; parses its --latency report."""
    script = workdir / f"{method.lower()}.lua"
    script.write_text(
        WRK_SCRIPT.format(
            method=method, body=json.dumps(body) if body else "nil", authorization=authorization
        )
    )
    output = subprocess.run(
        [
            "wrk",
            "--latency",
            "-t",
            "2",
            "-c",
            str(concurrency),
            "-d",
            f"{seconds:g}s",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    percentiles = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", output, re.MULTILINE))
    if set(percentiles) != {"50", "99"}:
        raise RuntimeError(f"unexpected wrk output:\n{output}")
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return WrkResult(
        requests=int(re.search(r"(\d+) requests in", output).group(1)),  # type: ignore[union-attr]
        rate=float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),  # type: ignore[union-attr]
        p50_ms=_ms(percentiles["50"]),
        p99_ms=_ms(percentiles["99"]),
        errors=int(errors.group(1)) if errors else 0,
    )


async def run(seconds: float, concurrency: int, workers: int) -> None:
    if shutil.which("wrk") is None:
        raise SystemExit("bench.api needs wrk: apt-get install wrk")
    workdir = Path(tempfile.mkdtemp(prefix="bench-api-"))
    with PostgresServer() as postgres:
        database = postgres.create_database()
        api = ApiServer(postgres.url(database), workers=workers)
        # Alembic runs its own event loop: start (migrate + spawn) off this one.
        await asyncio.to_thread(api.start)
        try:
            async with httpx.AsyncClient(base_url=api.url, timeout=30) as client:
                headers = await login(client)
            task_body = json.dumps(TASK)
            load = functools.partial(
                wrk,
                authorization=headers["Authorization"],
                concurrency=concurrency,
                workdir=workdir,
            )
            await asyncio.to_thread(load, f"{api.url}/tasks", "POST", task_body, seconds=1)
            api_cpu_before = cpu_seconds(api.pids())
            created = await asyncio.to_thread(
                load, f"{api.url}/tasks", "POST", task_body, seconds=seconds
            )
            api_cpu = (cpu_seconds(api.pids()) - api_cpu_before) / created.requests
            listed = await asyncio.to_thread(
                load, f"{api.url}/tasks?limit=50", "GET", None, seconds=seconds
            )
            request = http_request(
                "POST",
                "/tasks",
                f"{LOOPBACK}:{api.port}",
                {**headers, "Content-Type": "application/json"},
                task_body.encode(),
            )
            half = await paced(
                LOOPBACK, api.port, request, rate=created.rate / 2, seconds=min(seconds, 5)
            )
            rss = sum(rss_mib(pid) for pid in api.pids())
        finally:
            api.stop()
        loop_cpu_before = time.process_time()
        raw_rate, raw_lat = await raw_inserts(
            postgres.url(database, driver="postgresql"), concurrency, seconds
        )
        raw_cpu = (time.process_time() - loop_cpu_before) / (raw_rate * seconds)
    shutil.rmtree(workdir, ignore_errors=True)

    print(f"{concurrency} connections, {seconds:g} s per phase, PostgreSQL + uvicorn x{workers}")
    print(
        f"create task (API)   {created.rate:8.1f} tasks/s   p50 {created.p50_ms:6.2f} ms  "
        f"p99 {created.p99_ms:6.2f} ms  errors {created.errors}"
    )
    print(f"raw asyncpg loop    {raw_rate:8.1f} tasks/s   {summary_ms(raw_lat)}")
    print(
        f"list 50 tasks (API) {listed.rate:8.1f} pages/s   p50 {listed.p50_ms:6.2f} ms  "
        f"p99 {listed.p99_ms:6.2f} ms  errors {listed.errors}"
    )
    print(
        f"create at half max  {created.rate / 2:8.1f} tasks/s   {summary_ms(half.latencies_s)}"
        f"  (open loop; statuses {half.statuses})"
    )
    print(
        f"CPU per task        API {api_cpu * 1000:.3f} ms (all API processes), "
        f"raw loop {raw_cpu * 1000:.3f} ms"
    )
    print(f"API RSS             {rss:8.1f} MiB (all processes)")
    print(f"ratio API create / raw loop: {created.rate / raw_rate:.2f} (target >= 0.40)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    args = parser.parse_args()
    asyncio.run(run(args.seconds, args.concurrency, args.workers))


if __name__ == "__main__":
    main()
