"""The delivery channels against real receivers on 127.0.0.1: a webhook endpoint and an SMTP
server (aiosmtpd), including their transient and permanent failures."""

from __future__ import annotations

import logging
import secrets
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from pydantic import SecretStr

from app.core.events.contract import CloudEvent, EventType, ReminderDueData
from app.core.mail import SmtpRelay
from app.core.settings import SettingsError, load
from devtools.process import free_port
from devtools.testkit.workers_support import SmtpSink, WebhookReceiver
from services.notifier.channels import (
    DeliveryFailed,
    EmailChannel,
    LogChannel,
    Notice,
    RetryPolicy,
    WebhookChannel,
    sign,
    verify_signature,
    with_retries,
)
from services.notifier.settings import NotifierSettings

SECRET = secrets.token_urlsafe(32)
FAST = RetryPolicy(max_attempts=3, backoff_seconds=0.01, backoff_max_seconds=0.05)


def _notice(recipient: str | None = "ann@example.com") -> Notice:
    data = ReminderDueData(
        reminder_id=uuid.uuid4(),
        task_id=uuid.uuid4(),
        owner_id=uuid.uuid4(),
        title="Renew passport",
        remind_at=datetime(2031, 3, 1, 8, 0, tzinfo=UTC),
        due_date=datetime(2031, 3, 2, 8, 0, tzinfo=UTC),
    )
    return Notice.of(CloudEvent.of(EventType.REMINDER_DUE, data, subject=data.task_id), recipient)


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    async with WebhookReceiver(SECRET) as hook:
        yield hook


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5) as http:
        yield http


def _email(smtp: SmtpSink) -> EmailChannel:
    return EmailChannel(
        SmtpRelay(host="127.0.0.1", port=smtp.port, sender="todo@example.com", security="none")
    )


def test_signature_verifies_only_the_same_body_secret_and_a_recent_time() -> None:
    body, key, now = b'{"id":"1"}', SECRET.encode(), 1_900_000_000
    header = sign(key, body, now)
    assert header.startswith(f"t={now},v1=")
    assert verify_signature(key, body, header, now=now + 10)
    assert not verify_signature(key, body + b" ", header, now=now)
    assert not verify_signature(b"another key", body, header, now=now)
    assert not verify_signature(key, body, header, now=now + 301)  # a replayed old request
    assert not verify_signature(key, body, header.replace("t=", "t=1"), now=now)
    for broken in (None, "", "v1=abc", "t=x,v1=abc", "t=1"):
        assert not verify_signature(key, body, broken, now=now)


async def test_webhook_posts_the_signed_event(
    receiver: WebhookReceiver, client: httpx.AsyncClient
) -> None:
    notice = _notice()
    await WebhookChannel(receiver.url, SecretStr(SECRET), client).send(notice)
    assert len(receiver.hooks) == 1
    hook = receiver.hooks[0]
    assert hook.signature_valid
    assert hook.event_id == str(notice.event.id)
    # The explicit idempotency key, in the header and in the signed body: the event's id.
    assert hook.idempotency_key == hook.body.pop("idempotencykey") == str(notice.event.id)
    assert CloudEvent.model_validate(hook.body) == notice.event


async def test_webhook_retries_5xx_with_backoff_then_succeeds(
    receiver: WebhookReceiver, client: httpx.AsyncClient
) -> None:
    receiver.fail_next(2, status=503)
    channel = WebhookChannel(receiver.url, SecretStr(SECRET), client)
    failures: list[str] = []

    async def note(attempt: int, failure: DeliveryFailed) -> None:
        failures.append(f"{attempt}: {failure}")

    attempts = await with_retries(lambda: channel.send(_notice()), FAST, on_failure=note)

    assert attempts == 3
    assert failures == ["1: webhook answered HTTP 503", "2: webhook answered HTTP 503"]
    assert (receiver.attempts, len(receiver.valid)) == (3, 1)


async def test_webhook_gives_up_at_once_on_a_4xx(
    receiver: WebhookReceiver, client: httpx.AsyncClient
) -> None:
    receiver.fail_next(5, status=410)
    channel = WebhookChannel(receiver.url, SecretStr(SECRET), client)
    with pytest.raises(DeliveryFailed, match="HTTP 410") as failed:
        await with_retries(lambda: channel.send(_notice()), FAST)
    assert failed.value.transient is False
    assert receiver.attempts == 1


async def test_webhook_unreachable_is_transient_and_retried_to_the_limit(
    client: httpx.AsyncClient,
) -> None:
    url = f"http://127.0.0.1:{free_port()}/hook"  # nothing listens there
    channel = WebhookChannel(url, SecretStr(SECRET), client)
    failures: list[int] = []

    async def note(attempt: int, _failure: DeliveryFailed) -> None:
        failures.append(attempt)

    with pytest.raises(DeliveryFailed, match="not reachable: ConnectError") as failed:
        await with_retries(lambda: channel.send(_notice()), FAST, on_failure=note)
    assert failed.value.transient is True
    assert failures == [1, 2, 3]
    assert url not in str(failed.value)  # hook URLs can carry tokens: never in errors


def test_backoff_grows_exponentially_up_to_the_cap() -> None:
    policy = RetryPolicy(max_attempts=10, backoff_seconds=0.5, backoff_max_seconds=4)
    for failed_attempts, ceiling in ((1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (9, 4.0)):
        delays = [policy.delay(failed_attempts) for _ in range(200)]
        assert all(0 <= delay <= ceiling for delay in delays)
        assert max(delays) > ceiling / 2  # jitter spreads over the whole range


async def test_email_reaches_the_smtp_server(smtp: SmtpSink) -> None:
    notice = _notice()
    await _email(smtp).send(notice)
    assert len(smtp.messages) == 1
    message = smtp.messages[0]
    assert message["To"] == "ann@example.com"
    assert message["From"] == "todo@example.com"
    assert message["Subject"] == "Reminder: Renew passport"
    assert message["X-Todo-Reminder-Id"] == str(notice.reminder_id)
    assert "Due: 2031-03-02 08:00 UTC" in message.get_payload()


async def test_email_retries_a_temporary_smtp_failure(smtp: SmtpSink) -> None:
    smtp.fail_next(1)
    attempts = await with_retries(lambda: _email(smtp).send(_notice()), FAST)
    assert attempts == 2
    assert len(smtp.messages) == 1


async def test_email_without_a_server_or_an_address_fails_clearly() -> None:
    channel = EmailChannel(
        SmtpRelay(
            host="127.0.0.1",
            port=free_port(),
            sender="todo@example.com",
            security="none",
            timeout=2,
        )
    )
    with pytest.raises(DeliveryFailed, match="SMTP failed") as unreachable:
        await channel.send(_notice())
    assert unreachable.value.transient is True
    with pytest.raises(DeliveryFailed, match="no e-mail address") as no_address:
        await channel.send(_notice(recipient=None))
    assert no_address.value.transient is False


async def test_log_channel_writes_ids_not_the_title(caplog: pytest.LogCaptureFixture) -> None:
    notice = _notice()
    with caplog.at_level(logging.INFO, logger="services.notifier.reminders"):
        await LogChannel().send(notice)
    [record] = caplog.records
    assert record.getMessage() == "reminder due"
    assert record.reminder_id == str(notice.reminder_id)  # type: ignore[attr-defined]
    assert "Renew passport" not in str(record.__dict__)


def test_settings_name_what_a_channel_is_missing_and_hide_secrets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NOTIFIER_CHANNELS", "webhook, email,log")
    with pytest.raises(ValueError, match="needs WEBHOOK_URL, WEBHOOK_SECRET, SMTP_HOST, SMTP_FROM"):
        NotifierSettings()
    monkeypatch.setenv("NOTIFIER_CHANNELS", "pager")
    with pytest.raises(SettingsError, match="NOTIFIER_CHANNELS"):
        load(NotifierSettings)

    monkeypatch.setenv("NOTIFIER_CHANNELS", "webhook")
    monkeypatch.setenv("WEBHOOK_URL", "https://hooks.example.com/reminders")
    monkeypatch.setenv("WEBHOOK_SECRET", SECRET)
    settings = NotifierSettings()
    assert settings.notifier_channels == ("webhook",)
    assert SECRET not in repr(settings)
    assert SECRET not in str(settings.model_dump())
