"""Benchmark: where a worker's start-up time goes, up to a ready /readyz.

    uv run python -m bench.worker_start [--worker notifier] [--rounds 3]

Starts PostgreSQL and Kafka on loopback, then measures for ``python -m services.<worker>``:
- the interpreter alone, and importing the worker's module (wall time of a fresh process);
- from spawn to the first answer of /healthz (imports, settings, DB engine, HTTP server);
- from spawn to /readyz 200 (the consumer started and joined its group, the broker probe
  answered, the database probe passed), after a clean stop (SIGTERM: the old member left the
  group) and after kill -9 (the dead member holds its partitions until its session times out).
Each figure is the median of ``rounds``; absolute times on a shared 2-core machine are noise,
the split between the phases is the point.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from app.core.db.migrate import upgrade
from app.core.processes import TOPICS
from devtools.kafka import KafkaBroker
from devtools.postgres import PostgresServer
from devtools.process import free_port
from devtools.testkit.worker_process import worker_command, worker_environment

POLL_S = 0.02
DEADLINE_S = 120.0


def _wall(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True)
    return time.perf_counter() - started


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - loopback
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _start(
    worker: str, env: dict[str, str], port: int, log: Path
) -> tuple[subprocess.Popen[bytes], float, float]:
    """Spawn the worker; (process, seconds to /healthz, seconds to /readyz)."""
    started = time.perf_counter()
    with log.open("ab") as out:
        process = subprocess.Popen(worker_command(worker), env=env, stdout=out, stderr=out)
    base = f"http://127.0.0.1:{port}"
    healthy = ready = None
    while ready is None:
        if time.perf_counter() - started > DEADLINE_S or process.poll() is not None:
            raise SystemExit(f"{worker} not ready within {DEADLINE_S} s; see {log}")
        if healthy is None and _answers(f"{base}/healthz"):
            healthy = time.perf_counter() - started
        if healthy is not None and _answers(f"{base}/readyz"):
            ready = time.perf_counter() - started
        time.sleep(POLL_S)
    assert healthy is not None
    return process, healthy, ready


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", default="notifier")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    python = [sys.executable, "-c"]
    interpreter = statistics.median(_wall([*python, "pass"]) for _ in range(args.rounds))
    module = f"services.{args.worker}.__main__"
    imports = statistics.median(_wall([*python, f"import {module}"]) for _ in range(args.rounds))
    print(f"interpreter alone {interpreter:.2f} s; import {module} {imports:.2f} s")

    with tempfile.TemporaryDirectory() as tmp, PostgresServer() as postgres, KafkaBroker() as kafka:
        kafka.create_topics(TOPICS)
        url = postgres.url(postgres.create_database())
        upgrade(url)
        port = free_port()
        env = worker_environment(
            database_url=url, bootstrap=kafka.bootstrap, port=port, env={"LOG_LEVEL": "WARNING"}
        )
        log = Path(tmp) / f"{args.worker}.log"
        results: dict[str, list[tuple[float, float]]] = {
            "first": [],
            "after SIGTERM": [],
            "after kill -9": [],
        }
        process, healthy, ready = _start(args.worker, env, port, log)
        results["first"].append((healthy, ready))
        for _ in range(args.rounds):
            process.send_signal(signal.SIGTERM)
            process.wait(60)
            process, healthy, ready = _start(args.worker, env, port, log)
            results["after SIGTERM"].append((healthy, ready))
        for _ in range(args.rounds):
            os.kill(process.pid, signal.SIGKILL)
            process.wait(60)
            process, healthy, ready = _start(args.worker, env, port, log)
            results["after kill -9"].append((healthy, ready))
        process.send_signal(signal.SIGTERM)
        process.wait(60)
    for case, samples in results.items():
        healthy = statistics.median(s[0] for s in samples)
        ready = statistics.median(s[1] for s in samples)
        print(f"{case:>14}: /healthz {healthy:.2f} s, /readyz {ready:.2f} s ({len(samples)} runs)")


if __name__ == "__main__":
    main()
