"""Settings come from the environment and fail at start with the variable named."""

from __future__ import annotations

import pytest

from app.core.settings import ApiSettings, SettingsError, load


def test_missing_and_invalid_variables_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JWT_SECRET", raising=False)
    monkeypatch.setenv("DATABASE_URL", "mysql://nope")
    monkeypatch.setenv("JWT_TTL_MINUTES", "forever")
    with pytest.raises(SettingsError) as error:
        load(ApiSettings)
    message = str(error.value)
    assert "JWT_SECRET: Field required" in message
    assert "DATABASE_URL: Value error, must be a postgresql:// or sqlite:/// URL" in message
    assert "JWT_TTL_MINUTES" in message


def test_short_secret_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JWT_SECRET", "too-short")
    with pytest.raises(SettingsError, match=r"JWT_SECRET: .*at least 32"):
        load(ApiSettings)


def test_a_pool_of_one_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    # A notifier delivery holds one connection and opens a second: a pool of one waits on itself.
    monkeypatch.setenv("JWT_SECRET", "x" * 48)
    monkeypatch.setenv("DATABASE_POOL_SIZE", "1")
    with pytest.raises(SettingsError, match=r"DATABASE_POOL_SIZE: .*greater than or equal to 2"):
        load(ApiSettings)


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("postgresql://u:p@db:5432/todo", "postgresql+asyncpg://u:p@db:5432/todo"),
        ("postgres://u:p@db/todo?sslmode=require", "postgresql+asyncpg://u:p@db/todo?ssl=require"),
        ("sqlite:///data/todo.db", "sqlite+aiosqlite:///data/todo.db"),
        ("postgresql+asyncpg://u@db/todo", "postgresql+asyncpg://u@db/todo"),
    ],
)
def test_database_urls_map_to_async_drivers(
    monkeypatch: pytest.MonkeyPatch, given: str, used: str
) -> None:
    monkeypatch.setenv("JWT_SECRET", "x" * 32)
    monkeypatch.setenv("DATABASE_URL", given)
    assert load(ApiSettings).database_url == used


def test_secret_never_appears_in_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JWT_SECRET", "s3cr3t-" * 6)
    settings = load(ApiSettings)
    assert "s3cr3t" not in repr(settings)
    assert "s3cr3t" not in str(settings.model_dump())
