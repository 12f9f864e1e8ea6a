"""Bytes from a topic to a validated CloudEvent, or a precise reason why not.

Decoding runs in the runtime's own loop, never in an aiokafka ``value_deserializer``: an
exception raised there makes aiokafka re-read the same record forever, so one poison message
would stop the partition. Here it becomes a :class:`PoisonMessage` that is dead-lettered.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any, Final

from pydantic import ValidationError

from app.core.events.contract import DATA_MODELS, SCHEMA_VERSION, CloudEvent, EventType


class DeadLetterReason(StrEnum):
    UNDECODABLE = "undecodable"  # not UTF-8 JSON
    NOT_A_CLOUDEVENT = "not-a-cloudevent"  # JSON, but no valid CloudEvents 1.0 envelope
    UNKNOWN_TYPE = "unknown-type"
    UNKNOWN_SCHEMA_VERSION = "unknown-schema-version"
    INVALID_DATA = "invalid-data"  # known type, but ``data`` does not match its schema
    HANDLER_FAILED = "handler-failed"  # the handler raised on every attempt


class PoisonMessage(Exception):
    """A message no retry can help: it goes to the dead-letter topic with ``reason``."""

    def __init__(self, reason: DeadLetterReason, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


# Attributes a Dapr sidecar adds to a CloudEvent it passes through (application/cloudevents+json).
_DAPR_ATTRIBUTES: Final = frozenset({"topic", "pubsubname", "traceid", "tracestate", "expiration"})
_DAPR_WRAPPER_TYPE: Final = "com.dapr.event.sent"
_REQUIRED: Final = ("specversion", "id", "source", "type")
_KNOWN_TYPES: Final = frozenset(t.value for t in EventType)


def decode_event(value: bytes | None) -> CloudEvent:
    """The CloudEvent in ``value``; raises :class:`PoisonMessage` naming what is wrong."""
    if value is None:
        raise PoisonMessage(DeadLetterReason.UNDECODABLE, "empty message (tombstone)")
    try:
        document = json.loads(value)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PoisonMessage(DeadLetterReason.UNDECODABLE, f"not UTF-8 JSON: {exc}") from None
    envelope = _unwrap_dapr(document)
    missing = [name for name in _REQUIRED if name not in envelope]
    if missing or envelope.get("specversion") != "1.0":
        what = f"missing {', '.join(missing)}" if missing else "specversion is not 1.0"
        raise PoisonMessage(DeadLetterReason.NOT_A_CLOUDEVENT, what)
    if envelope["type"] not in _KNOWN_TYPES:
        raise PoisonMessage(DeadLetterReason.UNKNOWN_TYPE, f"type {envelope['type']!r}")
    if envelope.get("schemaversion") != SCHEMA_VERSION:
        version = envelope.get("schemaversion")
        raise PoisonMessage(
            DeadLetterReason.UNKNOWN_SCHEMA_VERSION,
            f"schemaversion {version!r} for {envelope['type']} (this consumer reads "
            f"{SCHEMA_VERSION!r})",
        )
    try:
        event = CloudEvent.model_validate(envelope)
    except ValidationError as exc:
        raise PoisonMessage(DeadLetterReason.NOT_A_CLOUDEVENT, _errors(exc)) from None
    try:
        DATA_MODELS[event.type].model_validate(event.data)
    except ValidationError as exc:
        raise PoisonMessage(DeadLetterReason.INVALID_DATA, _errors(exc)) from None
    return event


def _unwrap_dapr(document: Any) -> dict[str, Any]:
    """Our envelope, whether Dapr passed it through or wrapped it as its own event's data."""
    if not isinstance(document, dict):
        raise PoisonMessage(
            DeadLetterReason.NOT_A_CLOUDEVENT, f"a JSON {type(document).__name__}, not an object"
        )
    if document.get("type") == _DAPR_WRAPPER_TYPE and isinstance(document.get("data"), dict):
        document = document["data"]
    return {name: value for name, value in document.items() if name not in _DAPR_ATTRIBUTES}


def _errors(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in error['loc']) or '<root>'}: {error['msg']}"
        for error in exc.errors()
    )
