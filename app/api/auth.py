"""Accounts and access tokens: register, log in (OAuth2 password flow), who am I."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import OAuth2PasswordRequestForm
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.api.deps import CurrentUser, DbSession, State, unauthorized
from app.api.problems import Problem, documented
from app.api.query_input import plain_text
from app.api.schemas import TokenOut, UserCreate, UserOut
from app.auth.email_verification import prepare_first_link, send_first_link
from app.auth.hashing import RETRY_AFTER_SECONDS, HashingBusy
from app.auth.revocation import revoke
from app.core.db.models import User
from app.security import issue_token

router = APIRouter(tags=["auth"])


def _throttled(retry_after: int, what: str) -> Problem:
    return Problem(
        429,
        f"Too many {what}",
        f"try again in {retry_after} s",
        headers={"Retry-After": str(retry_after)},
    )


def _busy() -> Problem:
    return Problem(
        503,
        "Busy",
        "too many sign-ins at once; try again shortly",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def client_address(request: Request) -> str:
    # Already the real client behind trusted proxies (app.auth.client_address middleware).
    return request.client.host if request.client else "unknown"


@router.post(
    "/auth/register",
    status_code=201,
    response_model=UserOut,
    responses=documented(409, 422, 429, 503),
)
async def register(request: Request, body: UserCreate, db: DbSession, app_state: State) -> User:
    wait = await app_state.throttle.claim(
        db, "signup:" + client_address(request), app_state.settings.signups_per_address
    )
    if wait is not None:
        raise _throttled(wait, "sign-ups")
    try:
        password_hash = await app_state.hashing.hash(body.password)
    except HashingBusy:
        raise _busy() from None
    user = User(email=body.email, password_hash=password_hash)
    db.add(user)
    try:
        await db.flush()  # the link names the account's id
        link = prepare_first_link(user, app_state.settings, str(request.base_url))
        await db.commit()
    except IntegrityError:
        await db.rollback()
        raise Problem(409, "Conflict", "email: an account with this address exists") from None
    # After the commit, holding no connection. Best effort: the account exists either way, and
    # POST /me/email-verification sends again.
    if link is not None:
        await send_first_link(db, link)
    return user


@router.post("/auth/token", response_model=TokenOut, responses=documented(401, 422, 429, 503))
async def token(
    request: Request,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    db: DbSession,
    app_state: State,
) -> TokenOut:
    settings, throttle = app_state.settings, app_state.throttle
    # A NUL can be in no address, and PostgreSQL cannot store it in the throttle's key.
    plain_text("username", form.username)
    # Counted before the password is checked, so parallel guesses cannot outrun the count.
    address_key = "address:" + client_address(request)
    account_key = "account:" + form.username.strip().lower()
    wait = await throttle.claim(db, address_key, settings.login_failures_per_address)
    if wait is None:
        wait = await throttle.claim(db, account_key, settings.login_failures_per_account)
        if wait is not None:
            # Not evaluated: the address is charged only for the guesses it got to make.
            await throttle.refund(db, address_key)
            await db.commit()
    if wait is not None:
        raise _throttled(wait, "failed logins")

    user = await db.scalar(
        select(User).where(func.lower(User.email) == form.username.strip().lower())
    )
    # No connection is held while waiting for a hashing slot: fifty logins queued for two
    # slots would otherwise take the whole pool.
    await db.commit()
    try:
        verified = await app_state.hashing.verify(
            user.password_hash if user else None, form.password
        )
    except HashingBusy:
        raise _busy() from None
    if not verified.ok or user is None:
        raise Problem(
            401,
            "Unauthorized",
            "wrong email or password",
            headers={"WWW-Authenticate": "Bearer"},
        )
    await throttle.reset(db, account_key)
    await throttle.refund(db, address_key)  # a shared address is limited by its failures only
    if verified.rehashed is not None:
        user.password_hash = verified.rehashed  # hashed with older parameters: upgrade it
        db.add(user)
    await db.commit()
    ttl = timedelta(minutes=settings.jwt_ttl_minutes)
    return TokenOut(
        access_token=issue_token(user.id, settings.jwt_secret.get_secret_value(), ttl),
        expires_in=int(ttl.total_seconds()),
    )


@router.post("/auth/logout", status_code=204, responses=documented(401))
async def logout(request: Request, caller: CurrentUser, db: DbSession) -> Response:
    """End this token's session on the server: it is refused from now on."""
    await revoke(db, request.state.token_claims)
    return Response(status_code=204)


@router.get("/me", response_model=UserOut, responses=documented(401))
async def me(caller: CurrentUser, db: DbSession) -> User:
    user = await db.get(User, caller.id)
    if user is None:  # deleted since the token check, a moment ago
        raise unauthorized("the token's account no longer exists")
    return user
