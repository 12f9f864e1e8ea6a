"""Checks on query parameters beyond their type: what FastAPI parses may still break the query.

A datetime FastAPI accepts can lie outside what the database (or Python, once moved to UTC)
can hold -- ``9999-12-31T23:59:59-14:00`` is year 10000 in UTC -- and a string may carry a NUL
that no database text accepts. Each is a 422 naming the parameter.
"""

from __future__ import annotations

from datetime import UTC, datetime

from app.api.problems import invalid


def utc_instant(name: str, value: datetime | None) -> datetime | None:
    """``value`` in UTC; it must carry an offset and stay within years 1-9999 in UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise invalid(name, "must include a time zone offset")
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise invalid(name, "is outside the years 1 to 9999 (in UTC)") from None


def plain_text(name: str, value: str | None) -> str | None:
    """``value`` if the database can compare it: no NUL. (Starlette already replaced any
    percent-encoded bytes that are not UTF-8.)"""
    if value is not None and "\x00" in value:
        raise invalid(name, "must not contain NUL characters")
    return value
