"""Waiting for an ``asyncio.Event`` with a deadline, without losing a cancellation.

Every long-running loop here (relay, reminder scheduler, consumer pauses, start-up retries)
sleeps on "woken or timed out". ``asyncio.wait_for`` is the obvious tool, but on Python 3.11 it
swallows a cancellation that arrives while the event has just been set (gh-86296, fixed in 3.12
by reimplementing it on ``asyncio.timeout``): the loop carries on and a worker being stopped
never stops. ``asyncio.timeout`` delivers the cancellation.
"""

from __future__ import annotations

import asyncio


async def wait_set(event: asyncio.Event, seconds: float) -> bool:
    """Wait until ``event`` is set or ``seconds`` have passed; whether it was set."""
    try:
        async with asyncio.timeout(max(0.0, seconds)):
            await event.wait()
    except TimeoutError:
        return False
    return True
