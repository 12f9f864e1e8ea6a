"""Runtime settings from environment variables, one class per process kind.

Each class is validated when the process starts; an invalid or missing variable stops it with
a message naming the variable (see :func:`load`). Defaults serve local development only, and no
secret has a default at all: the local run command generates one.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Literal, Self, TypeVar

from pydantic import (
    Field,
    HttpUrl,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.core.mail import SmtpRelay, SmtpSecurity

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///.local/todo.db"


class SettingsError(RuntimeError):
    """The environment does not describe a runnable process; the message names each variable."""


class CommonSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    database_url: str = Field(DEFAULT_DATABASE_URL, description="SQLAlchemy async URL")
    # A hard cap (app.core.db.session). At least 2: a notifier delivery opens a second session while
    # its consumer's session holds one, and would wait on itself with a pool of one.
    database_pool_size: int = Field(10, ge=2, le=200)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    kafka_bootstrap: str | None = Field(
        None, description="host:port[,host:port]; unset = in-process event bus"
    )
    otel_exporter_otlp_endpoint: str | None = Field(
        None, description="OTLP/HTTP collector base URL; unset = no trace export"
    )

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        # Accept the URL form people paste from providers and map it to the async driver.
        for plain, driver in (
            ("postgresql://", "postgresql+asyncpg://"),
            ("postgres://", "postgresql+asyncpg://"),
            ("sqlite:///", "sqlite+aiosqlite:///"),
        ):
            if value.startswith(plain):
                value = driver + value.removeprefix(plain)
        if not value.startswith(("postgresql+asyncpg://", "sqlite+aiosqlite:///")):
            raise ValueError("must be a postgresql:// or sqlite:/// URL")
        # Hosted PostgreSQL (Neon, ...) hands out libpq's ?sslmode=require; asyncpg calls it ssl.
        return re.sub(r"([?&])sslmode=", r"\1ssl=", value)


class SmtpSettings(BaseSettings):
    """The SMTP relay (the notifier's e-mail channel, the API's address verification mails).
    The password is a ``SecretStr``: it never shows in a repr, a log line or an error."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    smtp_host: str | None = None
    smtp_port: int = Field(587, ge=1, le=65535)
    smtp_from: str | None = None
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_security: SmtpSecurity = "starttls"
    smtp_timeout_seconds: float = Field(10, gt=0, le=120)

    @model_validator(mode="after")
    def _credentials_pair(self) -> Self:
        if (self.smtp_username is None) != (self.smtp_password is None):
            raise ValueError("SMTP_USERNAME and SMTP_PASSWORD go together")
        return self

    def smtp_relay(self) -> SmtpRelay | None:
        """The relay, or None when SMTP_HOST or SMTP_FROM is unset."""
        if not self.smtp_host or not self.smtp_from:
            return None
        return SmtpRelay(
            host=self.smtp_host,
            port=self.smtp_port,
            sender=self.smtp_from,
            security=self.smtp_security,
            username=self.smtp_username,
            password=self.smtp_password,
            timeout=self.smtp_timeout_seconds,
        )


class ApiSettings(CommonSettings, SmtpSettings):
    jwt_secret: SecretStr = Field(min_length=32, description="HMAC key signing access tokens")
    jwt_ttl_minutes: int = Field(60, ge=1, le=24 * 60)
    # Password hashing (app/auth/hashing.py): argon2id hashes running at once (each holds
    # PASSWORD_HASH_MEMORY_KIB), and requests allowed to wait for one before a 503.
    password_hash_concurrency: int = Field(2, ge=1, le=32)
    password_hash_queue: int = Field(16, ge=0, le=10_000)
    password_hash_memory_kib: int = Field(19_456, ge=7_168, le=1_048_576)
    password_hash_iterations: int = Field(2, ge=1, le=20)
    # Login and sign-up throttle (app/auth/throttle.py), shared by every replica through the
    # database: attempts allowed per window before back-off, then waits doubling from
    # LOGIN_BACKOFF_BASE_SECONDS up to LOGIN_BACKOFF_MAX_SECONDS.
    login_failures_per_account: int = Field(5, ge=1)
    login_failures_per_address: int = Field(20, ge=1)
    signups_per_address: int = Field(10, ge=1)
    login_window_seconds: int = Field(900, ge=1)
    login_backoff_base_seconds: float = Field(1.0, gt=0, le=3600)
    login_backoff_max_seconds: float = Field(60.0, gt=0, le=24 * 3600)
    # Peers whose X-Forwarded-For / X-Forwarded-Proto are believed (app/auth/client_address.py):
    # addresses or networks, e.g. the ingress controller's pod network. Empty: nobody's.
    trusted_proxies: list[str] = Field(default_factory=list)
    # Address verification (app/auth/email_verification.py): links are made on PUBLIC_URL (unset:
    # the request's own address), valid this long and used once; a new link at most this often.
    public_url: HttpUrl | None = None
    email_verification_ttl_minutes: int = Field(24 * 60, ge=5, le=7 * 24 * 60)
    email_verification_resend_seconds: int = Field(60, ge=0, le=24 * 3600)
    max_page_size: int = Field(100, ge=1, le=1000)
    cors_origins: list[str] = Field(default_factory=list)
    # Web Push: the public half of the notifier's VAPID key pair (65-byte P-256 point,
    # base64url), given to browsers to subscribe with. Unset: the UI offers no push.
    vapid_public_key: str | None = Field(None, pattern=r"^[A-Za-z0-9_-]{87}$")
    # Users' push endpoints and webhooks may be loopback addresses: tests and local runs only
    # (app/notifications/targets.py holds the rule).
    allow_loopback_targets: bool = False

    # The chat's AI agent (app/chat/agent.py): an OpenAI-compatible Chat Completions service.
    # Unset (the default) = the deterministic parser; base URL and model come together.
    chat_ai_base_url: str | None = Field(
        None, description="e.g. https://api.openai.com/v1 (POSTs to {base}/chat/completions)"
    )
    chat_ai_model: str | None = Field(None, min_length=1, max_length=200)
    chat_ai_api_key: SecretStr | None = Field(None, description="sent as a bearer token")
    chat_ai_max_turns: int = Field(6, ge=1, le=20, description="model calls per message")
    chat_ai_max_tokens: int = Field(
        800, ge=16, le=32_000, description="completion tokens per model call"
    )
    chat_ai_token_budget: int = Field(
        20_000, ge=100, le=1_000_000, description="tokens (prompt + completion) per message"
    )
    chat_ai_timeout_seconds: float = Field(20.0, gt=0, le=300)
    chat_ai_history_messages: int = Field(20, ge=0, le=200, description="kept per user")

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for entry in value:
            try:
                ipaddress.ip_network(entry.strip(), strict=False)
            except ValueError:
                raise ValueError(f"{entry!r} is not an IP address or network") from None
        return [entry.strip() for entry in value]

    @field_validator("chat_ai_base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"https?://[^\s/]+(/\S*)?", value):
            raise ValueError("must be an http:// or https:// URL")
        return None if value is None else value.rstrip("/")

    @model_validator(mode="after")
    def _chat_ai_complete(self) -> ApiSettings:
        if (self.chat_ai_base_url is None) != (self.chat_ai_model is None):
            raise ValueError("set CHAT_AI_BASE_URL and CHAT_AI_MODEL together, or neither")
        return self


S = TypeVar("S", bound=BaseSettings)


def load(kind: type[S]) -> S:
    """Read ``kind`` from the environment, or raise one error naming every bad variable."""
    try:
        return kind()
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            variable = "_".join(str(part) for part in error["loc"]).upper()
            problems.append(f"{variable}: {error['msg']}")
        raise SettingsError("invalid environment: " + "; ".join(problems)) from None
