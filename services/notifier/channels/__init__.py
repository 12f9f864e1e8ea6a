"""Delivery channels of due reminders: webhook, e-mail, log, Web Push, each user's webhook."""

from services.notifier.channels.base import Channel, DeliveryFailed, Notice, Receipt
from services.notifier.channels.email import EmailChannel
from services.notifier.channels.log import LogChannel
from services.notifier.channels.push import PushChannel
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
    "PushChannel",
    "Receipt",
    "RetryPolicy",
    "UserWebhookChannel",
    "WebhookChannel",
    "sign",
    "verify_signature",
    "with_retries",
]
