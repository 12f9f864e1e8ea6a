"""Delivery channels of due reminders: webhook, e-mail, log."""

from services.notifier.channels.base import Channel, DeliveryFailed, Notice
from services.notifier.channels.email import EmailChannel
from services.notifier.channels.log import LogChannel
from services.notifier.channels.retry import RetryPolicy, with_retries
from services.notifier.channels.webhook import WebhookChannel, sign, verify_signature

__all__ = [
    "Channel",
    "DeliveryFailed",
    "EmailChannel",
    "LogChannel",
    "Notice",
    "RetryPolicy",
    "WebhookChannel",
    "sign",
    "verify_signature",
    "with_retries",
]
