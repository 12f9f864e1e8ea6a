"""Whether this worker can reach its Kafka cluster, as a metric and as readiness.

aiokafka's consumers and producers retry a lost broker on their own and say so only in their
logs (rate-limited, see app.core.observability.log_limits); a consumer that joined its group
once stays "assigned" through an outage. So a probe asks the cluster for its metadata every
``interval`` seconds with a fresh client (the bootstrap request every Kafka client makes
first): the answer sets ``todo_kafka_broker_up`` (1 or 0) and the worker's /readyz, which says
"not ready" for as long as the broker is unreachable and "ready" again once it answers.
The change of state is logged once each way, with how long the outage lasted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Final

from aiokafka.client import AIOKafkaClient
from aiokafka.errors import KafkaError

from app.core.observability import metric_catalog
from services.common.metrics import WorkerMetrics
from services.common.waiting import wait_set

log = logging.getLogger("services.kafka")

DEFAULT_INTERVAL_S: Final = 5.0


class BrokerProbe:
    def __init__(
        self,
        bootstrap: str,
        client_id: str,
        metrics: WorkerMetrics,
        *,
        interval: float = DEFAULT_INTERVAL_S,
    ) -> None:
        self._bootstrap = bootstrap
        self._client_id = f"{client_id}-probe"
        self._interval = interval
        self._gauge = metrics.gauge(metric_catalog.KAFKA_BROKER_UP)
        self._up: bool | None = None  # unknown until the first answer
        self._down_since = 0.0
        self._stop = asyncio.Event()

    @property
    def up(self) -> bool | None:
        return self._up

    def problem(self) -> str | None:
        """The readiness check: None while the broker answers."""
        if self._up is None:
            return "kafka: broker not probed yet"
        if not self._up:
            return f"kafka: broker unreachable for {time.monotonic() - self._down_since:.0f} s"
        return None

    async def probe(self) -> bool:
        """Ask the cluster for its metadata once; record and return whether it answered."""
        client = AIOKafkaClient(
            bootstrap_servers=self._bootstrap,
            client_id=self._client_id,
            # One answer within the interval, or the broker counts as unreachable.
            request_timeout_ms=int(max(1.0, self._interval) * 1000),
        )
        try:
            async with asyncio.timeout(max(1.0, self._interval)):
                await client.bootstrap()
            answered = True
        except (KafkaError, OSError, TimeoutError):
            answered = False
        finally:
            with contextlib.suppress(Exception):
                await client.close()
        self._record(answered)
        return answered

    def _record(self, answered: bool) -> None:
        self._gauge.set(1 if answered else 0)
        was = self._up
        self._up = answered
        if not answered and was is not False:
            self._down_since = time.monotonic()
            log.warning("kafka broker unreachable", extra={"bootstrap": self._bootstrap})
        elif answered and was is False:
            outage = time.monotonic() - self._down_since
            log.warning(
                "kafka broker reachable again",
                extra={"bootstrap": self._bootstrap, "outage_seconds": round(outage, 1)},
            )

    async def run(self) -> None:
        """Probe every ``interval`` seconds until :meth:`stop` (or cancellation)."""
        while not self._stop.is_set():
            await self.probe()
            await wait_set(self._stop, self._interval)

    def stop(self) -> None:
        self._stop.set()
