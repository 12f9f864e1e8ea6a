"""Decoding in the consumer runtime: a CloudEvent, or the precise reason it is not one."""

from __future__ import annotations

import json
from typing import Any

import pytest

from app.core.events.schema_files import EXAMPLE_DIR
from services.common import DeadLetterReason, PoisonMessage, decode_event

EXAMPLE: dict[str, Any] = json.loads((EXAMPLE_DIR / "task.updated.json").read_text())


def encoded(document: object) -> bytes:
    return json.dumps(document).encode()


# What a Dapr subscriber receives of our event, by the content type the relay published with.
DAPR_DELIVERIES = {
    # application/cloudevents+json: Dapr keeps our envelope and adds its own attributes.
    "pass-through": {
        **EXAMPLE,
        "topic": "task-events",
        "pubsubname": "pubsub",
        "traceid": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "tracestate": "",
    },
    # application/json: Dapr wraps the payload as the data of its own event.
    "wrapped": {
        "specversion": "1.0",
        "id": "5929aaac-a5e2-4ca1-859c-edfe73f11565",
        "source": "relay",
        "type": "com.dapr.event.sent",
        "datacontenttype": "application/json",
        "topic": "task-events",
        "pubsubname": "pubsub",
        "data": EXAMPLE,
    },
}


@pytest.mark.parametrize("delivered", DAPR_DELIVERIES.values(), ids=DAPR_DELIVERIES.keys())
def test_a_dapr_delivery_is_our_event(delivered: dict[str, Any]) -> None:
    assert decode_event(encoded(delivered)) == decode_event(encoded(EXAMPLE))


@pytest.mark.parametrize(
    ("value", "reason", "detail"),
    [
        (None, DeadLetterReason.UNDECODABLE, "tombstone"),
        (b"\xff\xfe", DeadLetterReason.UNDECODABLE, "not UTF-8 JSON"),
        (b"{not json", DeadLetterReason.UNDECODABLE, "not UTF-8 JSON"),
        (b'"a string"', DeadLetterReason.NOT_A_CLOUDEVENT, "a JSON str"),
        (encoded({"id": "1"}), DeadLetterReason.NOT_A_CLOUDEVENT, "missing specversion"),
        (encoded({**EXAMPLE, "specversion": "0.3"}), DeadLetterReason.NOT_A_CLOUDEVENT, "1.0"),
        (encoded({**EXAMPLE, "time": "yesterday"}), DeadLetterReason.NOT_A_CLOUDEVENT, "time"),
        (encoded({**EXAMPLE, "type": "task.exploded"}), DeadLetterReason.UNKNOWN_TYPE, "exploded"),
        (
            encoded({k: v for k, v in EXAMPLE.items() if k != "schemaversion"}),
            DeadLetterReason.UNKNOWN_SCHEMA_VERSION,
            "schemaversion None",
        ),
        (
            encoded({**EXAMPLE, "schemaversion": "2"}),
            DeadLetterReason.UNKNOWN_SCHEMA_VERSION,
            "schemaversion '2' for task.updated",
        ),
        (
            encoded({**EXAMPLE, "data": {**EXAMPLE["data"], "priority": "urgent"}}),
            DeadLetterReason.INVALID_DATA,
            "priority",
        ),
    ],
)
def test_poison_names_its_reason(
    value: bytes | None, reason: DeadLetterReason, detail: str
) -> None:
    with pytest.raises(PoisonMessage) as caught:
        decode_event(value)
    assert caught.value.reason is reason
    assert detail in caught.value.detail
