"""The event contract shared by the API, the worker services and the Pulumi stacks.

Every event is a CloudEvents 1.0 JSON envelope whose ``data`` is one of the models below. The
envelope carries ``schemaversion`` (an extension attribute) so consumers can refuse what they do
not understand, and the W3C ``traceparent`` of the request that caused it (the CloudEvents
distributed-tracing extension).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from app.core.events.topics import REMINDERS, TASK_EVENTS, Topic
from app.core.processes import API

SCHEMA_VERSION: Final = "1"
SOURCE_API: Final = API.source
# The media type of an event in CloudEvents' structured mode (the whole envelope as JSON), as
# Kafka headers, Dapr and webhook receivers are told it.
CLOUDEVENTS_JSON: Final = "application/cloudevents+json"


class EventType(StrEnum):
    TASK_CREATED = "task.created"
    TASK_UPDATED = "task.updated"
    TASK_COMPLETED = "task.completed"
    TASK_DELETED = "task.deleted"
    REMINDER_SCHEDULED = "reminder.scheduled"
    REMINDER_DUE = "reminder.due"
    NOTIFICATION_SENT = "notification.sent"


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ReminderData(_Data):
    id: uuid.UUID
    remind_at: AwareDatetime
    offset_seconds: int | None = None


class TaskData(_Data):
    """A snapshot of the task after the change: consumers never need to read our database."""

    id: uuid.UUID
    owner_id: uuid.UUID
    title: str
    description: str
    priority: Literal["high", "medium", "low"]
    tags: list[str]
    completed: bool
    completed_at: AwareDatetime | None
    due_date: AwareDatetime | None
    timezone: str
    recurrence: dict[str, Any] | None
    series_id: uuid.UUID | None
    occurrence_index: int | None
    reminders: list[ReminderData] = Field(default_factory=list)
    version: int


class TaskDeletedData(_Data):
    id: uuid.UUID
    owner_id: uuid.UUID
    series_id: uuid.UUID | None


class ReminderScheduledData(_Data):
    task_id: uuid.UUID
    owner_id: uuid.UUID
    reminders: list[ReminderData]


class ReminderDueData(_Data):
    reminder_id: uuid.UUID
    task_id: uuid.UUID
    owner_id: uuid.UUID
    title: str
    remind_at: AwareDatetime
    due_date: AwareDatetime | None


class NotificationSentData(_Data):
    reminder_id: uuid.UUID
    task_id: uuid.UUID
    owner_id: uuid.UUID
    channel: str
    delivered_at: AwareDatetime


DATA_MODELS: Final[dict[EventType, type[_Data]]] = {
    EventType.TASK_CREATED: TaskData,
    EventType.TASK_UPDATED: TaskData,
    EventType.TASK_COMPLETED: TaskData,
    EventType.TASK_DELETED: TaskDeletedData,
    EventType.REMINDER_SCHEDULED: ReminderScheduledData,
    EventType.REMINDER_DUE: ReminderDueData,
    EventType.NOTIFICATION_SENT: NotificationSentData,
}

# Where each type is published. Ordering key is always the task id (the CloudEvents subject).
TOPIC_OF: Final[dict[EventType, Topic]] = {
    **{t: TASK_EVENTS for t in EventType if t.value.startswith("task.")},
    EventType.REMINDER_SCHEDULED: TASK_EVENTS,
    EventType.REMINDER_DUE: REMINDERS,
    EventType.NOTIFICATION_SENT: REMINDERS,
}


class CloudEvent(BaseModel):
    """A CloudEvents 1.0 structured-mode JSON envelope."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    specversion: Literal["1.0"] = "1.0"
    id: uuid.UUID = Field(default_factory=uuid.uuid4)
    source: str = SOURCE_API
    type: EventType
    subject: str
    time: AwareDatetime = Field(default_factory=lambda: datetime.now(UTC))
    datacontenttype: Literal["application/json"] = "application/json"
    schemaversion: Literal["1"] = SCHEMA_VERSION
    traceparent: str | None = None
    data: dict[str, Any]

    @classmethod
    def of(
        cls,
        event_type: EventType,
        data: _Data,
        *,
        subject: uuid.UUID | str,
        source: str = SOURCE_API,
        traceparent: str | None = None,
    ) -> CloudEvent:
        if not isinstance(data, DATA_MODELS[event_type]):
            raise TypeError(f"{event_type} carries {DATA_MODELS[event_type].__name__}")
        return cls(
            type=event_type,
            subject=str(subject),
            source=source,
            traceparent=traceparent,
            data=data.model_dump(mode="json"),
        )

    @property
    def topic(self) -> Topic:
        return TOPIC_OF[self.type]

    def typed_data(self) -> _Data:
        """The payload validated against its type's model (raises pydantic.ValidationError)."""
        return DATA_MODELS[self.type].model_validate(self.data)
