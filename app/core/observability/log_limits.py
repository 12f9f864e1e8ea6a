"""Bounded logging of a Kafka client that cannot reach its broker.

During a broker outage aiokafka logs every failed reconnect, many times a second per client:
tens of thousands of lines per worker in one short outage. This filter lets the first record
of each kind (logger and message template) through, then at most one per ``interval`` seconds,
that one saying how many like it were held back meanwhile. Other loggers pass untouched.

It sits on the root handlers (``install``): a filter on the ``aiokafka`` logger itself would
not see records of its children, which propagate to handlers without passing parent filters.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

LIMITED_PREFIX = "aiokafka"
DEFAULT_INTERVAL_S = 60.0


class RepeatLimiter(logging.Filter):
    def __init__(
        self,
        interval: float = DEFAULT_INTERVAL_S,
        *,
        prefix: str = LIMITED_PREFIX,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.interval = interval
        self.prefix = prefix
        self._clock = clock
        # (logger, template) -> (when one last went out, how many held back since)
        self._seen: dict[tuple[str, str], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if not (record.name == self.prefix or record.name.startswith(self.prefix + ".")):
            return True
        key = (record.name, str(record.msg))
        now = self._clock()
        last = self._seen.get(key)
        if last is not None and now - last[0] < self.interval:
            self._seen[key] = (last[0], last[1] + 1)
            return False
        self._seen[key] = (now, 0)
        if last is not None and last[1]:
            elapsed = now - last[0]
            record.msg = f"{record.getMessage()} ({last[1]} more like this in {elapsed:.0f} s)"
            record.args = None
        return True


def install(interval: float = DEFAULT_INTERVAL_S) -> RepeatLimiter:
    """Put one limiter on every handler of the root logger (after logging is configured)."""
    limiter = RepeatLimiter(interval)
    for handler in logging.getLogger().handlers:
        handler.addFilter(limiter)
    return limiter
