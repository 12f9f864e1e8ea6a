"""Shared by the API and UI tests of a user's notification channels."""

from __future__ import annotations

import secrets

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core import vapid
from app.core.db.notification_models import NotificationPreference, PushSubscription


def browser_keys() -> dict[str, str]:
    """A subscription's keys as a browser reports them: a P-256 point and a 16-byte secret."""
    return {"p256dh": vapid.generate()[1], "auth": vapid.b64url(secrets.token_bytes(16))}


async def notification_rows(sessions: async_sessionmaker[AsyncSession]) -> tuple[int, int]:
    """(push subscriptions, preference rows) in the whole database: proof a refusal wrote
    nothing."""
    async with sessions() as session:
        subscriptions = await session.scalar(select(func.count()).select_from(PushSubscription))
        chosen = await session.scalar(select(func.count()).select_from(NotificationPreference))
    return int(subscriptions or 0), int(chosen or 0)
