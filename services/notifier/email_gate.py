"""Whether a reminder may be e-mailed: only to a verified address, and at most
``REMINDER_EMAILS_PER_HOUR`` reminder e-mails per user in any hour.

A reminder held back is not dropped silently: it is recorded in ``withheld_reminder_emails``
(one row per reminder, so a redelivered event is counted once) and counted by
``todo_reminder_emails_withheld_total{reason}``. The other channels still deliver it, and the
app shows it (the live list's reminder notice). A withheld reminder is not e-mailed later:
an hour-old reminder is noise, and sending it would only move the excess into the next hour.

The owner's user row is locked while the count is taken (PostgreSQL), so two notifier replicas
delivering two reminders of one user at once cannot both pass a count of N-1.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Final, Literal

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.verified_address import is_email_verified
from app.core.db.event_models import NotificationDelivery, WithheldReminderEmail
from app.core.db.models import User
from app.core.observability import metric_catalog
from services.common.metrics import WorkerMetrics

WithheldReason = Literal["unverified", "volume"]
REASONS: Final[tuple[WithheldReason, ...]] = ("unverified", "volume")
WINDOW: Final = timedelta(hours=1)
EMAIL: Final = "email"


class EmailGate:
    def __init__(self, per_hour: int, metrics: WorkerMetrics) -> None:
        self._per_hour = per_hour
        self._withheld = metrics.counter(metric_catalog.REMINDER_EMAILS_WITHHELD)
        for reason in REASONS:
            self._withheld.labels(reason)  # exposed from the start: increase() needs a baseline

    async def withheld(
        self, session: AsyncSession, reminder_id: uuid.UUID, owner_id: uuid.UUID, now: datetime
    ) -> WithheldReason | None:
        """Why this reminder must not be e-mailed (recorded and counted), or None to send it."""
        delivered = await session.scalar(
            select(NotificationDelivery.status).where(
                NotificationDelivery.reminder_id == reminder_id,
                NotificationDelivery.channel == EMAIL,
                NotificationDelivery.status == "delivered",
            )
        )
        if delivered is not None:
            return None  # sent before: the delivery skips it as already done
        await session.execute(select(User.id).where(User.id == owner_id).with_for_update())
        reason: WithheldReason | None = None
        if not await is_email_verified(session, owner_id):
            reason = "unverified"
        elif await self._sent_within_window(session, owner_id, now) >= self._per_hour:
            reason = "volume"
        if reason is not None:
            await self._record(session, reminder_id, owner_id, reason)
        return reason

    async def _sent_within_window(
        self, session: AsyncSession, owner_id: uuid.UUID, now: datetime
    ) -> int:
        count = await session.scalar(
            select(func.count())
            .select_from(NotificationDelivery)
            .where(
                NotificationDelivery.owner_id == owner_id,
                NotificationDelivery.channel == EMAIL,
                NotificationDelivery.status == "delivered",
                NotificationDelivery.delivered_at > now - WINDOW,
            )
        )
        return int(count or 0)

    async def _record(
        self,
        session: AsyncSession,
        reminder_id: uuid.UUID,
        owner_id: uuid.UUID,
        reason: WithheldReason,
    ) -> None:
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        inserted = await session.scalar(
            insert(WithheldReminderEmail)
            .values(reminder_id=reminder_id, owner_id=owner_id, reason=reason)
            .on_conflict_do_nothing(index_elements=["reminder_id"])
            .returning(WithheldReminderEmail.reminder_id)
        )
        if inserted is not None:  # counted once, however often the event is redelivered
            self._withheld.labels(reason).inc()
