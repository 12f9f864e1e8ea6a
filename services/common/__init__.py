"""The shared runtime of the worker services: consumers, publishers, HTTP probes, settings.

A service defines handlers (:data:`Handler`) and consumers (:class:`ConsumerSpec`), bundles them
with its loops and routes in a :class:`Worker`, and runs it with :func:`run` (one process per
service, on Kafka) -- or the local run feeds the same specs from an :class:`InProcessBus`.

The contract every handler relies on, whichever bus delivers the event:

* the event arrives decoded and validated (envelope, known type, schema version, ``data``);
* the handler's effect, and the ``processed_events`` row of ``(group, event id)``, commit in ONE
  transaction; an event already processed by the group is skipped, so redelivery is harmless;
* the Kafka offset is committed only after that DB commit;
* a handler that raises is retried ``max_attempts`` times (``PermanentError``: not retried),
  then the event goes to ``<group>.dlq`` with the reason in its headers and the consumer goes on.
"""

from services.common.decode import DeadLetterReason, PoisonMessage, decode_event
from services.common.http import worker_http_app
from services.common.inprocess import InProcessBus
from services.common.metrics import WorkerMetrics
from services.common.process import run, serve
from services.common.publisher import OutgoingMessage, Publisher
from services.common.runtime import KafkaConsumerRuntime
from services.common.settings import RelaySettings, WorkerSettings
from services.common.spec import BatchHandler, ConsumerSpec, Handler, PermanentError
from services.common.worker import Loop, Worker, WorkerContext, WorkerParts

__all__ = [
    "BatchHandler",
    "ConsumerSpec",
    "DeadLetterReason",
    "Handler",
    "InProcessBus",
    "KafkaConsumerRuntime",
    "Loop",
    "OutgoingMessage",
    "PermanentError",
    "PoisonMessage",
    "Publisher",
    "RelaySettings",
    "Worker",
    "WorkerContext",
    "WorkerMetrics",
    "WorkerParts",
    "WorkerSettings",
    "decode_event",
    "run",
    "serve",
    "worker_http_app",
]
