"""aiokafka clients configured the one way this platform uses them."""

from __future__ import annotations

from collections.abc import Sequence

from aiokafka import AIOKafkaProducer

from services.common.publisher import OutgoingMessage


def durable_producer(bootstrap: str, client_id: str) -> AIOKafkaProducer:
    """An idempotent producer that waits for every in-sync replica (aiokafka's default is acks=1).

    Idempotence makes the broker drop the duplicates of the producer's own internal retries,
    so a retried send never reorders or doubles records of one partition.
    """
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        client_id=client_id,
        acks="all",
        enable_idempotence=True,
        # Small lingering groups a relay batch into few requests without delaying a lone event.
        linger_ms=2,
        max_batch_size=256 * 1024,
        request_timeout_ms=15_000,
    )


async def send_all(producer: AIOKafkaProducer, messages: Sequence[OutgoingMessage]) -> None:
    """Send ``messages`` (in order per partition) and return once the broker acked every one."""
    futures = [
        await producer.send(
            message.topic,
            message.value,
            key=message.key.encode(),
            headers=list(message.headers) or None,
        )
        for message in messages
    ]
    for future in futures:
        await future
