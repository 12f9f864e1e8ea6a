"""Address verification over HTTP: the link's target, and asking for a new link.

The link is sent once at sign-up (when an SMTP relay is configured) and on request, at most
once per ``EMAIL_VERIFICATION_RESEND_SECONDS`` per account. See
:mod:`app.auth.email_verification` for what the link is and why.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request

from app.api.deps import CurrentUser, DbSession, State, unauthorized
from app.api.problems import Problem, documented, invalid
from app.api.schemas import UserOut
from app.auth.email_verification import (
    MAX_TOKEN_LENGTH,
    VerificationFailed,
    read_link_token,
    resend,
    verify,
)
from app.core.db.models import User

router = APIRouter(tags=["auth"])


@router.post(
    "/me/email-verification",
    status_code=202,
    responses=documented(401, 409, 429, 503),
    summary="E-mail a new verification link to the account's address",
)
async def resend_link(
    request: Request, caller: CurrentUser, db: DbSession, app_state: State
) -> dict[str, str]:
    settings = app_state.settings
    resent = await resend(db, caller.id, settings, str(request.base_url))
    if resent.outcome == "gone":
        raise unauthorized("the token's account no longer exists")
    if resent.outcome == "verified":
        raise Problem(409, "Conflict", "email: the address is already verified")
    if resent.outcome == "too_soon":
        raise Problem(
            429,
            "Too many verification e-mails",
            f"try again in {resent.wait} s",
            headers={"Retry-After": str(resent.wait)},
        )
    if resent.outcome == "unavailable":
        raise Problem(
            503,
            "E-mail unavailable",
            "the verification e-mail could not be sent; try again later",
            headers={"Retry-After": str(resent.wait)},
        )
    return {"status": "sent"}


@router.get(
    "/auth/verify-email",
    response_model=UserOut,
    responses=documented(422),
    summary="Verify the account's address (the link e-mailed to it; works once)",
)
async def verify_email(
    token: Annotated[str, Query(max_length=MAX_TOKEN_LENGTH)], db: DbSession, app_state: State
) -> User:
    try:
        link = read_link_token(token, app_state.settings.jwt_secret.get_secret_value())
        return await verify(db, link, datetime.now(UTC))
    except VerificationFailed as exc:
        raise invalid("token", str(exc)) from None
