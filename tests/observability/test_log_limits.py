"""A Kafka client's repeated errors are logged once, then at a bounded rate with a count."""

from __future__ import annotations

import logging

import pytest

from app.core.observability.log_limits import RepeatLimiter


class _Lines(logging.Handler):
    def __init__(self, limiter: RepeatLimiter) -> None:
        super().__init__()
        self.lines: list[str] = []
        self.addFilter(limiter)

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.name}: {record.getMessage()}")


@pytest.fixture
def clock() -> list[float]:
    return [1000.0]


@pytest.fixture
def lines(clock: list[float]) -> _Lines:
    return _Lines(RepeatLimiter(60.0, clock=lambda: clock[0]))


def _log(handler: _Lines, name: str, message: str, *args: object) -> None:
    record = logging.LogRecord(name, logging.ERROR, __file__, 1, message, args, None)
    handler.handle(record)


def test_an_outage_logs_once_then_once_a_minute_with_a_count(
    lines: _Lines, clock: list[float]
) -> None:
    # 30 s of an outage at 64 reconnect errors a second (a step exact in binary), then 40 s more.
    for _ in range(30 * 64):
        _log(lines, "aiokafka.conn", 'Unable connect to "%s": %s', "kafka:9092", "refused")
        clock[0] += 1 / 64
    assert lines.lines == ['aiokafka.conn: Unable connect to "kafka:9092": refused']
    for _ in range(40 * 64):
        _log(lines, "aiokafka.conn", 'Unable connect to "%s": %s', "kafka:9092", "refused")
        clock[0] += 1 / 64
    assert lines.lines == [
        'aiokafka.conn: Unable connect to "kafka:9092": refused',
        'aiokafka.conn: Unable connect to "kafka:9092": refused (3839 more like this in 60 s)',
    ]


def test_each_kind_of_message_counts_apart_and_other_loggers_pass(lines: _Lines) -> None:
    for _ in range(5):
        _log(lines, "aiokafka", "Unable to request metadata from %s", "node-1")
        _log(lines, "aiokafka.conn", "Connection to %s lost", "node-1")
        _log(lines, "services.relay", "batch failed: %s", "timeout")
    assert lines.lines == [
        "aiokafka: Unable to request metadata from node-1",
        "aiokafka.conn: Connection to node-1 lost",
        *["services.relay: batch failed: timeout"] * 5,
    ]
