"""One user's rows of a table that has an owner: the lists a user manages (push subscriptions,
access tokens) show them oldest first."""

from __future__ import annotations

import uuid
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db.models import Base

Row = TypeVar("Row", bound=Base)


async def oldest_first(session: AsyncSession, model: type[Row], owner: uuid.UUID) -> list[Row]:
    """``owner``'s rows of ``model`` (a table with ``owner_id``, ``created_at`` and ``id``) by
    creation, the id breaking ties so the order is the same on every read."""
    columns = model.__table__.c
    rows = await session.scalars(
        select(model).where(columns.owner_id == owner).order_by(columns.created_at, columns.id)
    )
    return list(rows)
