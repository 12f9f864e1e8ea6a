"""Checks on query parameters beyond their type: what FastAPI parses may still break the query.

A datetime FastAPI accepts can lie outside what the database (or Python, once moved to UTC)
can hold -- ``9999-12-31T23:59:59-14:00`` is year 10000 in UTC -- and a string may carry a NUL
that no database text accepts. Each is a 422 naming the parameter. And a bare number, which
pydantic would read as a Unix time, is not the date-time the schema promises.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated

from pydantic import BeforeValidator

from app.api.problems import invalid

_UNIX_TIME = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?")


def _not_a_number(value: object) -> object:
    if isinstance(value, str) and _UNIX_TIME.fullmatch(value):
        raise ValueError("must be an ISO 8601 date-time, not a number")
    return value


# A date-time query parameter as the OpenAPI schema states it (format date-time): found by
# schemathesis' negative data, "?due_before=123" was accepted as 1970-01-01T00:02:03Z.
QueryInstant = Annotated[datetime | None, BeforeValidator(_not_a_number)]


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
