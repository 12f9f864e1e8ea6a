"""Address verification over HTTP: the link's target, and asking for a new link.

The link is sent once at sign-up (when an SMTP relay is configured) and on request, at most
once per ``EMAIL_VERIFICATION_RESEND_SECONDS`` per account. See
:mod:`app.auth.email_verification` for what the link is and why.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Annotated

import aiosmtplib
from fastapi import APIRouter, Query, Request

from app.api.deps import CurrentUser, Session, State, unauthorized
from app.api.problems import Problem, documented, invalid
from app.api.schemas import UserOut
from app.auth.email_verification import (
    MAX_TOKEN_LENGTH,
    VerificationFailed,
    link_message,
    new_link,
    read_link_token,
    resend_wait,
    verify,
)
from app.core.db.models import User
from app.core.settings import ApiSettings

router = APIRouter(tags=["auth"])
log = logging.getLogger(__name__)


def _base_url(request: Request, settings: ApiSettings) -> str:
    # PUBLIC_URL when set: the Host header is the client's to choose, and a link to a host of
    # an attacker's choosing would hand them the token.
    return str(settings.public_url) if settings.public_url else str(request.base_url)


async def send_link(request: Request, db: Session, settings: ApiSettings, user: User) -> bool:
    """Send ``user`` a fresh link through the relay; whether it was handed over. The new nonce
    is committed only once the relay took the message (a failed send leaves the old link)."""
    relay = settings.smtp_relay()
    if relay is None:
        return False
    ttl = timedelta(minutes=settings.email_verification_ttl_minutes)
    secret = settings.jwt_secret.get_secret_value()
    link = new_link(user, _base_url(request, settings), secret, ttl, datetime.now(UTC))
    try:
        await relay.send(link_message(relay, user.email, link, ttl))
    except (aiosmtplib.SMTPException, OSError) as exc:
        await db.rollback()
        log.warning("verification e-mail not sent", extra={"error": type(exc).__name__})
        return False
    await db.commit()
    return True


@router.post(
    "/me/email-verification",
    status_code=202,
    responses=documented(401, 409, 429, 503),
    summary="E-mail a new verification link to the account's address",
)
async def resend(
    request: Request, caller: CurrentUser, db: Session, app_state: State
) -> dict[str, str]:
    settings = app_state.settings
    user = await db.get(User, caller.id, with_for_update=True)
    if user is None:
        raise unauthorized("the token's account no longer exists")
    if user.email_verified_at is not None:
        raise Problem(409, "Conflict", "email: the address is already verified")
    interval = timedelta(seconds=settings.email_verification_resend_seconds)
    wait = resend_wait(user, interval, datetime.now(UTC))
    if wait is not None:
        raise Problem(
            429,
            "Too many verification e-mails",
            f"try again in {wait} s",
            headers={"Retry-After": str(wait)},
        )
    if not await send_link(request, db, settings, user):
        raise Problem(
            503,
            "E-mail unavailable",
            "the verification e-mail could not be sent; try again later",
            headers={"Retry-After": str(max(1, settings.email_verification_resend_seconds))},
        )
    return {"status": "sent"}


@router.get(
    "/auth/verify-email",
    response_model=UserOut,
    responses=documented(422),
    summary="Verify the account's address (the link e-mailed to it; works once)",
)
async def verify_email(
    token: Annotated[str, Query(max_length=MAX_TOKEN_LENGTH)], db: Session, app_state: State
) -> User:
    try:
        link = read_link_token(token, app_state.settings.jwt_secret.get_secret_value())
        return await verify(db, link, datetime.now(UTC))
    except VerificationFailed as exc:
        raise invalid("token", str(exc)) from None
