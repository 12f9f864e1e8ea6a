"""Listing a user's tasks: filters, sorting and keyset (cursor) pagination.

A cursor encodes the sort it was made for and the (sort value, id) of the last row served, so the
next page is a range scan from there and rows added or removed meanwhile neither repeat nor vanish.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    SQLColumnExpression,
    and_,
    case,
    exists,
    func,
    literal_column,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.expression import type_coerce

from app.core.db.models import Task
from app.core.db.session import dialect_name
from app.tasks import cursors
from app.tasks.cursors import Direction, SortField, sort_value
from app.tasks.records import TaskRecord, task_columns, task_records

_PRIORITY_RANK = case({"high": 0, "medium": 1, "low": 2}, value=Task.priority)


@dataclass(frozen=True)
class TaskFilter:
    completed: bool | None = None
    priority: str | None = None
    due_before: datetime | None = None
    due_after: datetime | None = None
    overdue: bool | None = None
    tag: str | None = None
    text: str | None = None


def _sort_key(field: SortField) -> SQLColumnExpression[Any]:
    return {
        "due_date": Task.due_date,
        "priority": _PRIORITY_RANK,
        "title": Task.title,
        "created_at": Task.created_at,
    }[field]


def encode_cursor(field: SortField, direction: Direction, task: TaskRecord) -> str:
    value = sort_value(field, task.due_date, task.priority, task.title, task.created_at)
    return cursors.encode_cursor(field, direction, value, task.id)


def _after_cursor(
    key: SQLColumnExpression[Any], direction: Direction, value: Any, last_id: uuid.UUID
) -> ColumnElement[bool]:
    # Rows sort by (key NULLS LAST, id) in the requested direction.
    id_beyond = Task.id > last_id if direction == "asc" else Task.id < last_id
    if value is None:
        return and_(key.is_(None), id_beyond)
    beyond = key > value if direction == "asc" else key < value
    return or_(beyond, and_(key == value, id_beyond), key.is_(None))


def _tag_filter(dialect: str, tag: str) -> ColumnElement[bool]:
    if dialect == "postgresql":
        return type_coerce(Task.tags, JSONB).contains([tag])
    each = func.json_each(Task.tags).table_valued("value")
    return exists(select(literal_column("1")).select_from(each).where(each.c.value == tag))


def _filtered(query: Select[Any], dialect: str, f: TaskFilter) -> Select[Any]:
    if f.completed is not None:
        query = query.where(Task.completed.is_(f.completed))
    if f.priority is not None:
        query = query.where(Task.priority == f.priority)
    if f.due_before is not None:
        query = query.where(Task.due_date < f.due_before)
    if f.due_after is not None:
        query = query.where(Task.due_date >= f.due_after)
    if f.overdue is not None:
        is_overdue = and_(Task.completed.is_(False), Task.due_date < datetime.now(UTC))
        query = query.where(is_overdue if f.overdue else ~is_overdue)
    if f.tag is not None:
        query = query.where(_tag_filter(dialect, f.tag.lower()))
    if f.text:
        needle = f.text.lower()
        query = query.where(
            or_(
                func.lower(Task.title).contains(needle, autoescape=True),
                func.lower(Task.description).contains(needle, autoescape=True),
            )
        )
    return query


async def list_tasks(
    session: AsyncSession,
    owner_id: uuid.UUID,
    f: TaskFilter,
    *,
    sort: SortField,
    direction: Direction,
    limit: int,
    cursor: str | None,
) -> tuple[list[TaskRecord], str | None]:
    """One page of the owner's tasks (read-only records) and the cursor of the next, if any."""
    key = _sort_key(sort)
    ordered = key.asc().nulls_last() if direction == "asc" else key.desc().nulls_last()
    id_order = Task.id.asc() if direction == "asc" else Task.id.desc()
    query = _filtered(
        select(*task_columns()).where(Task.owner_id == owner_id), dialect_name(session), f
    )
    if cursor is not None:
        value, last_id = cursors.decode_cursor(cursor, sort, direction)
        query = query.where(_after_cursor(key, direction, value, last_id))
    query = query.order_by(ordered, id_order).limit(limit + 1)
    rows = (await session.execute(query)).all()
    page = await task_records(session, rows[:limit], query)
    if len(rows) <= limit:
        return page, None
    return page, encode_cursor(sort, direction, page[-1])
