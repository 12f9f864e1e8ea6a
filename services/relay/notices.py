"""The compact change notice on ``task-updates``: what a live client (the web UI) needs to refresh.

Keyed by owner, so one owner's notices stay in order; the topic is compacted, so it holds the
latest notice per owner. The payload is deliberately small and carries no task content: a
client re-reads the task through the API, with its own authorisation.
"""

from __future__ import annotations

import json
from typing import Any

from app.core.events.topics import TASK_EVENTS, TASK_UPDATES
from services.common.publisher import OutgoingMessage


def task_update_notice(topic: str, payload: dict[str, Any]) -> OutgoingMessage | None:
    """The notice for one outbox payload (a CloudEvent), or None if it is not a task change."""
    event_type = str(payload.get("type", ""))
    if topic != TASK_EVENTS.name or not event_type.startswith("task."):
        return None
    data = payload.get("data") or {}
    owner_id = data.get("owner_id")
    if owner_id is None:
        return None
    notice = {
        "owner_id": owner_id,
        "task_id": payload.get("subject"),
        "type": event_type,
        "version": data.get("version"),
        "time": payload.get("time"),
    }
    return OutgoingMessage(
        topic=TASK_UPDATES.name,
        key=str(owner_id),
        value=json.dumps(notice, separators=(",", ":")).encode(),
    )
