"""The relay's Kafka publisher closes the producer whose start failed (broker unreachable)."""

from __future__ import annotations

import gc
import warnings

import pytest
from aiokafka.errors import KafkaConnectionError

from devtools.process import free_port
from services.relay.publishers import KafkaPublisher


async def test_a_failed_start_leaves_no_unclosed_producer_behind() -> None:
    # Nothing listens on this port: the start fails at once, as during a broker outage.
    publisher = KafkaPublisher(f"127.0.0.1:{free_port()}", "relay-test")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _attempt in range(3):  # the relay retries; each attempt used to leak a producer
            with pytest.raises(KafkaConnectionError):
                await publisher.start()
        gc.collect()  # aiokafka warns from the leaked producer's __del__
    unclosed = [str(w.message) for w in caught if "Unclosed AIOKafkaProducer" in str(w.message)]
    assert unclosed == []
    await publisher.stop()  # nothing was kept: stopping is a no-op, not an error
