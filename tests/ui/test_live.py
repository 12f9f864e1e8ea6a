"""The live hub and its feeds: per-owner fan-out, bounded queues, Kafka and the local run."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaProducer

from app.core.events.contract import CloudEvent, EventType, NotificationSentData, ReminderDueData
from app.core.events.topics import REMINDERS, TASK_EVENTS, TASK_UPDATES
from app.ui.live import (
    RESYNC,
    KafkaFeed,
    LiveHub,
    LiveNotice,
    LocalFeed,
    Subscription,
    TooManyStreams,
    change_notice,
    deliver,
)
from app.ui.stream import frame, stream_frames
from devtools.kafka import KafkaBroker

DEADLINE_S = 30.0


def notice_of(owner: uuid.UUID, task: uuid.UUID, version: int = 1) -> bytes:
    body = {
        "owner_id": str(owner),
        "task_id": str(task),
        "type": "task.updated",
        "version": version,
        "time": "2031-01-01T00:00:00Z",
    }
    return json.dumps(body).encode()


def reminder_due(owner: uuid.UUID, task: uuid.UUID) -> CloudEvent:
    data = ReminderDueData(
        reminder_id=uuid.UUID(int=7),
        task_id=task,
        owner_id=owner,
        title="Call the bank",
        remind_at=datetime(2031, 1, 1, 8, 30, tzinfo=UTC),
        due_date=datetime(2031, 1, 1, 9, 0, tzinfo=UTC),
    )
    return CloudEvent.of(EventType.REMINDER_DUE, data, subject=task)


async def next_notice(subscription: Subscription) -> LiveNotice:
    async with asyncio.timeout(DEADLINE_S):
        return await subscription.next()


async def test_each_owner_gets_only_their_notices_in_every_open_stream() -> None:
    hub = LiveHub()
    ann, bob, task = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    with hub.subscribe(ann) as first, hub.subscribe(ann) as second, hub.subscribe(bob) as other:
        assert (hub.streams(ann), hub.streams(bob), hub.streams()) == (2, 1, 3)
        deliver(hub, TASK_UPDATES.name, notice_of(ann, task, 3))
        expected = LiveNotice(
            "change", {"task_id": str(task), "type": "task.updated", "version": 3}
        )
        assert await next_notice(first) == expected
        assert await next_notice(second) == expected
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.05):
                await other.next()
    assert hub.streams() == 0


async def test_a_slow_stream_gets_one_resync_instead_of_a_backlog() -> None:
    hub = LiveHub(queue_size=3)
    owner = uuid.uuid4()
    with hub.subscribe(owner) as slow:
        for version in range(1, 6):
            assert hub.publish(owner, LiveNotice("change", {"version": version})) == 1
        # 3 queued, the 4th overflowed: backlog dropped for one resync; the 5th queued after it.
        assert await next_notice(slow) == RESYNC
        assert await next_notice(slow) == LiveNotice("change", {"version": 5})


async def test_streams_per_owner_are_limited() -> None:
    hub = LiveHub(max_streams_per_owner=2)
    owner = uuid.uuid4()
    with hub.subscribe(owner), hub.subscribe(owner):
        assert not hub.can_add(owner)
        with (
            pytest.raises(TooManyStreams, match="at most 2 live streams per user"),
            hub.subscribe(owner),
        ):
            pass
        assert hub.can_add(uuid.uuid4())
    assert hub.can_add(owner)


async def test_reminders_become_notices_and_other_reminder_events_are_ignored() -> None:
    hub = LiveHub()
    owner, task = uuid.uuid4(), uuid.uuid4()
    sent = CloudEvent.of(
        EventType.NOTIFICATION_SENT,
        NotificationSentData(
            reminder_id=uuid.uuid4(),
            task_id=task,
            owner_id=owner,
            channel="log",
            delivered_at=datetime(2031, 1, 1, tzinfo=UTC),
        ),
        subject=task,
    )
    with hub.subscribe(owner) as stream:
        deliver(hub, REMINDERS.name, sent.model_dump_json().encode())
        deliver(hub, REMINDERS.name, reminder_due(owner, task).model_dump_json().encode())
        assert await next_notice(stream) == LiveNotice(
            "reminder",
            {
                "reminder_id": str(uuid.UUID(int=7)),
                "task_id": str(task),
                "title": "Call the bank",
                "remind_at": "2031-01-01T08:30:00+00:00",
                "due_date": "2031-01-01T09:00:00+00:00",
            },
        )


@pytest.mark.parametrize(
    ("topic", "raw"),
    [
        (TASK_UPDATES.name, b"not json"),
        (TASK_UPDATES.name, b"[1, 2]"),
        (TASK_UPDATES.name, b'{"owner_id": "nope", "task_id": "x", "type": "t"}'),
        (TASK_UPDATES.name, b'{"task_id": "00000000-0000-0000-0000-000000000001"}'),
        (REMINDERS.name, b'{"type": "reminder.due"}'),
        (REMINDERS.name, b"\xff\xfe"),
    ],
)
async def test_malformed_messages_are_skipped_and_logged(
    topic: str, raw: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    hub = LiveHub()
    owner = uuid.uuid4()
    with hub.subscribe(owner) as stream:
        deliver(hub, topic, raw)
        deliver(hub, TASK_UPDATES.name, notice_of(owner, uuid.UUID(int=1)))
        # The good message after the bad one still arrives: the feed kept going.
        assert (await next_notice(stream)).data["task_id"] == str(uuid.UUID(int=1))
    assert [r.message for r in caplog.records] == ["live: skipped a malformed message"]


async def test_other_topics_are_not_for_browsers() -> None:
    hub = LiveHub()
    owner = uuid.uuid4()
    with hub.subscribe(owner) as stream:
        deliver(hub, TASK_EVENTS.name, notice_of(owner, uuid.uuid4()))
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.05):
                await stream.next()


def test_change_notices_name_owner_task_type_and_version() -> None:
    owner, task = uuid.uuid4(), uuid.uuid4()
    assert change_notice(notice_of(owner, task, 9)) == (
        owner,
        LiveNotice("change", {"task_id": str(task), "type": "task.updated", "version": 9}),
    )


async def test_the_local_feed_reaches_the_hubs_attached_to_it() -> None:
    feed, hub = LocalFeed(), LiveHub()
    owner = uuid.uuid4()

    class Outgoing:
        def __init__(self, topic: str, value: bytes) -> None:
            self.topic, self.value = topic, value

    with hub.subscribe(owner) as stream:
        with feed.attached(hub):
            await feed.publish([Outgoing(TASK_UPDATES.name, notice_of(owner, uuid.UUID(int=2)))])
            assert (await next_notice(stream)).data["task_id"] == str(uuid.UUID(int=2))
        # Detached (the API stopped): nothing more arrives.
        await feed.publish([Outgoing(TASK_UPDATES.name, notice_of(owner, uuid.UUID(int=3)))])
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.05):
                await stream.next()


async def test_a_stream_frames_its_notices_and_keeps_alive() -> None:
    hub = LiveHub()
    owner = uuid.uuid4()
    with hub.subscribe(owner) as subscription:
        frames = stream_frames(subscription, max_seconds=60)
        assert await anext(frames) == "retry: 3000\nevent: ready\ndata: {}\n\n"
        hub.publish(owner, LiveNotice("change", {"task_id": "t", "version": 2}))
        assert await anext(frames) == 'event: change\ndata: {"task_id":"t","version":2}\n\n'
        await frames.aclose()
    assert frame(RESYNC) == "event: resync\ndata: {}\n\n"


async def test_a_stream_ends_at_its_maximum_age() -> None:
    hub = LiveHub()
    owner = uuid.uuid4()
    with hub.subscribe(owner) as subscription:
        chunks = [chunk async for chunk in stream_frames(subscription, max_seconds=0.2)]
    # The ready frame, keep-alives while idle, then the end (the browser reconnects).
    assert chunks[0].startswith("retry: 3000\nevent: ready")
    assert set(chunks[1:]) <= {": keep-alive\n\n"}


@pytest.mark.kafka
async def test_the_kafka_feed_delivers_from_the_end_of_both_topics(kafka: KafkaBroker) -> None:
    hub = LiveHub()
    owner, task = uuid.uuid4(), uuid.uuid4()
    producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap)
    await producer.start()
    try:
        # Published before the feed starts: a live client must not get it.
        await producer.send_and_wait(
            TASK_UPDATES.name, notice_of(owner, uuid.UUID(int=99)), key=str(owner).encode()
        )
        feed = KafkaFeed(kafka.bootstrap, hub)
        runner = asyncio.create_task(feed.run())
        try:
            with hub.subscribe(owner) as stream:
                async with asyncio.timeout(DEADLINE_S):
                    await feed.assigned.wait()
                # Being assigned resyncs every stream: it may have missed notices meanwhile.
                assert await next_notice(stream) == RESYNC
                await producer.send_and_wait(
                    TASK_UPDATES.name, notice_of(owner, task, 2), key=str(owner).encode()
                )
                await producer.send_and_wait(
                    REMINDERS.name,
                    reminder_due(owner, task).model_dump_json().encode(),
                    key=str(task).encode(),
                )
                # Two topics: no order between them, so sorted by kind.
                change, reminder = sorted(
                    [await next_notice(stream), await next_notice(stream)], key=lambda n: n.kind
                )
                assert change == LiveNotice(
                    "change", {"task_id": str(task), "type": "task.updated", "version": 2}
                )
                assert reminder.kind == "reminder"
                assert reminder.data["title"] == "Call the bank"
        finally:
            runner.cancel()
            with pytest.raises(asyncio.CancelledError):
                await runner
    finally:
        await producer.stop()


class _Seen(logging.Handler):
    """Sets an event when a log record with ``text`` in its message is emitted."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text
        self.event = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if self.text in record.getMessage():
            self.event.set()


async def test_the_kafka_feed_retries_until_the_broker_answers() -> None:
    seen = _Seen("Kafka feed failed; reconnecting")
    logging.getLogger("app.ui.live").addHandler(seen)
    # Nothing listens on port 9 of loopback (discard): every attempt fails at once.
    feed = KafkaFeed("127.0.0.1:9", LiveHub())
    runner = asyncio.create_task(feed.run())
    try:
        async with asyncio.timeout(DEADLINE_S):
            await seen.event.wait()
        assert not feed.assigned.is_set()
        assert not runner.done()
    finally:
        logging.getLogger("app.ui.live").removeHandler(seen)
        runner.cancel()
        with pytest.raises(asyncio.CancelledError):
            await runner
