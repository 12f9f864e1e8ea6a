"""The relay's two backends: Kafka (aiokafka) and a Dapr sidecar's pub/sub HTTP API."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Generic, TypeVar

import httpx
from aiokafka import AIOKafkaProducer

from app.core.events.contract import CLOUDEVENTS_JSON
from services.common.kafka import durable_producer, send_all
from services.common.publisher import OutgoingMessage

C = TypeVar("C")


class PublishError(RuntimeError):
    """A backend refused or lost a message; the relay keeps its rows and retries the batch."""


class _Connection(ABC, Generic[C]):
    """A backend's connection: opened on first use, and again after :meth:`stop` (which a
    failed batch calls, so the retry starts on a fresh one)."""

    _connection: C | None = None

    @abstractmethod
    async def _open(self) -> C: ...

    @abstractmethod
    async def _close(self, connection: C) -> None: ...

    async def _connected(self) -> C:
        if self._connection is None:
            self._connection = await self._open()
        return self._connection

    async def start(self) -> None:
        await self._connected()

    async def stop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            await self._close(connection)


class KafkaPublisher(_Connection[AIOKafkaProducer]):
    """An idempotent producer with ``acks=all``; recreated after a failed batch.

    After a timeout the producer's idempotence state (producer id, sequence numbers) may be out
    of step with the broker's; a fresh producer starts a clean session, and the relay's retry
    of the whole batch makes up for anything the old one lost.
    """

    def __init__(self, bootstrap: str, client_id: str) -> None:
        self.bootstrap = bootstrap
        self.client_id = client_id

    async def _open(self) -> AIOKafkaProducer:
        producer = durable_producer(self.bootstrap, self.client_id)
        try:
            await producer.start()
        except BaseException:
            # A producer whose start failed (broker down) still holds its client and
            # buffers: close it, or every retry during an outage leaks one.
            await producer.stop()
            raise
        return producer

    async def _close(self, connection: AIOKafkaProducer) -> None:
        await connection.stop()

    async def publish(self, messages: Sequence[OutgoingMessage]) -> None:
        producer = await self._connected()
        try:
            await send_all(producer, messages)
        except BaseException:
            await self.stop()
            raise


class DaprPublisher(_Connection[httpx.AsyncClient]):
    """Posts each message to ``/v1.0/publish/<pubsub>/<topic>`` on the Dapr sidecar.

    CloudEvents go as ``application/cloudevents+json`` so Dapr passes our envelope through
    rather than wrapping it; ``metadata.cloudevent.id`` keeps our event id as the envelope id
    (the consumers' idempotency key) and ``metadata.partitionKey`` keeps one task's events on one
    partition, in order. Messages are sent one after another: ordering needs it.
    """

    def __init__(self, endpoint: str, pubsub: str, *, timeout: float = 10.0) -> None:
        self.base = endpoint.rstrip("/")
        self.pubsub = pubsub
        self.timeout = timeout

    async def _open(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.base, timeout=self.timeout)

    async def _close(self, connection: httpx.AsyncClient) -> None:
        await connection.aclose()

    async def publish(self, messages: Sequence[OutgoingMessage]) -> None:
        client = await self._connected()
        for message in messages:
            params = {"metadata.partitionKey": message.key}
            if message.event_id is not None:
                params["metadata.cloudevent.id"] = message.event_id
                content_type = CLOUDEVENTS_JSON
            else:
                # A plain notice: Dapr wraps it in its own envelope, consumers unwrap it.
                content_type = "application/json"
            try:
                response = await client.post(
                    f"/v1.0/publish/{self.pubsub}/{message.topic}",
                    params=params,
                    content=message.value,
                    headers={"Content-Type": content_type},
                )
            except httpx.HTTPError as exc:
                raise PublishError(f"dapr sidecar unreachable: {exc!r}") from exc
            if not response.is_success:
                raise PublishError(
                    f"dapr publish to {message.topic} failed: {response.status_code} "
                    f"{response.text[:300]}"
                )
