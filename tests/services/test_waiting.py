"""wait_set: woken, timed out, and -- the reason it exists -- never swallowing a cancellation."""

from __future__ import annotations

import asyncio

import pytest

from services.common.waiting import wait_set


async def test_returns_true_when_set_and_false_when_the_time_is_up() -> None:
    event = asyncio.Event()
    assert await wait_set(event, 0.01) is False
    event.set()
    assert await wait_set(event, 10) is True
    assert await wait_set(asyncio.Event(), -1) is False  # a deadline already past


async def test_a_cancellation_arriving_as_the_event_is_set_stops_a_waiting_loop() -> None:
    # The relay's and the scheduler's loop shape. With asyncio.wait_for on Python 3.11 this
    # loop swallowed the cancellation below and ran on forever (gh-86296).
    event = asyncio.Event()

    async def loop() -> None:
        while True:
            event.clear()
            await wait_set(event, 60)

    task = asyncio.create_task(loop())
    await asyncio.sleep(0)  # one loop step: the task is now waiting
    event.set()
    await asyncio.sleep(0)  # the waiter has seen the event, its task not yet resumed
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=5)
    assert done == {task}, "the loop survived its cancellation"
    with pytest.raises(asyncio.CancelledError):
        task.result()
