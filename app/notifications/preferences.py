"""A user's channel preferences: Web Push on or off, e-mail on or off (delivered only to a
verified address: :mod:`services.notifier.email_gate`), and a webhook URL of their own, signed
with a secret the server generates for them."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db.notification_models import NotificationPreference
from app.notifications.targets import TargetRefused, check_target


@dataclass(frozen=True, slots=True)
class Preferences:
    push: bool = True
    email: bool = True
    webhook_url: str | None = None
    webhook_secret: str | None = None


class PreferenceRefused(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _of(row: NotificationPreference | None) -> Preferences:
    if row is None:
        return Preferences()
    return Preferences(
        push=row.push,
        email=row.email,
        webhook_url=row.webhook_url,
        webhook_secret=row.webhook_secret,
    )


async def of_user(session: AsyncSession, owner: uuid.UUID) -> Preferences:
    return _of(await session.get(NotificationPreference, owner))


def new_webhook_secret() -> str:
    """32 random bytes, base64url: the HMAC-SHA256 key of the user's webhook requests."""
    return secrets.token_urlsafe(32)


async def update(
    session: AsyncSession,
    owner: uuid.UUID,
    *,
    push: bool,
    email: bool,
    webhook_url: str | None,
    rotate_secret: bool = False,
    allow_loopback: bool,
) -> Preferences:
    """Replace the owner's preferences (the caller commits). A webhook URL is checked against
    the send rule first (nothing is written when it fails); setting one the first time, or
    ``rotate_secret``, makes a new signing secret; removing it drops the secret."""
    if webhook_url is not None:
        try:
            check_target(webhook_url, allow_loopback=allow_loopback)
        except TargetRefused as refused:
            raise PreferenceRefused("webhook_url", str(refused)) from None
    row = await session.get(NotificationPreference, owner)
    if row is None:
        row = NotificationPreference(owner_id=owner)
        session.add(row)
    row.push = push
    row.email = email
    row.webhook_url = webhook_url
    if webhook_url is None:
        row.webhook_secret = None
    elif rotate_secret or row.webhook_secret is None:
        row.webhook_secret = new_webhook_secret()
    row.updated_at = datetime.now(UTC)
    await session.flush()
    return _of(row)
