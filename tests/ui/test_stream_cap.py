"""The per-user cap on live streams holds under parallel opens, against a real uvicorn server.

The cap is checked when ``GET /ui/events`` is answered; the stream's slot used to be taken only
once the response body started, so opens arriving together all passed the check and the ones
over the cap died mid-stream. Now the slot is taken with the check: exactly ``cap`` opens get
their stream, every other one a 429 problem, and closed streams give their slots back.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

import httpx
import pytest

from app.ui.live import MAX_STREAMS_PER_OWNER
from devtools.api_server import ApiServer
from tests.ui.conftest import Browserless

OVER_CAP = 8
DEADLINE_S = 30.0


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    database = tmp_path_factory.mktemp("stream-cap") / "api.db"
    with ApiServer(f"sqlite+aiosqlite:///{database}") as server:
        yield server


class Burst:
    """``count`` parallel opens; each accepted stream stays open until every open has its
    answer, so all accepted streams of the burst are open at the same time."""

    def __init__(self, client: httpx.AsyncClient, count: int) -> None:
        self._client = client
        self._count = count
        self._answered = 0
        self._all_answered = asyncio.Event()

    def _answer(self) -> None:
        self._answered += 1
        if self._answered == self._count:
            self._all_answered.set()

    async def _open(self) -> int | str:
        """One open's status, or "ready" once its stream said so."""
        async with self._client.stream("GET", "/ui/events") as response:
            if response.status_code != 200:
                await response.aread()
                assert response.headers["content-type"] == "application/problem+json"
                self._answer()
                return response.status_code
            async for line in response.aiter_lines():
                if line == "event: ready":
                    self._answer()
                    await self._all_answered.wait()
                    return "ready"
        return "ended before ready"

    async def run(self) -> list[int | str]:
        async with asyncio.timeout(DEADLINE_S):
            return list(await asyncio.gather(*(self._open() for _ in range(self._count))))


async def test_parallel_opens_beyond_the_cap_get_exactly_the_cap(api: ApiServer) -> None:
    limits = httpx.Limits(max_connections=MAX_STREAMS_PER_OWNER + OVER_CAP + 4)
    async with httpx.AsyncClient(base_url=api.url, timeout=DEADLINE_S, limits=limits) as client:
        person = Browserless(client)
        await person.sign_up()
        outcomes = await Burst(client, MAX_STREAMS_PER_OWNER + OVER_CAP).run()
        assert outcomes.count("ready") == MAX_STREAMS_PER_OWNER
        assert outcomes.count(429) == OVER_CAP
        # Every slot comes back when its stream closes (the server sees the disconnect a moment
        # later): the cap's worth of streams opens again, one by one, and one more is refused.
        async with contextlib.AsyncExitStack() as held:
            streams = 0
            async with asyncio.timeout(DEADLINE_S):
                while streams < MAX_STREAMS_PER_OWNER:
                    response = await held.enter_async_context(client.stream("GET", "/ui/events"))
                    if response.status_code == 200:
                        streams += 1
                    else:
                        await response.aread()
                        await asyncio.sleep(0.05)
            extra = await client.get("/ui/events")
            assert extra.status_code == 429
