"""Account protection measured on the API as a real process (uvicorn, as deployed).

- 50 parallel logins: the process's peak resident memory (VmHWM) stays within a bound.
- X-Forwarded-For from a peer that is not a trusted proxy does not change who is counted.
- Two API processes on one PostgreSQL share the login limit.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from devtools.api_server import ApiServer
from devtools.postgres import PostgresServer

MIB = 1024 * 1024
PASSWORD = "a long password"
# argon2id memory per hash (app/auth/hashing.py) and hashes running at once (the default).
HASH_MIB = 19
CONCURRENT_HASHES = 2
# Beyond the hashes: fifty connections' buffers and requests, and the allocator's slack in
# the hashing threads' arenas. Measured at about 25 MiB over the baseline in all.
OTHER_MIB = 30


def _status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} in /proc/{pid}/status")


def _email() -> str:
    return f"proc-{uuid.uuid4().hex[:10]}@example.com"


def _in_parallel(count: int, call: Callable[[httpx.Client], httpx.Response]) -> list[int]:
    with (
        httpx.Client(timeout=120, limits=httpx.Limits(max_connections=count)) as client,
        ThreadPoolExecutor(count) as pool,
    ):
        return [response.status_code for response in pool.map(lambda _: call(client), range(count))]


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'auth.db'}"


def test_fifty_parallel_logins_keep_peak_memory_bounded(sqlite_url: str) -> None:
    # Many logins for one account: lift the throttle, which is not under test here.
    limits = {"LOGIN_FAILURES_PER_ACCOUNT": "1000", "LOGIN_FAILURES_PER_ADDRESS": "1000"}
    with ApiServer(sqlite_url, env=limits) as server:
        assert server.pid is not None
        email = _email()
        with httpx.Client(base_url=server.url) as client:
            registered = client.post("/auth/register", json={"email": email, "password": PASSWORD})
            assert registered.status_code == 201
        baseline_kib = _status_kib(server.pid, "VmRSS")
        login = {"username": email, "password": PASSWORD}
        statuses = _in_parallel(
            50, lambda client: client.post(f"{server.url}/auth/token", data=login)
        )
        peak_kib = _status_kib(server.pid, "VmHWM")

    counts = Counter(statuses)
    # Each login is served or told to retry (503 + Retry-After); none fails.
    assert set(counts) <= {200, 503}, counts
    assert counts[200] >= 18, counts  # at least what runs and queues at once (2 + 16)
    growth_mib = (peak_kib - baseline_kib) / 1024
    bound_mib = CONCURRENT_HASHES * HASH_MIB + OTHER_MIB
    assert growth_mib < bound_mib, f"peak grew {growth_mib:.0f} MiB, bound {bound_mib} MiB"


def test_x_forwarded_for_from_an_untrusted_peer_is_ignored(sqlite_url: str) -> None:
    # No TRUSTED_PROXIES: loopback is just a client, whatever header it sends.
    with (
        ApiServer(sqlite_url, env={"LOGIN_FAILURES_PER_ADDRESS": "3"}) as server,
        httpx.Client(base_url=server.url) as client,
    ):
        statuses = [
            client.post(
                "/auth/token",
                data={"username": _email(), "password": "guess"},
                headers={"X-Forwarded-For": f"203.0.113.{n}"},
            ).status_code
            for n in range(5)
        ]
    assert statuses == [401, 401, 401, 429, 429]


@pytest.fixture
def two_api_processes(postgres: PostgresServer) -> Iterator[tuple[ApiServer, ApiServer]]:
    url = postgres.url(postgres.create_database())
    # A long back-off step, so that no wait ends during the test.
    env = {"LOGIN_BACKOFF_BASE_SECONDS": "600"}
    with ApiServer(url, env=env) as one, ApiServer(url, env=env) as two:
        yield one, two


def test_two_api_processes_share_the_login_limit(
    two_api_processes: tuple[ApiServer, ApiServer],
) -> None:
    one, two = two_api_processes
    email = _email()
    with httpx.Client() as client:
        registered = client.post(
            f"{one.url}/auth/register", json={"email": email, "password": PASSWORD}
        )
        assert registered.status_code == 201
        wrong = {"username": email, "password": "wrong guess"}
        statuses = [
            client.post(f"{server.url}/auth/token", data=wrong).status_code
            for server in (one, two) * 5
        ]
    # Five evaluated in all, not five per process.
    assert statuses == [401] * 5 + [429] * 5
