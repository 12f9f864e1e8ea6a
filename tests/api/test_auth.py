"""Accounts and tokens: registration, login, /me, and every way a token can be wrong."""

from __future__ import annotations

import uuid
from datetime import timedelta

import jwt
from sqlalchemy import func, select

from app.core.db.auth_models import LoginThrottleRow
from app.security import issue_token
from tests.api.conftest import Api


def _email() -> str:
    return f"Someone-{uuid.uuid4().hex[:10]}@Example.com"


async def test_register_login_and_me(api: Api) -> None:
    email = _email()
    registered = await api.client.post(
        "/auth/register", json={"email": email, "password": "correct horse"}
    )
    assert registered.status_code == 201
    assert registered.json()["email"].lower() == email.lower()  # the domain is normalized
    assert "password" not in registered.text
    assert "hash" not in registered.text

    # Login is case-insensitive on the address, as mail is.
    token = await api.client.post(
        "/auth/token", data={"username": email.lower(), "password": "correct horse"}
    )
    assert token.status_code == 200
    assert token.json()["token_type"] == "bearer"
    assert token.json()["expires_in"] == api.settings.jwt_ttl_minutes * 60

    me = await api.client.get(
        "/me", headers={"Authorization": f"Bearer {token.json()['access_token']}"}
    )
    assert me.status_code == 200
    assert me.json()["id"] == registered.json()["id"]


async def test_duplicate_email_in_other_case_is_a_conflict(api: Api) -> None:
    email = _email()
    first = await api.client.post("/auth/register", json={"email": email, "password": "x" * 8})
    again = await api.client.post(
        "/auth/register", json={"email": email.upper(), "password": "y" * 8}
    )
    assert first.status_code == 201
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"
    assert again.json()["detail"].startswith("email:")


async def test_register_rejects_bad_email_and_short_password(api: Api) -> None:
    bad_email = await api.client.post(
        "/auth/register", json={"email": "not-an-address", "password": "long enough"}
    )
    short = await api.client.post("/auth/register", json={"email": _email(), "password": "short"})
    assert bad_email.status_code == 422
    assert bad_email.json()["errors"][0]["field"] == "email"
    assert short.status_code == 422
    assert short.json()["errors"][0]["field"] == "password"


async def test_wrong_password_is_401(api: Api) -> None:
    email = _email()
    await api.client.post("/auth/register", json={"email": email, "password": "right one"})
    wrong = await api.client.post("/auth/token", data={"username": email, "password": "wrong!!"})
    unknown = await api.client.post(
        "/auth/token", data={"username": _email(), "password": "whatever"}
    )
    assert wrong.status_code == unknown.status_code == 401
    # The same answer for an unknown account: the response does not reveal which exist.
    assert wrong.json()["detail"] == unknown.json()["detail"]


async def test_a_nul_in_the_login_name_is_a_422_and_counts_nothing(api: Api) -> None:
    # Found by schemathesis on PostgreSQL: the throttle's key could not be stored (a 500).
    username = "ann\x00@example.com"
    refused = await api.client.post("/auth/token", data={"username": username, "password": "x"})
    assert refused.status_code == 422
    assert refused.json()["errors"] == [
        {"field": "username", "message": "must not contain NUL characters"}
    ]
    async with api.sessions() as session:
        rows = await session.scalar(
            select(func.count())
            .select_from(LoginThrottleRow)
            .where(LoginThrottleRow.key.contains("ann"))
        )
    assert rows == 0


async def test_missing_expired_tampered_and_foreign_tokens_are_401(
    api: Api, user: dict[str, str]
) -> None:
    secret = api.settings.jwt_secret.get_secret_value()
    valid = user["Authorization"].removeprefix("Bearer ")
    expired = issue_token(uuid.uuid4(), secret, timedelta(seconds=-1))
    header, payload, signature = valid.split(".")
    tampered = f"{header}.{payload}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}"
    forged = jwt.encode({"sub": str(uuid.uuid4()), "exp": 4102444800, "iat": 0}, "x" * 32)
    unknown_user = issue_token(uuid.uuid4(), secret, timedelta(minutes=5))
    none_alg = jwt.encode({"sub": "x", "exp": 4102444800, "iat": 0}, key="", algorithm="none")

    for headers in (
        {},
        {"Authorization": f"Bearer {expired}"},
        {"Authorization": f"Bearer {tampered}"},
        {"Authorization": f"Bearer {forged}"},
        {"Authorization": f"Bearer {unknown_user}"},
        {"Authorization": f"Bearer {none_alg}"},
        {"Authorization": "Bearer not.a.jwt"},
    ):
        response = await api.client.get("/tasks", headers=headers)
        assert response.status_code == 401, headers
        assert response.headers["WWW-Authenticate"] == "Bearer"
        assert response.headers["content-type"] == "application/problem+json"

    # A well-signed token whose account is gone: refused on reads, writes and /me alike.
    before = await api.counts()
    gone = {"Authorization": f"Bearer {unknown_user}"}
    for response in (
        await api.client.post("/tasks", json={"title": "orphan"}, headers=gone),
        await api.client.get("/me", headers=gone),
    ):
        assert response.status_code == 401
        assert response.json()["detail"] == "the token's account no longer exists"
    assert await api.counts() == before


async def test_common_blank_and_own_address_passwords_are_refused(api: Api) -> None:
    email = _email()
    before = await api.counts()
    for password, message in (
        ("password1", "is one of the most common passwords; choose another"),
        ("QWERTYUIOP", "is one of the most common passwords; choose another"),
        (" " * 12, "must not be only spaces"),
        (email.upper(), "must not be your e-mail address"),
        (email.split("@")[0], "must not be your e-mail address"),
    ):
        response = await api.client.post(
            "/auth/register", json={"email": email, "password": password}
        )
        assert response.status_code == 422, password
        assert response.json()["errors"] == [{"field": "password", "message": message}]
    assert await api.counts() == before
    # The same address with a password of its own is fine.
    accepted = await api.client.post(
        "/auth/register", json={"email": email, "password": "a password of my own"}
    )
    assert accepted.status_code == 201


async def test_logout_revokes_the_token_on_the_server(api: Api) -> None:
    email, password = _email(), "a password of my own"
    await api.client.post("/auth/register", json={"email": email, "password": password})

    async def log_in() -> dict[str, str]:
        token = await api.client.post("/auth/token", data={"username": email, "password": password})
        return {"Authorization": f"Bearer {token.json()['access_token']}"}

    first, second = await log_in(), await log_in()
    assert (await api.client.get("/me", headers=first)).status_code == 200
    out = await api.client.post("/auth/logout", headers=first)
    assert out.status_code == 204
    for response in (
        await api.client.get("/me", headers=first),
        await api.client.get("/tasks", headers=first),
        await api.client.post("/auth/logout", headers=first),
    ):
        assert response.status_code == 401
        assert response.json()["detail"] == "the token was revoked (logged out)"
    # Only that session ended: the account's other token still works.
    assert (await api.client.get("/me", headers=second)).status_code == 200
