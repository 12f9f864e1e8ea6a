"""The notifier's environment: schedule tuning and the delivery channels.

Channel secrets (the webhook's HMAC key, the SMTP password) are ``SecretStr``: they never show
in a repr, a log line or a validation error.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, HttpUrl, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode

from app.core.settings import SmtpSettings
from services.common.settings import WorkerSettings

ChannelName = Literal["webhook", "email", "log", "push", "user_webhook"]
CHANNEL_NAMES: tuple[ChannelName, ...] = ("webhook", "email", "log", "push", "user_webhook")
# The settings each channel cannot work without.
_REQUIRED: dict[str, tuple[str, ...]] = {
    "webhook": ("webhook_url", "webhook_secret"),
    "email": ("smtp_host", "smtp_from"),
    "push": ("vapid_private_key", "vapid_subject"),
}


class NotifierSettings(WorkerSettings, SmtpSettings):
    # Channels every reminder is delivered through, comma-separated: NOTIFIER_CHANNELS=webhook,log
    notifier_channels: Annotated[tuple[ChannelName, ...], NoDecode] = ("log",)

    # The in-memory schedule: how many upcoming reminders it holds, and the backstop poll that
    # catches a missed NOTIFY (NOTIFY is what makes a change take effect at once).
    schedule_size: int = Field(1000, ge=1, le=100_000)
    schedule_poll_seconds: float = Field(30, gt=0, le=3600)
    claim_batch_size: int = Field(200, ge=1, le=10_000)

    webhook_url: HttpUrl | None = None
    webhook_secret: SecretStr | None = Field(
        None, min_length=32, description="HMAC-SHA256 key signing every webhook request"
    )
    webhook_timeout_seconds: float = Field(5, gt=0, le=120)

    # At most this many reminder e-mails per user in any hour; the rest are withheld (recorded
    # in withheld_reminder_emails and counted by todo_reminder_emails_withheld_total).
    reminder_emails_per_hour: int = Field(20, ge=1, le=10_000)

    # Web Push (channel "push"): the VAPID private key (raw P-256 key, base64url; the API serves
    # its public half as VAPID_PUBLIC_KEY) and the contact push services may write to.
    vapid_private_key: SecretStr | None = None
    vapid_subject: str | None = Field(None, pattern=r"^(mailto:[^@\s]+@[^@\s]+|https://\S+)$")
    # Users' push endpoints and webhooks may be loopback addresses: tests and local runs only
    # (app/notifications/targets.py holds the rule).
    allow_loopback_targets: bool = False

    # Per channel: attempts with exponential backoff (with jitter) before the event is
    # dead-lettered; transient failures only (network, 5xx/429, SMTP 4xx).
    delivery_max_attempts: int = Field(4, ge=1, le=20)
    delivery_backoff_seconds: float = Field(0.5, ge=0, le=60)
    delivery_backoff_max_seconds: float = Field(30, ge=0, le=600)

    @field_validator("notifier_channels", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            names = [part.strip().lower() for part in value.split(",") if part.strip()]
            if not names:
                raise ValueError(f"name at least one of {', '.join(CHANNEL_NAMES)}")
            return tuple(dict.fromkeys(names))
        return value

    @model_validator(mode="after")
    def _channels_are_configured(self) -> NotifierSettings:
        missing = [
            variable.upper()
            for channel in self.notifier_channels
            for variable in _REQUIRED.get(channel, ())
            if not getattr(self, variable)
        ]
        if missing:
            raise ValueError(
                f"NOTIFIER_CHANNELS={','.join(self.notifier_channels)} needs {', '.join(missing)}"
            )
        if self.vapid_private_key is not None:
            # Imported here: cryptography is loaded only by a notifier that has a VAPID key.
            from app.core.vapid import public_key_from_private

            try:
                public_key_from_private(self.vapid_private_key.get_secret_value())
            except ValueError as error:
                raise ValueError(f"VAPID_PRIVATE_KEY: {error}") from None
        return self
