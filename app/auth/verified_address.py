"""Whether an account's e-mail address is verified: the one question other parts ask (the
notifier before it e-mails a reminder). Verifying is app/auth/email_verification.py's job; this
module stays light (no token code) because every notifier imports it at start."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db.models import User


async def is_email_verified(session: AsyncSession, user_id: uuid.UUID) -> bool:
    verified_at = await session.scalar(select(User.email_verified_at).where(User.id == user_id))
    return verified_at is not None
