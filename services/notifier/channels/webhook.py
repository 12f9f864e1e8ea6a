"""Webhook channel: the reminder.due CloudEvent POSTed as JSON, signed with HMAC-SHA256.

The signature header is ``X-Todo-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of
"<t>." + body>``. Signing the timestamp with the body lets a receiver refuse replays of an old
request (:func:`verify_signature` allows five minutes by default).

Delivery is at-least-once: a crash between the receiver's 2xx and our record of it, or a
consumer-group rebalance, sends the same reminder again. Every request therefore carries an
explicit idempotency key, the same on every retry and redelivery of one reminder firing: the
``Idempotency-Key`` header and the body's ``idempotencykey`` attribute (a CloudEvents extension
attribute; both equal the event's ``id``, which CloudEvents 1.0 lets consumers treat as the
duplicate key together with ``source``). ``X-Todo-Event-Id`` carries it too, for receivers
written against earlier versions.

The URL is never logged or put in an error: hooks of chat services carry their token in it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Final

import httpx
from pydantic import SecretStr

from app.core.events.contract import CLOUDEVENTS_JSON
from app.notifications.targets import TargetRefused, check_resolved
from services.notifier.channels.base import DeliveryFailed, Notice, answered, unreachable

SIGNATURE_HEADER: Final = "X-Todo-Signature"
EVENT_ID_HEADER: Final = "X-Todo-Event-Id"
IDEMPOTENCY_HEADER: Final = "Idempotency-Key"
IDEMPOTENCY_ATTRIBUTE: Final = "idempotencykey"
DEFAULT_TOLERANCE_S: Final = 300


def _digest(secret: bytes, timestamp: int, body: bytes) -> str:
    return hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def sign(secret: bytes, body: bytes, timestamp: int) -> str:
    """The signature header's value for ``body`` sent at ``timestamp``."""
    return f"t={timestamp},v1={_digest(secret, timestamp, body)}"


def verify_signature(
    secret: bytes,
    body: bytes,
    header: str | None,
    *,
    now: float | None = None,
    tolerance: float = DEFAULT_TOLERANCE_S,
) -> bool:
    """Whether ``header`` is a valid signature of ``body`` made within ``tolerance`` seconds
    (what a receiver runs; constant-time comparison)."""
    if not header:
        return False
    fields: dict[str, str] = {}
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        fields[name] = value
    try:
        timestamp = int(fields["t"])
        given = fields["v1"]
    except (KeyError, ValueError):
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        return False
    return hmac.compare_digest(given, _digest(secret, timestamp, body))


class WebhookChannel:
    name = "webhook"

    def __init__(
        self,
        url: str,
        secret: SecretStr,
        client: httpx.AsyncClient,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._url = url
        self._secret = secret
        self._client = client
        self._clock = clock

    def applies(self, notice: Notice) -> bool:
        return True

    async def send(self, notice: Notice) -> None:
        key = str(notice.event.id)
        payload = {**notice.event.model_dump(mode="json"), IDEMPOTENCY_ATTRIBUTE: key}
        body = json.dumps(payload, separators=(",", ":")).encode()
        # Signed per attempt: a retry carries a fresh timestamp.
        signature = sign(self._secret.get_secret_value().encode(), body, int(self._clock()))
        headers = {
            "Content-Type": CLOUDEVENTS_JSON,
            SIGNATURE_HEADER: signature,
            IDEMPOTENCY_HEADER: key,
            EVENT_ID_HEADER: key,
        }
        try:
            response = await self._client.post(self._url, content=body, headers=headers)
        except httpx.TransportError as exc:
            raise unreachable("webhook", exc) from None
        if not 200 <= response.status_code < 300:
            raise answered("webhook", response.status_code)


class UserWebhookChannel:
    """Each user's own webhook (their preferences): their reminders only, sent as the operator's
    webhook sends them but signed with the user's secret, to a URL checked before each send to
    resolve to public addresses only."""

    name = "user_webhook"

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        allow_loopback: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = client
        self._allow_loopback = allow_loopback
        self._clock = clock

    def applies(self, notice: Notice) -> bool:
        return notice.routes.webhook_url is not None and notice.routes.webhook_secret is not None

    async def send(self, notice: Notice) -> None:
        url, secret = notice.routes.webhook_url, notice.routes.webhook_secret
        # applies() said both are set
        assert url is not None
        assert secret is not None
        try:
            await check_resolved(url, allow_loopback=self._allow_loopback)
        except TargetRefused as refused:
            raise DeliveryFailed(f"webhook URL refused: {refused}", transient=False) from None
        owners = WebhookChannel(url, SecretStr(secret), self._client, clock=self._clock)
        await owners.send(notice)
