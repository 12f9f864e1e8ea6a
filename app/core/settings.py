"""Runtime settings from environment variables, one class per process kind.

Each class is validated when the process starts; an invalid or missing variable stops it with
a message naming the variable (see :func:`load`). Defaults serve local development only, and no
secret has a default at all: the local run command generates one.
"""

from __future__ import annotations

import re
from typing import Literal, TypeVar

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

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


class ApiSettings(CommonSettings):
    jwt_secret: SecretStr = Field(min_length=32, description="HMAC key signing access tokens")
    jwt_ttl_minutes: int = Field(60, ge=1, le=24 * 60)
    # Failed logins allowed per window before 429: per account, and per client address.
    login_failures_per_account: int = Field(5, ge=1)
    login_failures_per_address: int = Field(20, ge=1)
    login_window_seconds: int = Field(900, ge=1)
    max_page_size: int = Field(100, ge=1, le=1000)
    cors_origins: list[str] = Field(default_factory=list)


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
