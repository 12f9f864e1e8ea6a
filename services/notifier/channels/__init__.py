"""Delivery channels of due reminders: webhook, e-mail, log, Web Push, each user's webhook.

The push channel is imported from its own module (``services.notifier.channels.push``), not
from here: it loads pywebpush, requests and cryptography, which a notifier without the push
channel should not pay for at start (tests/services/test_worker_startup.py)."""

from services.notifier.channels.base import Channel, DeliveryFailed, Notice, Receipt
from services.notifier.channels.email import EmailChannel
from services.notifier.channels.log import LogChannel
from services.notifier.channels.retry import RetryPolicy, with_retries
from services.notifier.channels.webhook import (
    UserWebhookChannel,
    WebhookChannel,
    sign,
    verify_signature,
)

__all__ = [
    "Channel",
    "DeliveryFailed",
    "EmailChannel",
    "LogChannel",
    "Notice",
    "Receipt",
    "RetryPolicy",
    "UserWebhookChannel",
    "WebhookChannel",
    "sign",
    "verify_signature",
    "with_retries",
]
