"""The local Kafka broker: exact round trips, per-key order, restarts that keep topics and data."""

from __future__ import annotations

import asyncio
import signal
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from app.core.events.topics import TASK_EVENTS, TOPICS, Topic
from devtools import kafka as kafka_module
from devtools.kafka import KafkaBroker, fetch_jars, new_cluster_id
from devtools.process import ComponentError, port_accepts
from tests.devtools.subprocesses import (
    read_lines,
    run_module,
    start_error_on_taken_port,
    wait_port_closed,
)

RECORDS = 1000
KEYS = 37  # not a multiple of the partition count, so keys spread unevenly
CONSUME_DEADLINE_S = 60.0


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaBroker]:
    """A broker of this module's own: these tests fill topics and stop the broker."""
    own = KafkaBroker(log_dir=tmp_path_factory.mktemp("kafka-harness"))
    try:
        own.start()
    except ComponentError as error:
        own.close()
        pytest.fail(str(error), pytrace=False)
    try:
        own.create_topics(TOPICS)
        yield own
    finally:
        own.close()


async def _produce(bootstrap: str, topic: str, records: list[tuple[str, str]]) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5
    )
    await producer.start()
    try:
        sent = [
            await producer.send(topic, key=key.encode(), value=value.encode())
            for key, value in records
        ]
        for delivery in sent:
            await delivery
    finally:
        await producer.stop()


async def _consume_all(
    bootstrap: str, topic: str, partitions: int, expected: int
) -> list[tuple[int, str, str]]:
    """Every record of ``topic`` from the beginning, as (partition, key, value), in offset order.

    Reads until ``expected`` records arrived and the end offsets are reached, so a surplus
    record would be seen, not cut off.
    """
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        assigned = [TopicPartition(topic, number) for number in range(partitions)]
        consumer.assign(assigned)
        await consumer.seek_to_beginning(*assigned)
        end_offsets = await consumer.end_offsets(assigned)
        records: list[tuple[int, str, str]] = []
        deadline = time.monotonic() + CONSUME_DEADLINE_S
        while time.monotonic() < deadline:
            positions = [await consumer.position(tp) for tp in assigned]
            at_end = all(
                pos >= end_offsets[tp] for tp, pos in zip(assigned, positions, strict=True)
            )
            if len(records) >= expected and at_end:
                break
            batches = await consumer.getmany(timeout_ms=500)
            for tp, batch in batches.items():
                records += [(tp.partition, r.key.decode(), r.value.decode()) for r in batch]
        return records
    finally:
        await consumer.stop()


async def _describe(bootstrap: str, names: list[str]) -> dict[str, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics(names)
    finally:
        await admin.close()
    return {
        entry["topic"]: len(entry["partitions"]) for entry in described if not entry["error_code"]
    }


def _keyed_records(count: int, prefix: str) -> list[tuple[str, str]]:
    """``count`` records over ``KEYS`` keys; each value carries its per-key sequence number."""
    sequence: dict[str, int] = defaultdict(int)
    records = []
    for number in range(count):
        key = f"{prefix}-{number % KEYS}"
        records.append((key, f"{key}#{sequence[key]}"))
        sequence[key] += 1
    return records


async def test_session_fixture_has_the_platform_topics(kafka: KafkaBroker) -> None:
    described = await _describe(kafka.bootstrap, [topic.name for topic in TOPICS])

    assert described == {topic.name: topic.partitions for topic in TOPICS}


async def test_idempotent_producer_round_trip_keeps_every_record_and_per_key_order(
    broker: KafkaBroker,
) -> None:
    sent = _keyed_records(RECORDS, "task")

    await _produce(broker.bootstrap, TASK_EVENTS.name, sent)
    received = await _consume_all(
        broker.bootstrap, TASK_EVENTS.name, TASK_EVENTS.partitions, RECORDS
    )

    assert len(received) == RECORDS
    assert sorted((key, value) for _, key, value in received) == sorted(sent)
    by_key: dict[str, list[str]] = defaultdict(list)
    partitions_of_key: dict[str, set[int]] = defaultdict(set)
    for partition, key, value in received:
        by_key[key].append(value)
        partitions_of_key[key].add(partition)
    for key, values in by_key.items():
        assert values == [f"{key}#{n}" for n in range(len(values))], key
    assert all(len(partitions) == 1 for partitions in partitions_of_key.values())
    assert len({partition for partition, _, _ in received}) == TASK_EVENTS.partitions


async def test_stop_and_start_keep_port_topics_and_data(broker: KafkaBroker) -> None:
    topic = Topic("restart-check", 3)
    broker.create_topics([topic])
    before = _keyed_records(120, "before")
    await _produce(broker.bootstrap, topic.name, before)
    bootstrap = broker.bootstrap

    broker.stop()

    assert not broker.running
    assert not port_accepts(broker.port)

    broker.start()

    assert broker.bootstrap == bootstrap
    names = [t.name for t in (*TOPICS, topic)]
    assert await _describe(bootstrap, names) == {t.name: t.partitions for t in (*TOPICS, topic)}
    after = _keyed_records(30, "after")
    await _produce(bootstrap, topic.name, after)
    received = await _consume_all(bootstrap, topic.name, topic.partitions, 150)
    assert sorted((key, value) for _, key, value in received) == sorted(before + after)


def test_create_topics_is_idempotent_and_rejects_a_partition_mismatch(
    broker: KafkaBroker,
) -> None:
    broker.create_topics(TOPICS)  # all exist already: nothing to do, no error

    with pytest.raises(ComponentError, match=r"task-events: exists with 3 partitions, expected 5"):
        broker.create_topics([Topic(TASK_EVENTS.name, 5)])


def test_fetch_uses_the_cache_without_maven(monkeypatch: pytest.MonkeyPatch) -> None:
    cached = fetch_jars()
    monkeypatch.setenv("PATH", "/nonexistent")  # no mvn to be found: the cache must answer

    assert fetch_jars() == cached
    assert any(cached.glob("kafka_2.13-*.jar"))
    assert any(cached.glob("log4j-slf4j2-impl-*.jar"))  # the broker's logs need a binding


def test_a_bad_version_setting_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEVTOOLS_KAFKA_VERSION", "latest")

    with pytest.raises(ComponentError, match=r"DEVTOOLS_KAFKA_VERSION='latest' is not a version"):
        fetch_jars()


def test_cluster_ids_are_kafka_shaped() -> None:
    ids = {new_cluster_id() for _ in range(200)}

    assert len(ids) == 200
    assert all(len(cid) == 22 and not cid.startswith("-") for cid in ids)


def test_a_taken_port_fails_with_the_broker_log(tmp_path: Path) -> None:
    message = start_error_on_taken_port(lambda port: KafkaBroker(port=port, log_dir=tmp_path))

    assert message.startswith("kafka: exited with code")
    assert "Address already in use" in message


async def test_run_by_hand_creates_the_topics_and_cleans_up_on_sigterm() -> None:
    async with run_module("devtools.kafka") as process:
        async with asyncio.timeout(180):
            bootstrap_line, topics_line, log_line = await read_lines(process, 3)
        assert bootstrap_line.startswith("KAFKA_BOOTSTRAP=127.0.0.1:")
        assert topics_line == "# topics: " + ", ".join(topic.name for topic in TOPICS)
        port = int(bootstrap_line.rsplit(":", 1)[1])
        temp_dir = Path(log_line.split()[2]).parent
        assert temp_dir.is_dir()

        process.send_signal(signal.SIGTERM)
        stop_deadline = kafka_module.STOP_TIMEOUT_S + 30
        assert await asyncio.wait_for(process.wait(), timeout=stop_deadline) == 0

    wait_port_closed(port)
    assert not temp_dir.exists()
