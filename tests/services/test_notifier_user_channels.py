"""Delivery through each user's own channels, on SQLite (the local run) and PostgreSQL: their
browsers by Web Push, their webhook signed with their secret, e-mail as they chose; a
subscription the push service reports gone is deleted; nobody gets another user's reminder."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from app.core import vapid
from app.core.db.event_models import NotificationDelivery
from app.core.db.models import User
from app.core.events.contract import CloudEvent
from app.core.mail import SmtpRelay
from app.notifications import preferences, subscriptions
from devtools.postgres import PostgresServer
from devtools.testkit.push_service import BrowserSubscription, PushService
from devtools.testkit.workers_support import (
    Database,
    SmtpSink,
    WebhookReceiver,
    handling,
    migrated_database,
    reminder_due,
    sqlite_database,
)
from services.common.metrics import WorkerMetrics
from services.notifier.channels import (
    Channel,
    EmailChannel,
    RetryPolicy,
    UserWebhookChannel,
)
from services.notifier.channels.push import PushChannel
from services.notifier.delivery import Delivery

PRIVATE, PUBLIC = vapid.generate()
FAST = RetryPolicy(max_attempts=2, backoff_seconds=0.01, backoff_max_seconds=0.02)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
async def db(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Database]:
    if request.param == "sqlite":
        path: Path = tmp_path_factory.mktemp("channels") / "todo.db"
        async with sqlite_database(path) as database:
            yield database
    else:
        server: PostgresServer = request.getfixturevalue("postgres")
        async with migrated_database(server) as database:
            yield database


@pytest.fixture
async def delivery(db: Database, smtp: SmtpSink) -> AsyncIterator[Delivery]:
    async with httpx.AsyncClient(timeout=5, follow_redirects=False) as client:
        channels: list[Channel] = [
            PushChannel(PRIVATE, "mailto:ops@example.com", client, allow_loopback=True),
            UserWebhookChannel(client, allow_loopback=True),
            EmailChannel(
                SmtpRelay(
                    host="127.0.0.1", port=smtp.port, sender="todo@example.com", security="none"
                )
            ),
        ]
        yield Delivery(db.sessions, channels, FAST, WorkerMetrics())


async def _subscribe(db: Database, owner: uuid.UUID, browser: BrowserSubscription) -> uuid.UUID:
    new = subscriptions.validated(
        browser.endpoint, browser.p256dh, browser.auth, allow_loopback=True
    )
    async with db.sessions() as session, session.begin():
        return (await subscriptions.subscribe(session, owner, new)).id


async def _choose(
    db: Database,
    owner: uuid.UUID,
    *,
    push: bool = True,
    email: bool = True,
    webhook_url: str | None = None,
) -> preferences.Preferences:
    async with db.sessions() as session, session.begin():
        return await preferences.update(
            session, owner, push=push, email=email, webhook_url=webhook_url, allow_loopback=True
        )


async def _handle(delivery: Delivery, db: Database, event: CloudEvent) -> None:
    async with db.sessions() as session, session.begin():
        with handling(event):
            await delivery.handle(event, session)


async def _channels_recorded(db: Database, event: CloudEvent) -> dict[str, str]:
    reminder_id = uuid.UUID(event.data["reminder_id"])
    async with db.sessions() as session:
        rows = await session.scalars(
            select(NotificationDelivery).where(NotificationDelivery.reminder_id == reminder_id)
        )
        return {row.channel: row.status for row in rows}


async def test_a_reminder_reaches_the_owners_browsers_and_webhook_and_a_gone_browser_is_removed(
    db: Database, delivery: Delivery, push: PushService, smtp: SmtpSink
) -> None:
    owner, other = await db.new_user(), await db.new_user()
    phone, old_laptop, others_browser = (push.subscribe(PUBLIC) for _ in range(3))
    await _subscribe(db, owner, phone)
    await _subscribe(db, owner, old_laptop)
    await _subscribe(db, other, others_browser)
    old_laptop.expired = True
    async with WebhookReceiver("unused") as hook:
        chosen = await _choose(db, owner, email=False, webhook_url=hook.url)
        assert chosen.webhook_secret is not None
        hook.secret = chosen.webhook_secret.encode()  # the owner's own secret signs it
        event = reminder_due("Water the plants", owner_id=owner)

        await _handle(delivery, db, event)
        await _handle(delivery, db, event)  # redelivered: nothing is sent twice

        assert [(h.signature_valid, h.event_id) for h in hook.hooks] == [(True, str(event.id))]
    [message] = push.received(phone)
    assert message.json()["title"] == "Water the plants"
    assert push.gone_answers == 1
    assert push.received(others_browser) == []
    assert smtp.messages == []  # e-mail off for this owner
    async with db.sessions() as session:
        remaining = {row.endpoint for row in await subscriptions.listed(session, owner)}
        others = {row.endpoint for row in await subscriptions.listed(session, other)}
    assert remaining == {phone.endpoint}
    assert others == {others_browser.endpoint}
    assert await _channels_recorded(db, event) == {"push": "delivered", "user_webhook": "delivered"}


async def test_channels_the_owner_turned_off_or_never_set_up_are_skipped(
    db: Database, delivery: Delivery, push: PushService, smtp: SmtpSink
) -> None:
    owner = await db.new_user()
    browser = push.subscribe(PUBLIC)
    await _subscribe(db, owner, browser)
    await _choose(db, owner, push=False, email=True)
    event = reminder_due("Water the plants", owner_id=owner)

    await _handle(delivery, db, event)

    assert push.messages == []
    async with db.sessions() as session:
        address = await session.scalar(select(User.email).where(User.id == owner))
    assert [m["To"] for m in smtp.messages] == [address]
    assert await _channels_recorded(db, event) == {"email": "delivered"}
