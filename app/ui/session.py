"""Who is visiting the web UI: the session cookie, the browser's time zone and CSRF tokens.

The session is the API's own JWT, kept in an HttpOnly cookie (SameSite=Lax, Secure over
https) so page scripts never see it. Every form carries a CSRF token, an HMAC of the value it
protects under the server's key (a synchronizer token that needs no server-side store):

* signed in, it is bound to the session token, so it changes with every login;
* before signing in (the login and sign-up forms), it is bound to a random pre-session
  cookie, which stops login CSRF (a foreign site signing the browser into its own account).

A token from another session, a missing token or a cross-site ``Origin`` fails the check, and
the request changes nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Final
from urllib.parse import quote, unquote, urlsplit

from fastapi import Depends, HTTPException, Request, Response
from sqlalchemy import select

from app.api.deps import DbSession, State
from app.auth.revocation import not_revoked
from app.core.db.models import User
from app.domain.recurrence import RecurrenceError, load_timezone
from app.security import InvalidToken, TokenClaims, read_claims

SESSION_COOKIE: Final = "todo_session"
PRESESSION_COOKIE: Final = "todo_presession"
TIMEZONE_COOKIE: Final = "todo_tz"
CSRF_FIELD: Final = "csrf_token"
DEFAULT_TIMEZONE: Final = "UTC"
LOGIN_PATH: Final = "/ui/login"


class CsrfFailure(Exception):
    """The form's CSRF token or origin does not check out."""


def _secure(request: Request) -> bool:
    # Behind the ingress, uvicorn's proxy-headers support turns X-Forwarded-Proto into this.
    return request.url.scheme == "https"


def _sign(key: str, purpose: str, value: str) -> str:
    message = f"{purpose}\x00{value}".encode()
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()


def user_timezone(request: Request) -> str:
    """The zone the browser reported (see app.js), if it is a real IANA zone; else UTC."""
    name = unquote(request.cookies.get(TIMEZONE_COOKIE, ""))
    try:
        load_timezone(name)
    except RecurrenceError:
        return DEFAULT_TIMEZONE
    return name


@dataclass
class Visitor:
    """The person behind a request: signed in (``user``) or not, and their form token.

    ``user_id`` and ``email`` are plain copies: a rolled-back session expires ``user``, and
    pages rendered after a rollback (a form error) must not reload it.
    """

    user: User | None
    user_id: uuid.UUID | None
    email: str | None
    session_token: str | None
    claims: TokenClaims | None  # the session token's, while signed in: what logging out revokes
    presession: str
    new_presession: bool
    timezone: str
    csrf: str
    secure: bool

    def apply_cookies(self, response: Response) -> None:
        """Set the pre-session cookie a rendered form's token depends on, if it is new."""
        if self.new_presession and self.user is None:
            response.set_cookie(
                PRESESSION_COOKIE,
                self.presession,
                httponly=True,
                samesite="strict",
                secure=self.secure,
                path="/ui/",
            )


async def visitor(request: Request, app_state: State, db: DbSession) -> Visitor:
    key = app_state.settings.jwt_secret.get_secret_value()
    token = request.cookies.get(SESSION_COOKIE)
    user: User | None = None
    claims: TokenClaims | None = None
    if token:
        try:
            claims = read_claims(token, key)
        except InvalidToken:
            claims = None
    if claims is not None:
        # The account, unless this session was logged out (app/auth/revocation.py).
        user = await db.scalar(
            select(User).where(User.id == claims.user_id, not_revoked(claims.token_id))
        )
    presession = request.cookies.get(PRESESSION_COOKIE, "")
    new_presession = len(presession) < 32
    if new_presession:
        presession = secrets.token_urlsafe(32)
    if user is not None and token:
        csrf = _sign(key, "csrf-session", token)
    else:
        token = None
        csrf = _sign(key, "csrf-presession", presession)
    return Visitor(
        claims=claims if user is not None else None,
        user=user,
        user_id=user.id if user else None,
        email=user.email if user else None,
        session_token=token,
        presession=presession,
        new_presession=new_presession,
        timezone=user_timezone(request),
        csrf=csrf,
        secure=_secure(request),
    )


Visit = Annotated[Visitor, Depends(visitor)]


def login_redirect(request: Request) -> HTTPException:
    """Send an anonymous visitor to the login page, coming back here afterwards.

    "Here" for a form posted after the session ended is the page the form was on (its
    same-site Referer): the post's own address answers GET with a 405. So it is for a page
    script's fetch (Fetch Metadata ``Sec-Fetch-Dest: empty``, e.g. the live list's fragment):
    after logging in the person returns to the page, never to the bare fragment.
    """
    navigation = request.headers.get("sec-fetch-dest", "document") != "empty"
    if request.method in ("GET", "HEAD") and navigation:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    else:
        target = _referring_page(request)
    return HTTPException(303, "sign in first", headers={"Location": login_url(target)})


def _referring_page(request: Request) -> str:
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.netloc != request.url.netloc:
        return "/"
    return safe_next(referer.path + (f"?{referer.query}" if referer.query else ""))


def login_url(next_path: str) -> str:
    return f"{LOGIN_PATH}?next={quote(next_path, safe='')}"


async def signed_in(request: Request, person: Visit) -> Visitor:
    """The visitor, who must be signed in; others are redirected to the login page."""
    if person.user is None:
        raise login_redirect(request)
    return person


SignedIn = Annotated[Visitor, Depends(signed_in)]


def owner_of(person: Visitor) -> uuid.UUID:
    """The signed-in user's id (safe to use after a rollback)."""
    assert person.user_id is not None  # guaranteed by the SignedIn dependency
    return person.user_id


def check_csrf(request: Request, person: Visitor, submitted: object) -> None:
    """Raise :class:`CsrfFailure` unless the form came from our own page in this session."""
    origin = request.headers.get("origin")
    # The host only: behind a TLS-terminating proxy the scheme we see may be http while the
    # browser's is https; another host is what marks a cross-site post.
    if origin and origin != "null" and urlsplit(origin).netloc != request.url.netloc:
        raise CsrfFailure("the form was sent from another site")
    if not isinstance(submitted, str) or not hmac.compare_digest(submitted, person.csrf):
        raise CsrfFailure("the form expired or belongs to another session")


def start_session(response: Response, person: Visitor, token: str, ttl: timedelta) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(ttl.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=person.secure,
        path="/",
    )
    # A fresh pre-session for the next login: the old one's tokens must not outlive this one.
    response.delete_cookie(PRESESSION_COOKIE, path="/ui/")


def end_session(response: Response, person: Visitor) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=person.secure
    )


def safe_next(value: object, default: str = "/") -> str:
    """A same-site path to go to after a form; anything else (another host) becomes default."""
    if not isinstance(value, str) or not value.startswith("/") or value.startswith("//"):
        return default
    if "\\" in value or any(ord(char) < 0x20 for char in value):
        return default
    return value
