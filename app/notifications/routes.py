"""Where one user's reminders go, read in one place for the notifier: the e-mail address (if
e-mail is on; services/notifier/email_gate.py decides whether it may be sent to), their push
subscriptions (if push is on), their webhook."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db.models import User
from app.notifications import preferences, subscriptions


@dataclass(frozen=True, slots=True)
class PushTarget:
    subscription_id: uuid.UUID
    endpoint: str
    p256dh: str
    auth: str


@dataclass(frozen=True, slots=True)
class Routes:
    email: str | None = None
    push: tuple[PushTarget, ...] = field(default_factory=tuple)
    webhook_url: str | None = None
    webhook_secret: str | None = None


async def routes_of(session: AsyncSession, owner: uuid.UUID) -> Routes:
    chosen = await preferences.of_user(session, owner)
    email = None
    # Verified or not: the notifier's e-mail gate withholds (and records) what may not be sent.
    if chosen.email:
        email = await session.scalar(select(User.email).where(User.id == owner))
    push: tuple[PushTarget, ...] = ()
    if chosen.push:
        push = tuple(
            PushTarget(row.id, row.endpoint, row.p256dh, row.auth)
            for row in await subscriptions.listed(session, owner)
        )
    return Routes(
        email=email,
        push=push,
        webhook_url=chosen.webhook_url,
        webhook_secret=chosen.webhook_secret,
    )
