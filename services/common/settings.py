"""Settings of the worker processes (environment variables, validated at start).

Load them with :func:`app.core.settings.load`, which names every bad variable in one error.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from app.core.settings import CommonSettings


class WorkerSettings(CommonSettings):
    """What every worker process (relay, audit, recurring, notifier) reads."""

    # 127.0.0.1 serves local development; deployments set HTTP_HOST=0.0.0.0 for the probes.
    http_host: str = "127.0.0.1"
    http_port: int = Field(8080, ge=0, le=65535, description="/healthz, /readyz, /metrics")
    kafka_client_id: str = Field("todo-platform", min_length=1)
    # How often the broker is asked whether it answers (todo_kafka_broker_up and /readyz).
    kafka_probe_seconds: float = Field(5, ge=0.5, le=300)
    # Records fetched per poll; a batch is handled, committed to the DB, then its offsets.
    consumer_batch_size: int = Field(100, ge=1, le=10_000)
    handler_max_attempts: int = Field(3, ge=1, le=100)
    # A consumer that dies is replaced in its partitions after this long, and a restarted one
    # joins its group only once the dead member's session has expired: the broker's minimum
    # (group.min.session.timeout.ms, 6 s) rather than 10 s. Heartbeats go every third of it.
    consumer_session_timeout_ms: int = Field(6_000, ge=1_000, le=300_000)
    handler_retry_backoff_seconds: float = Field(0.2, ge=0, le=60)
    # SIGTERM: how long the in-flight batch may take before the process gives up on it.
    shutdown_grace_seconds: float = Field(20, gt=0, le=600)


class RelaySettings(WorkerSettings):
    relay_backend: Literal["kafka", "dapr"] = "kafka"
    dapr_http_endpoint: str = Field("http://127.0.0.1:3500", description="the Dapr sidecar")
    dapr_pubsub: str = Field("pubsub", min_length=1, description="Dapr pub/sub component name")
    relay_batch_size: int = Field(200, ge=1, le=10_000)
    # The backstop poll: NOTIFY wakes the relay at once; this only catches a missed wake-up.
    relay_poll_seconds: float = Field(5, gt=0, le=3600)
    # Published outbox rows and processed_events records older than this are deleted.
    retention_hours: float = Field(7 * 24, gt=0)
    prune_batch_size: int = Field(500, ge=1, le=100_000)
    prune_interval_seconds: float = Field(300, gt=0)
