"""The notifier's delivery channels as the stack configures them: which channels run, the
webhook, SMTP and VAPID settings as plain environment, and their secrets (the webhook's HMAC
key, the SMTP password, the VAPID private key) in a Secret of their own, apart from the app
Secret. The notifier reads it; the API reads only its SMTP entries (to e-mail address
verification links through the same relay) and is given the VAPID public key.

The rules mirror ``services/notifier/settings.py`` (the process refuses to start without them),
so a bad combination fails ``pulumi preview`` instead of crash-looping the notifier.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import pulumi
import pulumi_kubernetes as k8s

from app.core.vapid import public_key_from_private

CHANNELS: Final = ("webhook", "email", "log", "push", "user_webhook")
SECRET_NAME: Final = "todo-notifier-channels"  # noqa: S105 (a name, not a secret)
WEBHOOK_SECRET_KEY: Final = "webhook-secret"  # noqa: S105 (a key name)
SMTP_PASSWORD_KEY: Final = "smtp-password"  # noqa: S105 (a key name)
VAPID_PRIVATE_KEY_KEY: Final = "vapid-private-key"
WEBHOOK_SECRET_MIN: Final = 32  # NotifierSettings.webhook_secret min_length

core = k8s.core.v1


@dataclass(frozen=True)
class NotifierChannels:
    channels: tuple[str, ...] = ("log",)
    webhook_url: str | None = None
    webhook_secret: pulumi.Input[str] | None = None  # secret
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_from: str | None = None
    smtp_username: str | None = None
    smtp_password: pulumi.Input[str] | None = None  # secret
    vapid_private_key: pulumi.Input[str] | None = None  # secret
    vapid_subject: str | None = None

    def __post_init__(self) -> None:
        unknown = [name for name in self.channels if name not in CHANNELS]
        if not self.channels or unknown:
            raise ValueError(f"channels must be some of {', '.join(CHANNELS)}, got {self.channels}")
        if "webhook" in self.channels and (self.webhook_url is None or self.webhook_secret is None):
            raise ValueError("the webhook channel needs webhook_url and webhook_secret")
        if "email" in self.channels and (self.smtp_host is None or self.smtp_from is None):
            raise ValueError("the email channel needs smtp_host and smtp_from")
        if "push" in self.channels and (self.vapid_private_key is None or not self.vapid_subject):
            raise ValueError("the push channel needs vapid_private_key and vapid_subject")
        if (self.smtp_username is None) != (self.smtp_password is None):
            raise ValueError("smtp_username and smtp_password go together (or neither)")

    def secret_data(self) -> dict[str, pulumi.Input[str]]:
        """The Secret's entries; empty when no channel needs one."""
        data: dict[str, pulumi.Input[str]] = {}
        if self.webhook_secret is not None:
            data[WEBHOOK_SECRET_KEY] = pulumi.Output.secret(self.webhook_secret)
        if self.smtp_password is not None:
            data[SMTP_PASSWORD_KEY] = pulumi.Output.secret(self.smtp_password)
        if "push" in self.channels and self.vapid_private_key is not None:
            data[VAPID_PRIVATE_KEY_KEY] = pulumi.Output.secret(self.vapid_private_key)
        return data

    def api_environment(self) -> list[core.EnvVarArgs]:
        """The API's share of Web Push: the public half of the VAPID key, served to browsers.
        Derived from the private key, and not secret (browsers are given it)."""
        if "push" not in self.channels or self.vapid_private_key is None:
            return []
        public = pulumi.Output.unsecret(
            pulumi.Output.from_input(self.vapid_private_key).apply(public_key_from_private)
        )
        return [core.EnvVarArgs(name="VAPID_PUBLIC_KEY", value=public)]

    def environment(self) -> list[core.EnvVarArgs]:
        """The notifier container's channel settings (``NOTIFIER_CHANNELS``, ``WEBHOOK_*``,
        ``SMTP_*``, ``VAPID_*``); secrets only through ``secretKeyRef``."""
        env = [core.EnvVarArgs(name="NOTIFIER_CHANNELS", value=",".join(self.channels))]
        if self.webhook_url is not None:
            env.append(core.EnvVarArgs(name="WEBHOOK_URL", value=self.webhook_url))
        if WEBHOOK_SECRET_KEY in self.secret_data():
            env.append(_secret_env("WEBHOOK_SECRET", WEBHOOK_SECRET_KEY))
        if "push" in self.channels and self.vapid_subject is not None:
            env.append(core.EnvVarArgs(name="VAPID_SUBJECT", value=self.vapid_subject))
        if VAPID_PRIVATE_KEY_KEY in self.secret_data():
            env.append(_secret_env("VAPID_PRIVATE_KEY", VAPID_PRIVATE_KEY_KEY))
        return env + self.smtp_environment()

    def smtp_environment(self) -> list[core.EnvVarArgs]:
        """The relay's settings (``SMTP_*``), for the notifier and the API; none without one."""
        plain = {
            "SMTP_HOST": self.smtp_host,
            "SMTP_PORT": str(self.smtp_port) if self.smtp_host else None,
            "SMTP_FROM": self.smtp_from,
            "SMTP_USERNAME": self.smtp_username,
        }
        env = [core.EnvVarArgs(name=k, value=v) for k, v in plain.items() if v is not None]
        if SMTP_PASSWORD_KEY in self.secret_data():
            env.append(_secret_env("SMTP_PASSWORD", SMTP_PASSWORD_KEY))
        return env


def _secret_env(name: str, key: str) -> core.EnvVarArgs:
    return core.EnvVarArgs(
        name=name,
        value_from=core.EnvVarSourceArgs(
            secret_key_ref=core.SecretKeySelectorArgs(name=SECRET_NAME, key=key)
        ),
    )
