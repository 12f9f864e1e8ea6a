"""The Web Push channel against the local push service (devtools/testkit/push_service.py): the
payload decrypts with the browser's keys (RFC 8291), the VAPID signature verifies (RFC 8292),
a gone subscription (410) is reported back, and refusals are permanent failures."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime

import httpx
import pytest

from app.core import vapid
from app.core.settings import SettingsError, load
from app.notifications.routes import PushTarget, Routes
from devtools.testkit.push_service import BrowserSubscription, PushService
from devtools.testkit.workers_support import reminder_due
from services.notifier.channels import DeliveryFailed, Notice, Receipt
from services.notifier.channels.push import TTL_SECONDS, PushChannel
from services.notifier.settings import NotifierSettings

PRIVATE, PUBLIC = vapid.generate()
SUBJECT = "mailto:ops@example.com"


@pytest.fixture
async def channel() -> AsyncIterator[PushChannel]:
    async with httpx.AsyncClient(timeout=5, follow_redirects=False) as client:
        yield PushChannel(PRIVATE, SUBJECT, client, allow_loopback=True)


def _target(subscription: BrowserSubscription) -> PushTarget:
    return PushTarget(uuid.uuid4(), subscription.endpoint, subscription.p256dh, subscription.auth)


def _notice(*targets: PushTarget) -> Notice:
    event = reminder_due(
        "Pay rent ☂",
        remind_at=datetime(2031, 3, 1, 8, 0, tzinfo=UTC),
        due_date=datetime(2031, 3, 1, 9, 0, tzinfo=UTC),
    )
    return replace(Notice.of(event), routes=Routes(push=targets))


def test_the_public_key_is_derived_from_the_private_one() -> None:
    assert vapid.public_key_from_private(PRIVATE) == PUBLIC
    assert len(vapid.generate()[1]) == 87  # 65 bytes, base64url without padding
    with pytest.raises(ValueError, match="32 bytes"):
        vapid.public_key_from_private("c2hvcnQ")


async def test_each_subscription_gets_the_reminder_encrypted_to_its_keys_and_signed(
    push: PushService, channel: PushChannel
) -> None:
    phone, laptop = push.subscribe(PUBLIC), push.subscribe(PUBLIC)
    notice = _notice(_target(phone), _target(laptop))

    receipt = await channel.send(notice)

    assert receipt == Receipt(gone_subscriptions=())
    assert push.refusals == []
    for browser in (phone, laptop):
        [message] = push.received(browser)
        assert message.json() == {
            "reminder_id": str(notice.reminder_id),
            "task_id": str(notice.task_id),
            "title": "Pay rent ☂",
            "due_date": "2031-03-01T09:00:00+00:00",
            "remind_at": "2031-03-01T08:00:00+00:00",
        }
        assert message.ttl == TTL_SECONDS
        assert message.urgency == "high"
        # The stand-in verified the ES256 signature by PUBLIC; these are the signed claims.
        assert message.claims["aud"] == push.url
        assert message.claims["sub"] == SUBJECT
        assert time.time() < message.claims["exp"] <= time.time() + 12 * 3600 + 5


async def test_a_gone_subscription_is_reported_and_the_others_still_get_it(
    push: PushService, channel: PushChannel
) -> None:
    live, gone = push.subscribe(PUBLIC), push.subscribe(PUBLIC)
    gone.expired = True
    gone_target = _target(gone)

    receipt = await channel.send(_notice(_target(live), gone_target))

    assert receipt == Receipt(gone_subscriptions=(gone_target.subscription_id,))
    assert len(push.received(live)) == 1
    assert push.gone_answers == 1


async def test_a_message_signed_with_another_key_is_refused_permanently(
    push: PushService, channel: PushChannel
) -> None:
    # The browser subscribed with another server's applicationServerKey (RFC 8292 4.2).
    other = push.subscribe(vapid.generate()[1])

    with pytest.raises(DeliveryFailed) as failed:
        await channel.send(_notice(_target(other)))

    assert str(failed.value) == "push service answered HTTP 403"
    assert failed.value.transient is False
    assert push.messages == []
    assert push.refusals == [(403, "signed by another key than the subscription's (RFC 8292 4.2)")]


async def test_keys_that_do_not_match_the_subscription_fail_to_decrypt(
    push: PushService, channel: PushChannel
) -> None:
    browser, stranger = push.subscribe(PUBLIC), push.subscribe(PUBLIC)
    # Encrypted to another browser's keys: the push service cannot read it as this one's.
    wrong = PushTarget(uuid.uuid4(), browser.endpoint, stranger.p256dh, stranger.auth)

    with pytest.raises(DeliveryFailed, match="HTTP 400"):
        await channel.send(_notice(wrong))

    assert push.refusals == [(400, "the payload does not decrypt with the subscription's keys")]


async def test_an_unreachable_push_service_is_transient(channel: PushChannel) -> None:
    async with PushService() as stopped:
        target = _target(stopped.subscribe(PUBLIC))
    with pytest.raises(DeliveryFailed) as failed:
        await channel.send(_notice(target))
    assert failed.value.transient is True
    assert str(failed.value) == "push service not reachable: ConnectError"


async def test_without_the_loopback_setting_a_loopback_endpoint_is_never_contacted(
    push: PushService,
) -> None:
    async with httpx.AsyncClient(timeout=5) as client:
        strict = PushChannel(PRIVATE, SUBJECT, client)
        target = _target(push.subscribe(PUBLIC))
        # A row that predates a rule change, or was written around the API: checked again.
        localhost = replace(target, endpoint=target.endpoint.replace("127.0.0.1", "localhost"))
        with pytest.raises(DeliveryFailed) as failed:
            await strict.send(_notice(localhost))
    assert failed.value.transient is False
    assert "resolves to an address that is not public" in str(failed.value)
    assert push.messages == []


def test_push_settings_need_a_valid_key_and_a_contact_and_hide_the_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NOTIFIER_CHANNELS", "log,push")
    with pytest.raises(ValueError, match="needs VAPID_PRIVATE_KEY, VAPID_SUBJECT"):
        NotifierSettings()
    monkeypatch.setenv("VAPID_SUBJECT", "mailto:ops@example.com")
    monkeypatch.setenv("VAPID_PRIVATE_KEY", "bm90IGEga2V5")
    with pytest.raises(SettingsError, match="VAPID_PRIVATE_KEY: a VAPID private key is 32 bytes"):
        load(NotifierSettings)
    monkeypatch.setenv("VAPID_PRIVATE_KEY", PRIVATE)
    monkeypatch.setenv("VAPID_SUBJECT", "ops@example.com")
    with pytest.raises(SettingsError, match="VAPID_SUBJECT"):
        load(NotifierSettings)
    monkeypatch.setenv("VAPID_SUBJECT", "mailto:ops@example.com")
    settings = load(NotifierSettings)
    assert settings.notifier_channels == ("log", "push")
    assert PRIVATE not in repr(settings)
