"""Support for the tests of the recurring and notifier services (and bench/reminders.py).

A migrated database of its own on the real PostgreSQL, users to own tasks, and real receivers
for the notifier's channels on 127.0.0.1: a webhook endpoint (uvicorn) and an SMTP server
(aiosmtpd). Each receiver records what arrived, when, and whether it was valid, and can be told
to fail the next few requests with a transient error, to exercise retries.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from opentelemetry.trace import SpanKind
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.core.db.migrate import upgrade_async
from app.core.db.models import User
from app.core.db.session import create_engine, session_factory
from app.core.events.contract import CloudEvent, EventType, ReminderDueData
from app.core.observability.tracing import continue_trace
from devtools.postgres import PostgresServer
from devtools.process import LOOPBACK, free_port
from devtools.testkit.http_stub import LoopbackApp
from services.notifier.channels.webhook import (
    EVENT_ID_HEADER,
    IDEMPOTENCY_HEADER,
    SIGNATURE_HEADER,
    verify_signature,
)


async def eventually(
    condition: Callable[[], bool | Awaitable[bool]], *, within: float, what: str
) -> None:
    """Poll ``condition`` until it holds; fail naming ``what`` at the deadline."""
    deadline = time.monotonic() + within
    while True:
        result = condition()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        if time.monotonic() >= deadline:
            raise AssertionError(f"gave up after {within:g} s waiting for: {what}")
        await asyncio.sleep(0.05)


def reminder_due(
    title: str,
    *,
    owner_id: uuid.UUID | None = None,
    remind_at: datetime | None = None,
    due_date: datetime | None = None,
) -> CloudEvent:
    """A ``reminder.due`` event as the notifier's scheduler records it (fresh ids)."""
    data = ReminderDueData(
        reminder_id=uuid.uuid4(),
        task_id=uuid.uuid4(),
        owner_id=owner_id or uuid.uuid4(),
        title=title,
        remind_at=remind_at or datetime.now(UTC),
        due_date=due_date,
    )
    return CloudEvent.of(EventType.REMINDER_DUE, data, subject=data.task_id)


# A caller's trace context, as the API stamps it on the events of a request.
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def reminder_due_event(
    owner_id: uuid.UUID, *, title: str = "Pay rent", traceparent: str | None = None
) -> CloudEvent:
    """A ``reminder.due`` of a new reminder of ``owner_id``'s, due now, as the notifier's
    claim writes it."""
    data = ReminderDueData(
        reminder_id=uuid.uuid4(),
        task_id=uuid.uuid4(),
        owner_id=owner_id,
        title=title,
        remind_at=datetime.now(UTC),
        due_date=None,
    )
    return CloudEvent.of(
        EventType.REMINDER_DUE, data, subject=data.task_id, traceparent=traceparent
    )


@contextmanager
def handling(event: CloudEvent) -> Iterator[None]:
    """The context the consumer runtime calls a handler in: a span continuing the event's
    trace (here without a tracer provider: the context passes through unrecorded)."""
    with continue_trace(None, "process", event.traceparent, kind=SpanKind.CONSUMER):
        yield


@dataclass
class Database:
    url: str
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]

    async def new_user(self, *, verified: bool = True) -> uuid.UUID:
        """A fresh account to own tasks (never logs in: the services do not care); its address
        verified unless told otherwise (reminders are e-mailed only to a verified address)."""
        user = User(
            id=uuid.uuid4(),
            email=f"{uuid.uuid4().hex[:12]}@example.com",
            password_hash="-",
            email_verified_at=datetime.now(UTC) if verified else None,
        )
        async with self.sessions() as session, session.begin():
            session.add(user)
        return user.id


@asynccontextmanager
async def _migrated(url: str) -> AsyncIterator[Database]:
    await upgrade_async(url)
    engine = create_engine(url)
    try:
        yield Database(url, engine, session_factory(engine))
    finally:
        await engine.dispose()


def migrated_database(postgres: PostgresServer) -> AbstractAsyncContextManager[Database]:
    """A fresh database on the real PostgreSQL, migrated like production."""
    return _migrated(postgres.url(postgres.create_database()))


def sqlite_database(path: Path) -> AbstractAsyncContextManager[Database]:
    """A fresh SQLite file database (the local run's), migrated like production."""
    return _migrated(sqlite_url(path))


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def fresh_database_url(request: pytest.FixtureRequest) -> str:
    """For a fixture parametrized by backend ("sqlite" or "postgres"): the URL of an empty
    database on it, a SQLite file or a new database on the session's PostgreSQL (the API and
    UI fixtures run every test on both)."""
    if request.param == "sqlite":
        sqlite_dir: Path = request.getfixturevalue("tmp_path_factory").mktemp("sqlite")
        return sqlite_url(sqlite_dir / "todo.db")
    postgres: PostgresServer = request.getfixturevalue("postgres")
    return postgres.url(postgres.create_database())


@dataclass(frozen=True)
class Hook:
    """One webhook request as it arrived."""

    received_at: float  # time.time()
    event_id: str | None
    idempotency_key: str | None
    signature_valid: bool
    body: dict[str, Any]


class WebhookReceiver(LoopbackApp):
    """A webhook endpoint at ``url`` that checks every request's HMAC signature."""

    def __init__(self, secret: str) -> None:
        super().__init__([Route("/hook", self._receive, methods=["POST"])])
        self.secret = secret.encode()
        self.url = f"{self.root}/hook"
        self.hooks: list[Hook] = []
        self.failures_left = 0
        self.failure_status = 503
        self.attempts = 0

    def fail_next(self, count: int, status: int = 503) -> None:
        self.failures_left = count
        self.failure_status = status

    @property
    def valid(self) -> list[Hook]:
        return [hook for hook in self.hooks if hook.signature_valid]

    async def _receive(self, request: Request) -> Response:
        self.attempts += 1
        if self.failures_left > 0:
            self.failures_left -= 1
            return Response(status_code=self.failure_status)
        body = await request.body()
        self.hooks.append(
            Hook(
                received_at=time.time(),
                event_id=request.headers.get(EVENT_ID_HEADER),
                idempotency_key=request.headers.get(IDEMPOTENCY_HEADER),
                signature_valid=verify_signature(
                    self.secret, body, request.headers.get(SIGNATURE_HEADER)
                ),
                body=json.loads(body),
            )
        )
        return Response(status_code=204)


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.failures_left = 0

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.failures_left > 0:
            self.failures_left -= 1
            return "451 4.3.0 try again later"
        content = envelope.original_content or b""
        self.messages.append(message_from_bytes(content))
        return "250 OK"


class SmtpSink:
    """An SMTP server on 127.0.0.1 that keeps every message it accepts (no TLS, no auth)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.inbox = _Inbox()
        self._controller = Controller(self.inbox, hostname=LOOPBACK, port=self.port)

    @property
    def messages(self) -> list[Message]:
        return self.inbox.messages

    def fail_next(self, count: int) -> None:
        self.inbox.failures_left = count

    def __enter__(self) -> SmtpSink:
        self._controller.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._controller.stop()
