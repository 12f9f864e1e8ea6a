"""The committed JSON Schemas and examples of the event contract, generated from the models.

``app/core/events/schemas/<type>.schema.json`` describes the whole CloudEvents envelope of one event
type, its ``data`` included (generated from the pydantic model in app.core.events.contract);
``app/core/events/schemas/examples/<type>.json`` is a complete, valid event of that type. Consumers
in any language can validate against them; the contract tests check that every producer's
output validates and that every consumer accepts every example, and that these files match
the models (so a model change without regenerating fails the tests).

Regenerate after changing a model: ``uv run python -m app.core.events.schema_files``; check
without writing: ``... --check`` (exit 1 and the stale files' names when they differ).
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from app.core.events.contract import (
    DATA_MODELS,
    SCHEMA_VERSION,
    CloudEvent,
    EventType,
    NotificationSentData,
    ReminderData,
    ReminderDueData,
    ReminderScheduledData,
    TaskData,
    TaskDeletedData,
)
from app.domain.recurrence import RecurrenceRule

SCHEMA_DIR: Final = Path(__file__).with_name("schemas")
EXAMPLE_DIR: Final = SCHEMA_DIR / "examples"
NOTICE_SCHEMA: Final = "task-updates.notice.schema.json"
DRAFT: Final = "https://json-schema.org/draft/2020-12/schema"

# Fixed values, so the examples are the same on every generation.
_TASK = uuid.UUID("6f1c2a4e-8d3b-4c5a-9e7f-0a1b2c3d4e5f")
_OWNER = uuid.UUID("1d2e3f40-5a6b-4c7d-8e9f-a0b1c2d3e4f5")
_SERIES = uuid.UUID("9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d")
_REMINDER = uuid.UUID("3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f")
_TIME = datetime(2031, 3, 1, 7, 0, tzinfo=UTC)
_DUE = datetime(2031, 3, 1, 8, 0, tzinfo=UTC)
_TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def _task(completed: bool, version: int) -> TaskData:
    return TaskData(
        id=_TASK,
        owner_id=_OWNER,
        title="Water the plants",
        description="The ones on the balcony",
        priority="medium",
        tags=["home"],
        completed=completed,
        completed_at=_TIME if completed else None,
        due_date=_DUE,
        timezone="Europe/Berlin",
        recurrence=RecurrenceRule(freq="weekly", weekdays=(5,)).to_dict(),
        series_id=_SERIES,
        occurrence_index=0,
        reminders=[ReminderData(id=_REMINDER, remind_at=_TIME, offset_seconds=3600)],
        version=version,
    )


_EXAMPLE_DATA: Final[dict[EventType, Any]] = {
    EventType.TASK_CREATED: _task(completed=False, version=1),
    EventType.TASK_UPDATED: _task(completed=False, version=2),
    EventType.TASK_COMPLETED: _task(completed=True, version=3),
    EventType.TASK_DELETED: TaskDeletedData(id=_TASK, owner_id=_OWNER, series_id=_SERIES),
    EventType.REMINDER_SCHEDULED: ReminderScheduledData(
        task_id=_TASK,
        owner_id=_OWNER,
        reminders=[ReminderData(id=_REMINDER, remind_at=_TIME, offset_seconds=3600)],
    ),
    EventType.REMINDER_DUE: ReminderDueData(
        reminder_id=_REMINDER,
        task_id=_TASK,
        owner_id=_OWNER,
        title="Water the plants",
        remind_at=_TIME,
        due_date=_DUE,
    ),
    EventType.NOTIFICATION_SENT: NotificationSentData(
        reminder_id=_REMINDER, task_id=_TASK, owner_id=_OWNER, channel="webhook", delivered_at=_TIME
    ),
}


def envelope_schema(event_type: EventType) -> dict[str, Any]:
    """The JSON Schema of a whole ``event_type`` event: the envelope with its typed ``data``."""
    data_schema = DATA_MODELS[event_type].model_json_schema(mode="serialization")
    definitions = data_schema.pop("$defs", {})
    definitions[data_schema["title"]] = data_schema
    return {
        "$schema": DRAFT,
        "$id": f"urn:todo-platform:event:{event_type.value}:{SCHEMA_VERSION}",
        "title": f"{event_type.value} (schema version {SCHEMA_VERSION})",
        "description": "A CloudEvents 1.0 structured-mode JSON event of the todo platform.",
        "type": "object",
        "additionalProperties": False,
        "required": ["specversion", "id", "source", "type", "subject", "time", "data"],
        "properties": {
            "specversion": {"const": "1.0"},
            "id": {"type": "string", "format": "uuid"},
            "source": {"type": "string", "minLength": 1},
            "type": {"const": event_type.value},
            "subject": {"type": "string", "description": "the task id (the partition key)"},
            "time": {"type": "string", "format": "date-time"},
            "datacontenttype": {"const": "application/json"},
            "schemaversion": {"const": SCHEMA_VERSION},
            "traceparent": {
                "anyOf": [{"type": "string"}, {"type": "null"}],
                "description": "W3C trace context of the request that caused the event",
            },
            "data": {"$ref": f"#/$defs/{data_schema['title']}"},
        },
        "$defs": definitions,
    }


def notice_schema() -> dict[str, Any]:
    """The compact change notice the relay publishes on ``task-updates`` (not a CloudEvent)."""
    task_types = [t.value for t in EventType if t.value.startswith("task.")]
    return {
        "$schema": DRAFT,
        "$id": "urn:todo-platform:notice:task-updates:1",
        "title": "task-updates notice",
        "description": "Something changed in one of this owner's tasks: re-read it via the API.",
        "type": "object",
        "additionalProperties": False,
        "required": ["owner_id", "task_id", "type", "version", "time"],
        "properties": {
            "owner_id": {"type": "string", "format": "uuid"},
            "task_id": {"type": "string", "format": "uuid"},
            "type": {"enum": task_types},
            "version": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
            "time": {"type": "string", "format": "date-time"},
        },
    }


def example(event_type: EventType) -> dict[str, Any]:
    data = _EXAMPLE_DATA[event_type]
    event = CloudEvent.of(
        event_type,
        data,
        subject=getattr(data, "task_id", None) or data.id,
        traceparent=_TRACEPARENT,
    ).model_copy(update={"id": uuid.uuid5(_TASK, event_type.value), "time": _TIME})
    return event.model_dump(mode="json")


def expected_files() -> dict[Path, str]:
    """Every generated file and its exact content."""
    files = {SCHEMA_DIR / NOTICE_SCHEMA: _dump(notice_schema())}
    for event_type in EventType:
        files[SCHEMA_DIR / f"{event_type.value}.schema.json"] = _dump(envelope_schema(event_type))
        files[EXAMPLE_DIR / f"{event_type.value}.json"] = _dump(example(event_type))
    return files


def stale_files() -> list[Path]:
    """Generated files that are missing or differ from what the models give now."""
    return [
        path
        for path, content in expected_files().items()
        if not path.exists() or path.read_text() != content
    ]


def _dump(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="only report stale files")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_files()
        for path in stale:
            print(f"stale: {path} (run python -m app.core.events.schema_files)", file=sys.stderr)
        return 1 if stale else 0
    EXAMPLE_DIR.mkdir(parents=True, exist_ok=True)
    for path, content in expected_files().items():
        path.write_text(content)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
