"""Accounts and access tokens: register, log in (OAuth2 password flow), who am I."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.api.deps import CurrentUser, Session, State, unauthorized
from app.api.problems import Problem, documented
from app.api.schemas import TokenOut, UserCreate, UserOut
from app.core.db.models import User
from app.security import hash_password, issue_token, verify_password

router = APIRouter(tags=["auth"])


@router.post(
    "/auth/register", status_code=201, response_model=UserOut, responses=documented(409, 422)
)
async def register(body: UserCreate, db: Session) -> User:
    # argon2 is deliberately slow: hash off the event loop so other requests keep flowing.
    password_hash = await asyncio.to_thread(hash_password, body.password)
    user = User(email=body.email, password_hash=password_hash)
    db.add(user)
    try:
        await db.commit()
    except IntegrityError:
        await db.rollback()
        raise Problem(409, "Conflict", "email: an account with this address exists") from None
    return user


def _throttled(retry_after: int) -> Problem:
    return Problem(
        429,
        "Too many failed logins",
        f"try again in {retry_after} s",
        headers={"Retry-After": str(retry_after)},
    )


@router.post("/auth/token", response_model=TokenOut, responses=documented(401, 422, 429))
async def token(
    request: Request,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    db: Session,
    app_state: State,
) -> TokenOut:
    settings, throttle = app_state.settings, app_state.throttle
    account_key = "account:" + form.username.strip().lower()
    address_key = "address:" + (request.client.host if request.client else "unknown")
    for key, limit in (
        (account_key, settings.login_failures_per_account),
        (address_key, settings.login_failures_per_address),
    ):
        retry_after = throttle.retry_after(key, limit)
        if retry_after is not None:
            raise _throttled(retry_after)

    user = await db.scalar(select(User).where(func.lower(User.email) == form.username.lower()))
    stored_hash = user.password_hash if user else None
    if not await asyncio.to_thread(verify_password, stored_hash, form.password) or user is None:
        throttle.record_failure(account_key)
        throttle.record_failure(address_key)
        raise Problem(
            401,
            "Unauthorized",
            "wrong email or password",
            headers={"WWW-Authenticate": "Bearer"},
        )
    throttle.reset(account_key)
    ttl = timedelta(minutes=settings.jwt_ttl_minutes)
    return TokenOut(
        access_token=issue_token(user.id, settings.jwt_secret.get_secret_value(), ttl),
        expires_in=int(ttl.total_seconds()),
    )


@router.get("/me", response_model=UserOut, responses=documented(401))
async def me(caller: CurrentUser, db: Session) -> User:
    user = await db.get(User, caller.id)
    if user is None:  # deleted since the token check, a moment ago
        raise unauthorized("the token's account no longer exists")
    return user
