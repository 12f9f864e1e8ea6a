"""Web Push channel: each of the owner's browser subscriptions gets the reminder, encrypted to
that browser's keys (RFC 8291, ``aes128gcm``) and signed by the server's VAPID key (RFC 8292),
POSTed to the subscription's push service (RFC 8030).

pywebpush encrypts (``WebPusher.encode``) and py-vapid signs; the request itself goes out on the
notifier's httpx client (no redirects, a timeout) after the endpoint's host is checked to
resolve to public addresses only (:mod:`app.notifications.targets`). A 404 or 410 from the push
service means the subscription is gone (RFC 8030 section 7.3): it is reported back in the
:class:`Receipt` and the delivery deletes it. Delivery is at-least-once: a retry after a
partial failure sends to every subscription again, and the service worker shows one
notification per reminder because it tags them with the reminder's id.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Final
from urllib.parse import urlsplit

import httpx
from py_vapid import Vapid
from pywebpush import WebPusher

from app.notifications.routes import PushTarget
from app.notifications.targets import TargetRefused, check_resolved
from services.notifier.channels.base import (
    DeliveryFailed,
    Notice,
    Receipt,
    answered,
    unreachable,
)

# How long a push service keeps a message for a browser that is offline (RFC 8030 5.2): a
# reminder a day late is still worth showing.
TTL_SECONDS: Final = 24 * 3600
# VAPID tokens are valid for at most 24 hours (RFC 8292 section 2); ours for 12.
TOKEN_LIFETIME_SECONDS: Final = 12 * 3600
_GONE: Final = frozenset({404, 410})


def payload(notice: Notice) -> bytes:
    """What the service worker receives: enough to show the notification, nothing more."""
    return json.dumps(
        {
            "reminder_id": str(notice.reminder_id),
            "task_id": str(notice.task_id),
            "title": notice.title,
            "due_date": notice.due_date.isoformat() if notice.due_date else None,
            "remind_at": notice.remind_at.isoformat(),
        }
    ).encode()


class PushChannel:
    name = "push"

    def __init__(
        self,
        private_key: str,
        subject: str,
        client: httpx.AsyncClient,
        *,
        allow_loopback: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._vapid = Vapid.from_string(private_key)
        self._subject = subject
        self._client = client
        self._allow_loopback = allow_loopback
        self._clock = clock

    def applies(self, notice: Notice) -> bool:
        return bool(notice.routes.push)

    def _headers(self, endpoint: str) -> dict[str, str]:
        parts = urlsplit(endpoint)
        claims = {
            "aud": f"{parts.scheme}://{parts.netloc}",
            "exp": int(self._clock()) + TOKEN_LIFETIME_SECONDS,
            "sub": self._subject,
        }
        headers: dict[str, str] = self._vapid.sign(claims)
        return headers | {
            "TTL": str(TTL_SECONDS),
            "Content-Encoding": "aes128gcm",
            "Content-Type": "application/octet-stream",
            # RFC 8030 5.3: a reminder is time-sensitive; devices may wake for it.
            "Urgency": "high",
        }

    async def _send_one(self, target: PushTarget, body: bytes) -> bool:
        """Send to one subscription; False when the push service says it is gone."""
        try:
            await check_resolved(target.endpoint, allow_loopback=self._allow_loopback)
        except TargetRefused as refused:
            raise DeliveryFailed(f"push endpoint refused: {refused}", transient=False) from None
        subscription = {
            "endpoint": target.endpoint,
            "keys": {"p256dh": target.p256dh, "auth": target.auth},
        }
        encrypted = WebPusher(subscription).encode(body, content_encoding="aes128gcm")["body"]
        try:
            response = await self._client.post(
                target.endpoint, content=encrypted, headers=self._headers(target.endpoint)
            )
        except httpx.TransportError as exc:
            raise unreachable("push service", exc) from None
        status = response.status_code
        if 200 <= status < 300:
            return True
        if status in _GONE:
            return False
        raise answered("push service", status)

    async def send(self, notice: Notice) -> Receipt:
        body = payload(notice)
        gone: list[uuid.UUID] = []
        for target in notice.routes.push:
            if not await self._send_one(target, body):
                gone.append(target.subscription_id)
        return Receipt(gone_subscriptions=tuple(gone))
