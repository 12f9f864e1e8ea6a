"""The relational model of the task product (SQLAlchemy 2.x typed ORM).

The API and every worker service use these classes; Alembic migrations in ``app/core/db/migrations``
create the same schema (a test compares the two).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ColumnElement,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    and_,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from app.core.db.types import JSONVariant, UTCDateTime

# Deterministic constraint names, so migrations can drop and recreate them by name.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def partial_index(name: str, column: str, *, where: str) -> Index:
    """An index of only the rows matching ``where``, on PostgreSQL and SQLite alike."""
    return Index(name, column, postgresql_where=text(where), sqlite_where=text(where))


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSONVariant}


class User(Base):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    email: Mapped[str] = mapped_column(String(320))
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    # Address verification (app/auth/email_verification.py): no reminder is e-mailed before
    # email_verified_at is set. The nonce is the one link that may still verify (single use:
    # cleared when used, replaced when a new link is sent); sent_at throttles re-sends.
    email_verified_at: Mapped[datetime | None]
    email_verification_nonce: Mapped[str | None] = mapped_column(String(64))
    email_verification_sent_at: Mapped[datetime | None]

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None

    __table_args__ = (
        # One account per address whatever its case: "Ann@x.io" and "ann@x.io" are the same inbox.
        Index("ux_users_email_lower", func.lower(email), unique=True),
    )


class TaskRecurrence(Base):
    """The rule of a recurring series; each occurrence is a row of ``tasks``."""

    __tablename__ = "task_recurrences"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    rule: Mapped[dict[str, Any]]
    timezone: Mapped[str] = mapped_column(String(64))
    series_start: Mapped[datetime]
    next_due_date: Mapped[datetime | None]
    last_created_at: Mapped[datetime | None]
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class Task(Base):
    __tablename__ = "tasks"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    priority: Mapped[str] = mapped_column(String(6), default="medium", server_default="medium")
    tags: Mapped[list[str]] = mapped_column(JSONVariant, default=list, server_default=text("'[]'"))
    completed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    completed_at: Mapped[datetime | None]
    due_date: Mapped[datetime | None]
    timezone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    recurrence: Mapped[dict[str, Any] | None]
    reminder_sent: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=text("false")
    )
    series_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("task_recurrences.id", ondelete="SET NULL")
    )
    occurrence_index: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    # Loaded with the task (one extra IN query per batch): every response and event carries them.
    reminders: Mapped[list[Reminder]] = relationship(
        order_by="Reminder.remind_at",
        cascade="all, delete-orphan",
        passive_deletes=True,
        lazy="selectin",
    )
    # Never loaded (nothing reads it); it tells the unit of work that a series inserted in the
    # same flush must be written before the task row that references it (issue 10.1).
    series: Mapped[TaskRecurrence | None] = relationship(lazy="raise")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        CheckConstraint("priority IN ('high', 'medium', 'low')", name="priority"),
        # The recurring service's idempotency: one task per series and occurrence, however
        # often task.completed is delivered.
        UniqueConstraint("series_id", "occurrence_index"),
        Index("ix_tasks_owner_created", "owner_id", "created_at"),
        Index("ix_tasks_owner_due", "owner_id", "due_date"),
        # "Tasks due before X" across all owners (overdue sweeps, metrics) on open tasks only.
        partial_index("ix_tasks_open_due", "due_date", where="NOT completed"),
    )


class Reminder(Base):
    __tablename__ = "reminders"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    task_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    # Set for reminders relative to the due date, so moving the due date moves them.
    offset_seconds: Mapped[int | None] = mapped_column(Integer)
    remind_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    @classmethod
    def pending(cls) -> ColumnElement[bool]:
        """SQL for ``app.domain.reminders.is_pending``: neither sent nor cancelled."""
        return and_(cls.sent_at.is_(None), cls.cancelled_at.is_(None))

    __table_args__ = (
        CheckConstraint("offset_seconds IS NULL OR offset_seconds >= 0", name="offset_nonnegative"),
        Index("ix_reminders_task", "task_id"),
        # "Reminders pending before now": a partial index holds only the unsent ones.
        partial_index(
            "ix_reminders_pending", "remind_at", where="sent_at IS NULL AND cancelled_at IS NULL"
        ),
    )


class OutboxEvent(Base):
    """An event written in the transaction of the change that caused it (transactional outbox)."""

    __tablename__ = "outbox"

    # Monotonic id: the relay publishes in this order.
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    event_id: Mapped[uuid.UUID] = mapped_column(unique=True)
    topic: Mapped[str] = mapped_column(String(255))
    key: Mapped[str] = mapped_column(String(255))
    event_type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    published_at: Mapped[datetime | None]

    __table_args__ = (partial_index("ix_outbox_unpublished", "id", where="published_at IS NULL"),)


class IdempotencyKey(Base):
    """The first response to a POST carrying an ``Idempotency-Key``, replayed on retries."""

    __tablename__ = "idempotency_keys"

    owner_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class ChatUndo(Base):
    """The way back from a user's last change made by chat: one row per user, replaced by each
    change and consumed by "undo" (app/chat/undo.py says what `action` holds)."""

    __tablename__ = "chat_undo"

    owner_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    action: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]


class ChatMessage(Base):
    """One line of a user's conversation with the chat's AI agent (app/chat/conversation.py):
    what the user said and what the agent answered, newest kept, older ones pruned."""

    __tablename__ = "chat_messages"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))
    content: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]

    __table_args__ = (
        CheckConstraint("role IN ('user', 'assistant')", name="role"),
        Index("ix_chat_messages_owner_id_id", "owner_id", "id"),
    )


class AccessToken(Base):
    """A personal access token for the MCP server: only its SHA-256 is stored, never the token
    (app/mcp_server/tokens.py says why a plain hash suffices for a 256-bit random secret)."""

    __tablename__ = "access_tokens"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[dict[str, Any]]  # {"scopes": [...]}: JSON the same way on both backends
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_access_tokens_owner", "owner_id"),)
