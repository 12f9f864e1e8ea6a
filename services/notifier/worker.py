"""The notifier process: the reminder scheduler, its LISTEN wake-up, the delivery consumer and
``POST /reminder-check`` for the Dapr cron binding."""

from __future__ import annotations

import logging

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from app.core.db.notify import REMINDERS_CHANNEL
from app.core.events.contract import EventType
from app.core.processes import NOTIFIER
from services.common.http import ReadyCheck
from services.common.listen import Listener
from services.common.spec import ConsumerSpec
from services.common.worker import Loop, Worker, WorkerContext, WorkerParts
from services.notifier.channels import (
    Channel,
    EmailChannel,
    LogChannel,
    RetryPolicy,
    UserWebhookChannel,
    WebhookChannel,
)
from services.notifier.delivery import Delivery
from services.notifier.scheduler import ReminderScheduler, sweep, utc_now
from services.notifier.settings import NotifierSettings

DELIVERY_GROUP = NOTIFIER.consumer_group
# Without LISTEN (SQLite in the local run) the poll is the only wake-up: keep it short.
POLL_WITHOUT_LISTEN_SECONDS = 1.0


def quiet_http_client_logs() -> None:
    """httpx logs every request's URL at INFO; webhook URLs can carry tokens, so only its
    warnings (which carry no URL) are let through."""
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)


def build_channels(settings: NotifierSettings, client: httpx.AsyncClient) -> list[Channel]:
    """The configured channels, in the order of NOTIFIER_CHANNELS (settings validated them)."""
    channels: list[Channel] = []
    for name in settings.notifier_channels:
        if name == "webhook":
            assert settings.webhook_url is not None
            assert settings.webhook_secret is not None
            url = str(settings.webhook_url)
            channels.append(WebhookChannel(url, settings.webhook_secret, client))
        elif name == "email":
            relay = settings.smtp_relay()
            assert relay is not None
            channels.append(EmailChannel(relay))
        elif name == "push":
            # Imported only when configured: it loads pywebpush, requests and cryptography.
            from services.notifier.channels.push import PushChannel

            assert settings.vapid_private_key is not None
            assert settings.vapid_subject is not None
            channels.append(
                PushChannel(
                    settings.vapid_private_key.get_secret_value(),
                    settings.vapid_subject,
                    client,
                    allow_loopback=settings.allow_loopback_targets,
                )
            )
        elif name == "user_webhook":
            channels.append(
                UserWebhookChannel(client, allow_loopback=settings.allow_loopback_targets)
            )
        else:
            channels.append(LogChannel())
    return channels


async def build(context: WorkerContext[NotifierSettings]) -> WorkerParts:
    settings = context.settings
    listens = settings.database_url.startswith("postgresql")
    scheduler = ReminderScheduler(
        context.sessions,
        size=settings.schedule_size,
        poll_seconds=(
            settings.schedule_poll_seconds
            if listens
            else min(settings.schedule_poll_seconds, POLL_WITHOUT_LISTEN_SECONDS)
        ),
        batch_size=settings.claim_batch_size,
        tracer=context.tracer,
    )
    loops: list[Loop] = [scheduler.run]
    ready_checks: list[ReadyCheck] = []
    if listens:
        listener = Listener(settings.database_url, REMINDERS_CHANNEL, scheduler.changed)
        loops.append(listener.run)
        ready_checks.append(
            lambda: None if listener.connected.is_set() else "LISTEN reminders: not connected"
        )

    quiet_http_client_logs()
    client = httpx.AsyncClient(timeout=settings.webhook_timeout_seconds, follow_redirects=False)
    delivery = Delivery(
        context.sessions,
        build_channels(settings, client),
        RetryPolicy(
            max_attempts=settings.delivery_max_attempts,
            backoff_seconds=settings.delivery_backoff_seconds,
            backoff_max_seconds=settings.delivery_backoff_max_seconds,
        ),
        context.metrics,
        emails_per_hour=settings.reminder_emails_per_hour,
    )
    consumer = ConsumerSpec(
        group=DELIVERY_GROUP,
        topics=tuple(topic.name for topic in NOTIFIER.consumes),
        handler=delivery.handle,
        event_types=frozenset({EventType.REMINDER_DUE}),
        max_attempts=settings.handler_max_attempts,
    )

    async def reminder_check(_request: Request) -> JSONResponse:
        # The Dapr cron binding: a backstop sweep, fired on every replica at once (safe: claims
        # skip what another replica holds). OPTIONS, its start-up probe, gets Starlette's 405.
        result = await sweep(
            context.sessions, utc_now(), settings.claim_batch_size, tracer=context.tracer
        )
        return JSONResponse({"sent": result.sent, "suppressed": result.suppressed})

    return WorkerParts(
        consumers=(consumer,),
        loops=tuple(loops),
        routes=(Route("/reminder-check", reminder_check, methods=["POST"]),),
        on_stop=(client.aclose,),
        ready_checks=tuple(ready_checks),
    )


WORKER = Worker(NOTIFIER, settings_type=NotifierSettings, build=build)
