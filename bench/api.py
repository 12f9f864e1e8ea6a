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
from typing import Final

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


async def login(client: httpx.AsyncClient) -> tuple[str, dict[str, str]]:
    """A new account's e-mail and the Authorization header of its token."""
    email, password = f"bench-{uuid.uuid4().hex[:8]}@example.com", "benchmark-pw"
    await client.post("/auth/register", json={"email": email, "password": password})
    token = await client.post("/auth/token", data={"username": email, "password": password})
    return email, {"Authorization": f"Bearer {token.json()['access_token']}"}


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


# wrk reports through its Lua `done` hook as one JSON line: its text report drops the latency
# lines in some runs (e.g. when every request timed out), and socket errors and timeouts are
# figures of the run, not reasons to fail it.
WRK_SCRIPT = """
wrk.method = "{method}"
wrk.body = {body}
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "{authorization}"

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '\\nWRK_JSON {{"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, '
    .. '"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect, e.read, e.write, e.status, e.timeout))
end
"""


@dataclass(frozen=True)
class WrkResult:
    requests: int
    rate: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int
    timeouts: int

    def line(self) -> str:
        return (
            f"p50 {self.p50_ms:6.2f} ms  p99 {self.p99_ms:6.2f} ms  non-2xx {self.non_2xx}"
            f"  socket errors {self.socket_errors}  timeouts {self.timeouts}"
        )


def parse_wrk(output: str) -> WrkResult:
    """The figures of one wrk run from the JSON line its ``done`` hook printed."""
    found = re.search(r"^WRK_JSON (\{.*\})$", output, re.MULTILINE)
    if found is None:
        raise RuntimeError(f"wrk printed no WRK_JSON line:\n{output}")
    figures = json.loads(found.group(1))
    seconds = figures["duration_us"] / 1e6
    return WrkResult(
        requests=figures["requests"],
        rate=figures["requests"] / seconds if seconds > 0 else 0.0,
        p50_ms=figures["p50_us"] / 1000,
        p99_ms=figures["p99_us"] / 1000,
        non_2xx=figures["status"],
        socket_errors=figures["connect"] + figures["read"] + figures["write"],
        timeouts=figures["timeout"],
    )


def wrk(
    url: str,
    method: str,
    body: str | None,
    authorization: str,
    seconds: float,
    concurrency: int,
    workdir: Path,
) -> WrkResult:
    """Closed-loop load with wrk (2 threads, ``concurrency`` connections, 10 s request timeout)."""
    script = workdir / f"{method.lower()}.lua"
    script.write_text(
        WRK_SCRIPT.format(
            method=method, body=json.dumps(body) if body else "nil", authorization=authorization
        )
    )
    completed = subprocess.run(
        [
            "wrk",
            "-t",
            "2",
            "-c",
            str(concurrency),
            "-d",
            f"{seconds:g}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"wrk exited with {completed.returncode}:\n{completed.stderr}")
    return parse_wrk(completed.stdout)


LIST_SIZES: Final = (10_000, 100_000)


async def seed_tasks(dsn: str, owner_email: str, total: int) -> None:
    """Top the bench user's tasks up to ``total`` with one INSERT ... SELECT, then ANALYZE."""
    connection = await asyncpg.connect(dsn)
    try:
        owner = await connection.fetchval("SELECT id FROM users WHERE email = $1", owner_email)
        have = await connection.fetchval("SELECT count(*) FROM tasks WHERE owner_id = $1", owner)
        await connection.execute(
            "INSERT INTO tasks (id, owner_id, title, priority, tags, due_date, created_at,"
            " updated_at) SELECT gen_random_uuid(), $1, 'seeded task ' || g, 'medium',"
            " '[\"bench\"]', now() + g * interval '1 hour', now() - g * interval '1 second',"
            " now() FROM generate_series(1, $2) AS g",
            owner,
            max(0, total - have),
        )
        await connection.execute("ANALYZE tasks")
    finally:
        await connection.close()


def page_query_plan(postgres_log: str) -> str:
    """The plan nodes PostgreSQL's auto_explain logged for the API's task page query."""
    plans = [
        entry
        for entry in re.split(r"\n(?=\d{4}-\d\d-\d\d )", postgres_log)
        if "plan:" in entry
        and "FROM tasks" in entry
        and "LIMIT" in entry
        # The page's reminders select the page's ids again inside their own statement.
        and "FROM reminders" not in entry
    ]
    if not plans:
        return "no plan logged"
    # Plan lines are "[->] Node name  (cost=...)"; the chain of node names is the plan's shape.
    nodes = re.findall(r"^\s*(?:->\s+)?([A-Z][^(\n]*?)\s+\(cost=", plans[-1], re.MULTILINE)
    return " > ".join(nodes)


async def list_at_sizes(
    postgres: PostgresServer,
    database: str,
    api: ApiServer,
    owner_email: str,
    load: Callable[..., WrkResult],
    seconds: float,
    sizes: tuple[int, ...],
) -> dict[int, tuple[WrkResult, float, str]]:
    """GET /tasks?limit=50 for one user owning each of ``sizes`` tasks: the wrk figures, the
    API's CPU seconds per page (from /proc, robust on a busy machine) and the page's plan.

    PostgreSQL's auto_explain logs the plans of a sample of the API's statements (new
    connections only, so the API restarts), which shows what main really runs.
    """
    dsn = postgres.url(database, driver="postgresql")
    admin = await asyncpg.connect(dsn)
    try:
        for setting in (
            "session_preload_libraries = 'auto_explain'",
            "auto_explain.log_min_duration = 0",
            "auto_explain.sample_rate = 0.02",
        ):
            await admin.execute(f"ALTER DATABASE {database} SET {setting}")
    finally:
        await admin.close()
    log_path = postgres.log_path
    if log_path is None:
        raise RuntimeError("PostgreSQL was never started")
    results: dict[int, tuple[WrkResult, float, str]] = {}
    for size in sizes:
        await seed_tasks(dsn, owner_email, size)
        log_start = log_path.stat().st_size
        await asyncio.to_thread(api.start)
        try:
            cpu_before = cpu_seconds(api.pids())
            result = await asyncio.to_thread(
                load, f"{api.url}/tasks?limit=50", "GET", None, seconds=seconds
            )
            cpu_per_page = (cpu_seconds(api.pids()) - cpu_before) / max(result.requests, 1)
        finally:
            api.stop()
        with log_path.open() as log:
            log.seek(log_start)
            results[size] = (result, cpu_per_page, page_query_plan(log.read()))
    return results


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
                email, headers = await login(client)
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
        by_size = await list_at_sizes(postgres, database, api, email, load, seconds, LIST_SIZES)
        loop_cpu_before = time.process_time()
        raw_rate, raw_lat = await raw_inserts(
            postgres.url(database, driver="postgresql"), concurrency, seconds
        )
        raw_cpu = (time.process_time() - loop_cpu_before) / (raw_rate * seconds)
    shutil.rmtree(workdir, ignore_errors=True)

    print(f"{concurrency} connections, {seconds:g} s per phase, PostgreSQL + uvicorn x{workers}")
    print(f"create task (API)   {created.rate:8.1f} tasks/s   {created.line()}")
    print(f"raw asyncpg loop    {raw_rate:8.1f} tasks/s   {summary_ms(raw_lat)}")
    print(f"list 50 tasks (API) {listed.rate:8.1f} pages/s   {listed.line()}")
    for size, (result, cpu_per_page, plan) in by_size.items():
        print(
            f"list 50 of {size:>7,} {result.rate:8.1f} pages/s   {result.line()}"
            f"  API CPU {cpu_per_page * 1000:.2f} ms/page"
        )
        print(f"    page query plan: {plan}")
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
