"""Retries with exponential backoff and full jitter, for transient delivery failures only."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from services.notifier.channels.base import DeliveryFailed


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 4
    backoff_seconds: float = 0.5
    backoff_max_seconds: float = 30.0

    def delay(self, failed_attempts: int) -> float:
        """Seconds to wait after ``failed_attempts`` failures: a random share of an exponential
        ceiling, so many receivers' retries do not arrive in lockstep after an outage."""
        ceiling = min(self.backoff_max_seconds, self.backoff_seconds * 2 ** (failed_attempts - 1))
        return random.uniform(0, ceiling)


async def with_retries(
    send: Callable[[], Awaitable[object]],
    policy: RetryPolicy,
    *,
    on_failure: Callable[[int, DeliveryFailed], Awaitable[None]] | None = None,
) -> int:
    """Run ``send`` until it succeeds; returns the attempts it took. A permanent failure, or
    the last transient one, is raised; ``on_failure`` hears of each failed attempt."""
    attempt = 0
    while True:
        attempt += 1
        try:
            await send()
        except DeliveryFailed as failure:
            if on_failure is not None:
                await on_failure(attempt, failure)
            if not failure.transient or attempt >= policy.max_attempts:
                raise
            await asyncio.sleep(policy.delay(attempt))
        else:
            return attempt
