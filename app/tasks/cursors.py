"""The list cursor: what a client gets back to fetch the next page, and checking what it sends.

A cursor is base64url of the JSON ``[sort field, direction, last sort value, last task id]``.
Clients can edit it, so decoding trusts nothing: the JSON is parsed within a size limit (deep
nesting is refused, not recursed into), must be exactly that four-item shape, and the value must
be what this sort produces -- a priority rank 0-2 (not a boolean), a title the database can
compare (no NUL, no lone surrogate, at most the longest title), an instant with an offset that
stays within the representable years once in UTC. Anything else is a 422 naming ``cursor``,
never an error from deeper down.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from app.api.problems import Problem, invalid

SortField = Literal["due_date", "priority", "title", "created_at"]
Direction = Literal["asc", "desc"]

PRIORITY_ORDER = ("high", "medium", "low")
# A cursor this API makes is well under this: a 200-character title, escaped, and the rest.
MAX_CURSOR_JSON_BYTES = 1500
MAX_TITLE_CHARS = 200


def encode_cursor(field: SortField, direction: Direction, value: Any, task_id: uuid.UUID) -> str:
    raw = json.dumps([field, direction, value, str(task_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def sort_value(
    field: SortField, due_date: datetime | None, priority: str, title: str, created_at: datetime
) -> Any:
    """The JSON value a cursor carries for a task under sort ``field``."""
    if field == "due_date":
        return due_date.isoformat() if due_date else None
    if field == "priority":
        return PRIORITY_ORDER.index(priority)
    if field == "title":
        return title
    return created_at.isoformat()


def _not_ours() -> Problem:
    return invalid("cursor", "is not a cursor this API returned")


def _instant(value: object) -> datetime:
    if not isinstance(value, str):
        raise _not_ours()
    try:
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            raise _not_ours()
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        raise _not_ours() from None


def _title(value: object) -> str:
    if not isinstance(value, str) or len(value) > MAX_TITLE_CHARS or "\x00" in value:
        raise _not_ours()
    try:
        value.encode("utf-8")  # a lone surrogate cannot reach the database
    except UnicodeEncodeError:
        raise _not_ours() from None
    return value


def decode_cursor(cursor: str, field: SortField, direction: Direction) -> tuple[Any, uuid.UUID]:
    """(last sort value, last task id) from ``cursor``, made for this sort; else a 422."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (ValueError, binascii.Error):
        raise _not_ours() from None
    if len(raw) > MAX_CURSOR_JSON_BYTES:
        raise _not_ours()
    try:
        decoded = json.loads(raw)
    except (ValueError, RecursionError):  # JSONDecodeError and bad UTF-8 are ValueErrors
        raise _not_ours() from None
    if not isinstance(decoded, list) or len(decoded) != 4:
        raise _not_ours()
    c_field, c_direction, value, task_id = decoded
    if not isinstance(c_field, str) or not isinstance(c_direction, str):
        raise _not_ours()
    if (c_field, c_direction) != (field, direction):
        raise invalid("cursor", "was made for another sort order; start again without it")
    if not isinstance(task_id, str):
        raise _not_ours()
    try:
        last_id = uuid.UUID(task_id)
    except ValueError:
        raise _not_ours() from None
    if value is None and field == "due_date":  # the undated tasks sort last
        return None, last_id
    if field in ("due_date", "created_at"):
        return _instant(value), last_id
    if field == "priority":
        # bool is an int in Python: refuse it explicitly.
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 2:
            raise _not_ours()
        return value, last_id
    return _title(value), last_id
