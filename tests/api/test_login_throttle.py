"""The login and sign-up throttle: counted atomically before the password is checked, shared
through the database, backing off instead of locking the owner out, keyed on the real client.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest

from app.auth.throttle import LoginThrottle
from app.core.db.migrate import upgrade_async
from app.main import create_app
from tests.api.conftest import Api, api_settings


def _email() -> str:
    return f"throttle-{uuid.uuid4().hex[:10]}@example.com"


@asynccontextmanager
async def _app(database_url: str, **overrides: object) -> AsyncIterator[object]:
    await upgrade_async(database_url)  # as the api fixture does, when this test runs alone
    app = create_app(api_settings(database_url, **overrides))
    async with app.router.lifespan_context(app):
        yield app


def _client(app: object, address: str, **headers: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=transport, base_url="http://test", headers=headers)


async def test_back_off_doubles_up_to_the_cap_and_a_quiet_window_starts_over(api: Api) -> None:
    now = [1_000_000.0]
    throttle = LoginThrottle(
        api.engine.dialect.name,
        window_seconds=900,
        backoff_base_seconds=1,
        backoff_max_seconds=8,
        clock=lambda: now[0],
    )
    key = f"account:{_email()}"
    async with api.sessions() as db:
        # Five free attempts; the fifth starts the back-off.
        assert [await throttle.claim(db, key, 5) for _ in range(5)] == [None] * 5
        waits = []
        for _ in range(6):
            wait = await throttle.claim(db, key, 5)
            assert wait is not None
            assert await throttle.claim(db, key, 5) == wait  # refusals do not extend the wait
            waits.append(wait)
            now[0] += wait
            assert await throttle.claim(db, key, 5) is None  # allowed once the wait is over
        assert waits == [1, 2, 4, 8, 8, 8]  # doubling, capped at LOGIN_BACKOFF_MAX_SECONDS
        now[0] += 900 + 1  # quiet for a whole window: the key starts over
        assert [await throttle.claim(db, key, 5) for _ in range(5)] == [None] * 5
        await throttle.reset(db, key)
        await db.commit()
        assert [await throttle.claim(db, key, 5) for _ in range(5)] == [None] * 5


async def test_parallel_attempts_under_the_free_count_all_go_ahead(api: Api) -> None:
    # Each reads the clock before its turn at the row: an earlier reading must not be refused.
    throttle = LoginThrottle(
        api.engine.dialect.name, window_seconds=900, backoff_base_seconds=1, backoff_max_seconds=8
    )
    key = f"account:{_email()}"

    async def attempt() -> int | None:
        async with api.sessions() as db:
            return await throttle.claim(db, key, 1000)

    assert await asyncio.gather(*(attempt() for _ in range(20))) == [None] * 20


async def test_thirty_parallel_wrong_guesses_get_only_the_allowed_five_evaluated(
    database_url: str,
) -> None:
    async with (
        # A long first back-off step, so none ends while the thirty are still arriving.
        _app(database_url, login_failures_per_address=1000, login_backoff_base_seconds=600) as app,
        _client(app, "198.51.100.30") as client,
    ):
        email = _email()
        registered = await client.post(
            "/auth/register", json={"email": email, "password": "the right one"}
        )
        assert registered.status_code == 201
        guesses = await asyncio.gather(
            *(
                client.post("/auth/token", data={"username": email, "password": f"guess {n}"})
                for n in range(30)
            )
        )
    statuses = Counter(response.status_code for response in guesses)
    assert statuses == {401: 5, 429: 25}
    for response in guesses:
        if response.status_code == 429:
            assert response.headers["content-type"] == "application/problem+json"
            # The rest of the first back-off step: 600 s less the time since the fifth guess
            # (seconds on a busy machine), rounded up.
            assert 570 <= int(response.headers["Retry-After"]) <= 601


async def test_the_owner_waits_at_most_the_back_off_after_someone_elses_wrong_guesses(
    database_url: str,
) -> None:
    async with (
        _app(database_url, login_backoff_base_seconds=1) as app,
        _client(app, "198.51.100.41") as attacker,
        _client(app, "192.0.2.9") as owner,
    ):
        email = _email()
        await owner.post("/auth/register", json={"email": email, "password": "the right one"})
        wrong = {"username": email, "password": "wrong guess"}
        assert [(await attacker.post("/auth/token", data=wrong)).status_code for _ in range(5)] == [
            401
        ] * 5
        right = {"username": email, "password": "the right one"}
        first = await owner.post("/auth/token", data=right)
        # Not a quarter-hour lockout: a wait of the first back-off step, then in.
        assert first.status_code == 429
        retry_after = int(first.headers["Retry-After"])
        assert retry_after == 1
        await asyncio.sleep(retry_after)  # as told: that is the whole wait
        assert (await owner.post("/auth/token", data=right)).status_code == 200
        # The owner's success reset the account: the attacker starts over at five.
        after = [(await attacker.post("/auth/token", data=wrong)).status_code for _ in range(6)]
        assert after == [401] * 5 + [429]


async def test_limits_per_account_and_per_address(database_url: str) -> None:
    async with (
        _app(database_url, login_failures_per_account=3, login_failures_per_address=5) as app,
        _client(app, "198.51.100.1") as one,
        _client(app, "198.51.100.2") as two,
    ):
        email = _email()
        await one.post("/auth/register", json={"email": email, "password": "the right one"})
        wrong = {"username": email, "password": "wrong password"}
        statuses = [(await one.post("/auth/token", data=wrong)).status_code for _ in range(4)]
        assert statuses == [401, 401, 401, 429]
        # Per account: even the right password from another address waits its turn.
        blocked = await two.post(
            "/auth/token", data={"username": email, "password": "the right one"}
        )
        assert blocked.status_code == 429
        # Per address: spraying other accounts from one address is stopped too (the
        # refused attempt above did not count against the second address).
        spray = [
            (
                await two.post("/auth/token", data={"username": _email(), "password": "guess"})
            ).status_code
            for _ in range(6)
        ]
        assert spray == [401, 401, 401, 401, 401, 429]


@pytest.mark.parametrize("trusted", [[], ["10.0.0.0/8"]])
async def test_x_forwarded_for_counts_only_from_a_trusted_proxy(
    database_url: str, trusted: list[str]
) -> None:
    async with _app(database_url, login_failures_per_address=3, trusted_proxies=trusted) as app:
        # Each guess claims to come from another address, through the peer 10.1.2.3.
        async def guess(n: int) -> int:
            async with _client(app, "10.1.2.3", **{"X-Forwarded-For": f"203.0.113.{n}"}) as c:
                data = {"username": _email(), "password": "guess"}
                return (await c.post("/auth/token", data=data)).status_code

        statuses = [await guess(n) for n in range(5)]
    if trusted:  # the proxy is believed: five different clients, none over its limit
        assert statuses == [401] * 5
    else:  # not a trusted proxy: one client (the peer) and its limit of three
        assert statuses == [401, 401, 401, 429, 429]


async def test_sign_ups_are_throttled_per_address(database_url: str) -> None:
    async with (
        _app(database_url, signups_per_address=3) as app,
        _client(app, "198.51.100.77") as client,
        _client(app, "192.0.2.77") as other,
    ):
        body = {"password": "long enough"}
        statuses = [
            (await client.post("/auth/register", json={"email": _email(), **body})).status_code
            for _ in range(4)
        ]
        elsewhere = await other.post("/auth/register", json={"email": _email(), **body})
    assert statuses == [201, 201, 201, 429]
    assert elsewhere.status_code == 201
