"""SQL that differs between PostgreSQL (deployments) and SQLite (the local run)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


def upsert_into(session: AsyncSession, table: Any) -> Any:
    """``INSERT`` into ``table`` with ``on_conflict_do_nothing`` support on either database."""
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
