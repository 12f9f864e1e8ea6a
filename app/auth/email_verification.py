"""Verifying an account's e-mail address with a signed, expiring, single-use link.

The link carries a JWT signed with the project's token key (``JWT_SECRET``) -- but with a key
derived from it for this one purpose and an ``aud`` claim, so a link is never accepted as an
access token (the access-token check refuses any token with an audience) and an access token
never verifies an address. The token names the user, the address and a nonce; the user row
keeps the one nonce that may still verify. Using a link clears it (single use), sending a new
link replaces it (older links stop working), and changing nothing else: a link for an address
the account no longer has fails too.

Until ``users.email_verified_at`` is set, no reminder is e-mailed to the address (the
notifier asks :func:`app.auth.verified_address.is_email_verified`); the reminder still reaches
the user in the app.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Final, Literal

import aiosmtplib
import jwt
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db.models import User
from app.core.mail import SmtpRelay
from app.core.settings import ApiSettings
from app.security import JWT_ALGORITHM

log = logging.getLogger(__name__)

AUDIENCE: Final = "email-verification"
# The link opens a page (app/ui/auth_pages.py); API clients use GET /auth/verify-email.
VERIFY_PATH: Final = "/ui/verify-email"
MAX_TOKEN_LENGTH: Final = 2048


class VerificationFailed(Exception):
    """The link is tampered with, expired, already used, replaced by a newer one, or for an
    address the account no longer has; the message says which, for the person who clicked."""


@dataclass(frozen=True, slots=True)
class LinkToken:
    user_id: uuid.UUID
    email: str
    nonce: str


def _key(secret: str) -> bytes:
    # A key of its own: the same secret never signs two kinds of token.
    return hashlib.sha256(b"todo-platform email verification\0" + secret.encode()).digest()


def issue_link_token(
    user_id: uuid.UUID, email: str, nonce: str, secret: str, ttl: timedelta
) -> str:
    now = datetime.now(UTC)
    claims = {
        "sub": str(user_id),
        "email": email,
        "nonce": nonce,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + ttl,
    }
    return jwt.encode(claims, _key(secret), algorithm=JWT_ALGORITHM)


def read_link_token(token: str, secret: str) -> LinkToken:
    try:
        claims = jwt.decode(
            token,
            _key(secret),
            algorithms=[JWT_ALGORITHM],
            audience=AUDIENCE,
            options={"require": ["sub", "email", "nonce", "aud", "exp", "iat"]},
        )
        return LinkToken(uuid.UUID(claims["sub"]), str(claims["email"]), str(claims["nonce"]))
    except jwt.ExpiredSignatureError:
        raise VerificationFailed("the link has expired; ask for a new one") from None
    except (jwt.PyJWTError, ValueError, TypeError):
        raise VerificationFailed("the link is not valid") from None


def resend_wait(user: User, interval: timedelta, now: datetime) -> int | None:
    """Seconds until another link may be sent to ``user``, or None if one may be sent now."""
    if user.email_verification_sent_at is None:
        return None
    left = user.email_verification_sent_at + interval - now
    return max(1, int(left.total_seconds() + 0.999)) if left > timedelta(0) else None


def new_link(user: User, base_url: str, secret: str, ttl: timedelta, now: datetime) -> str:
    """A fresh link for ``user`` (older ones stop working); the caller commits the user row."""
    nonce = secrets.token_urlsafe(24)
    user.email_verification_nonce = nonce
    user.email_verification_sent_at = now
    token = issue_link_token(user.id, user.email, nonce, secret, ttl)
    return f"{base_url.rstrip('/')}{VERIFY_PATH}?token={token}"


async def send_new_link(
    session: AsyncSession,
    user: User,
    relay: SmtpRelay,
    *,
    base_url: str,
    secret: str,
    ttl: timedelta,
) -> bool:
    """E-mail ``user`` a fresh link through ``relay``; whether the relay took it. The new nonce
    is committed only then (a failed send rolls back and leaves the old link working)."""
    link = new_link(user, base_url, secret, ttl, datetime.now(UTC))
    try:
        await relay.send(link_message(relay, user.email, link, ttl))
    except (aiosmtplib.SMTPException, OSError) as exc:
        await session.rollback()
        log.warning("verification e-mail not sent", extra={"error": type(exc).__name__})
        return False
    await session.commit()
    return True


def link_base(settings: ApiSettings, request_base_url: str) -> str:
    # PUBLIC_URL when set: the Host header is the client's to choose, and a link to a host of
    # an attacker's choosing would hand them the token.
    return str(settings.public_url) if settings.public_url else request_base_url


async def send_link(
    session: AsyncSession, user: User, settings: ApiSettings, request_base_url: str
) -> bool:
    """Send ``user`` a fresh link through the configured relay; whether it was handed over
    (False too when no relay is configured)."""
    relay = settings.smtp_relay()
    if relay is None:
        return False
    return await send_new_link(
        session,
        user,
        relay,
        base_url=link_base(settings, request_base_url),
        secret=settings.jwt_secret.get_secret_value(),
        ttl=timedelta(minutes=settings.email_verification_ttl_minutes),
    )


@dataclass(frozen=True, slots=True)
class FirstLink:
    """A new account's link, prepared before its row is committed (the nonce goes in with the
    account) and e-mailed after the commit."""

    user_id: uuid.UUID
    nonce: str
    relay: SmtpRelay
    message: EmailMessage


def prepare_first_link(
    user: User, settings: ApiSettings, request_base_url: str
) -> FirstLink | None:
    """Set the link's nonce on ``user`` (flushed, not yet committed); None without a relay."""
    relay = settings.smtp_relay()
    if relay is None:
        return None
    ttl = timedelta(minutes=settings.email_verification_ttl_minutes)
    secret = settings.jwt_secret.get_secret_value()
    link = new_link(user, link_base(settings, request_base_url), secret, ttl, datetime.now(UTC))
    assert user.email_verification_nonce is not None  # new_link just set it
    return FirstLink(
        user.id, user.email_verification_nonce, relay, link_message(relay, user.email, link, ttl)
    )


async def send_first_link(session: AsyncSession, link: FirstLink) -> bool:
    """E-mail the committed account its link; whether the relay took it.

    Called with no transaction open: a slow or stalled relay then holds no pooled connection
    (sign-ups would otherwise drain the pool). The whole exchange is bounded by the relay's
    timeout (aiosmtplib's own applies to each step, and a server may dribble). On failure the
    link is withdrawn in a short transaction of its own, so the user may ask for a new one at
    once instead of waiting out the re-send interval."""
    try:
        async with asyncio.timeout(link.relay.timeout):
            await link.relay.send(link.message)
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        log.warning("sign-up verification e-mail not sent", extra={"error": type(exc).__name__})
        await session.execute(
            update(User)
            .where(User.id == link.user_id, User.email_verification_nonce == link.nonce)
            .values(email_verification_nonce=None, email_verification_sent_at=None)
            .execution_options(synchronize_session=False)
        )
        await session.commit()
        return False
    return True


@dataclass(frozen=True, slots=True)
class Resent:
    """What asking for a new link did: ``sent``; or not, because the address is ``verified``
    already, it is ``too_soon`` (``wait`` seconds), the mail is ``unavailable``, or the
    account is ``gone``."""

    outcome: Literal["sent", "verified", "too_soon", "unavailable", "gone"]
    wait: int | None = None


async def resend(
    session: AsyncSession, user_id: uuid.UUID, settings: ApiSettings, request_base_url: str
) -> Resent:
    """A new link on the account's request, at most one per EMAIL_VERIFICATION_RESEND_SECONDS
    (the user row is locked meanwhile: two requests at once send one link)."""
    user = await session.get(User, user_id, with_for_update=True)
    if user is None:
        return Resent("gone")
    if user.email_verified_at is not None:
        await session.rollback()
        return Resent("verified")
    interval = timedelta(seconds=settings.email_verification_resend_seconds)
    wait = resend_wait(user, interval, datetime.now(UTC))
    if wait is not None:
        await session.rollback()
        return Resent("too_soon", wait)
    if not await send_link(session, user, settings, request_base_url):
        return Resent("unavailable", max(1, settings.email_verification_resend_seconds))
    return Resent("sent")


def link_message(relay: SmtpRelay, recipient: str, link: str, ttl: timedelta) -> EmailMessage:
    hours = ttl.total_seconds() / 3600
    body = (
        "Confirm that this is your address, so that reminders can be e-mailed to it:\n\n"
        f"{link}\n\n"
        f"The link works once, for {hours:g} hours. If you did not sign up, ignore this e-mail.\n"
    )
    return relay.message(recipient, "Confirm your e-mail address", body)


async def verify(session: AsyncSession, token: LinkToken, now: datetime) -> User:
    """Mark the address verified and use the link up (single use: one conditional update, so
    two clicks at once verify once and the second finds the link used)."""
    result = await session.execute(
        update(User)
        .where(
            User.id == token.user_id,
            User.email == token.email,
            User.email_verification_nonce == token.nonce,
        )
        .values(email_verified_at=now, email_verification_nonce=None)
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        await session.rollback()
        raise VerificationFailed("the link was already used or a newer one was sent")
    await session.commit()
    user = await session.get(User, token.user_id, populate_existing=True)
    assert user is not None  # the update above just found it
    return user
