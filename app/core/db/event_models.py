"""Tables of the event backbone: the audit history, consumer bookkeeping, notification deliveries.

They share :class:`app.core.db.models.Base` (imported from ``app/core/db/__init__.py``, so its
metadata always holds them) and are created by migration ``0003``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db.models import Base


class AuditLog(Base):
    """One row per task event, append-only; the event id is unique, so a replay adds nothing.

    No foreign key to ``tasks``: the history of a deleted task stays readable (by its owner).
    """

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    event_id: Mapped[uuid.UUID] = mapped_column(unique=True)
    task_id: Mapped[uuid.UUID]
    owner_id: Mapped[uuid.UUID]
    event_type: Mapped[str] = mapped_column(String(64))
    event_time: Mapped[datetime]
    source: Mapped[str] = mapped_column(String(255))
    # The task's version after the change (absent for task.deleted).
    task_version: Mapped[int | None] = mapped_column(Integer)
    traceparent: Mapped[str | None] = mapped_column(String(64))
    data: Mapped[dict[str, Any]]
    recorded_at: Mapped[datetime] = mapped_column(server_default=func.now())

    __table_args__ = (Index("ix_audit_log_task_time", "task_id", "event_time", "id"),)


class ProcessedEvent(Base):
    """An event a consumer group has applied, written in the transaction of its effect."""

    __tablename__ = "processed_events"

    consumer_group: Mapped[str] = mapped_column(String(100), primary_key=True)
    event_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(server_default=func.now())

    # The relay prunes by age, oldest first, in small batches.
    __table_args__ = (Index("ix_processed_events_processed_at", "processed_at"),)


class NotificationDelivery(Base):
    """The delivery of one reminder over one channel: at most one row, so at most one send.

    No foreign key to ``reminders``: a delivery record outlives a deleted task and its reminders.
    """

    __tablename__ = "notification_deliveries"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    reminder_id: Mapped[uuid.UUID]
    channel: Mapped[str] = mapped_column(String(32))
    # Whose reminder (the per-user e-mail volume counts by it); NULL on rows older than 0008.
    owner_id: Mapped[uuid.UUID | None]
    status: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    __table_args__ = (
        UniqueConstraint("reminder_id", "channel"),
        CheckConstraint("status IN ('pending', 'delivered', 'failed')", name="status"),
        Index("ix_notification_deliveries_owner_sent", "owner_id", "channel", "delivered_at"),
    )


class WithheldReminderEmail(Base):
    """A reminder not e-mailed, and why: the address is not verified, or the owner had their
    hourly number of reminder e-mails already. One row per reminder (a redelivered event is
    not counted twice); the reminder still reaches the owner in the app."""

    __tablename__ = "withheld_reminder_emails"

    reminder_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    owner_id: Mapped[uuid.UUID]
    reason: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    __table_args__ = (
        CheckConstraint("reason IN ('unverified', 'volume')", name="reason"),
        Index("ix_withheld_reminder_emails_owner", "owner_id", "created_at"),
    )
