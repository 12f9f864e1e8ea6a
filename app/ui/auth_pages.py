"""Sign up, log in and log out. The API's own account routes do the work; this is their HTML."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Request, Response
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import ValidationError
from starlette.datastructures import FormData

from app.api import auth
from app.api.deps import DbSession, State
from app.api.problems import Problem
from app.api.schemas import UserCreate
from app.auth.email_verification import (
    MAX_TOKEN_LENGTH,
    VerificationFailed,
    read_link_token,
    resend,
    verify,
)
from app.auth.revocation import revoke
from app.ui.forms import field_text as text
from app.ui.posting import PostedForm
from app.ui.render import page, see_other
from app.ui.session import (
    SignedIn,
    Visit,
    Visitor,
    end_session,
    owner_of,
    safe_next,
    start_session,
)

router = APIRouter(prefix="/ui", include_in_schema=False)


def _form(
    request: Request,
    person: Visitor,
    template: str,
    *,
    email: str = "",
    next_path: str = "/",
    errors: dict[str, str] | None = None,
) -> Response:
    status = 200 if not errors else (429 if "throttled" in errors else 422)
    context = {"email": email, "next": next_path, "errors": errors or {}}
    return page(request, person, template, context, status=status)


@router.get("/verify-email")
async def verify_email_page(
    request: Request, person: Visit, db: DbSession, app_state: State, token: str = ""
) -> Response:
    """The target of the link e-mailed at sign-up (app/auth/email_verification.py): a page
    for the person who clicked it, signed in or not."""
    try:
        link = read_link_token(
            token[:MAX_TOKEN_LENGTH], app_state.settings.jwt_secret.get_secret_value()
        )
        user = await verify(db, link, datetime.now(UTC))
    except VerificationFailed as failure:
        context = {"verified": False, "problem": str(failure)}
        return page(request, person, "verified.html", context, status=422)
    return page(request, person, "verified.html", {"verified": True, "address": user.email})


@router.post("/verify-email/resend")
async def resend_link(
    request: Request, person: SignedIn, db: DbSession, app_state: State, form: PostedForm
) -> Response:
    resent = await resend(db, owner_of(person), app_state.settings, str(request.base_url))
    return see_other(f"/?notice=link-{resent.outcome}")


@router.get("/login")
async def login_page(request: Request, person: Visit, next: str = "/") -> Response:
    if person.user is not None:
        return see_other(safe_next(next))
    return _form(request, person, "login.html", next_path=safe_next(next))


@router.get("/signup")
async def signup_page(request: Request, person: Visit, next: str = "/") -> Response:
    if person.user is not None:
        return see_other(safe_next(next))
    return _form(request, person, "signup.html", next_path=safe_next(next))


def _credentials(form: FormData) -> tuple[str, str, str, dict[str, str]]:
    """The posted e-mail, password and page to return to, and an error for each one missing."""
    email, password = text(form, "email").strip(), text(form, "password")
    given = {"email": email, "password": password}
    errors = {name: f"enter your {name}" for name, value in given.items() if not value}
    return email, password, safe_next(text(form, "next")), errors


async def _signed_in(
    request: Request, person: Visitor, db: DbSession, app_state: State, email: str, password: str
) -> str:
    """A session token from the API's login route (its throttle and checks included)."""
    form = OAuth2PasswordRequestForm(username=email, password=password)
    issued = await auth.token(request, form, db, app_state)
    return issued.access_token


def _session_response(next_path: str, person: Visitor, token: str, app_state: State) -> Response:
    response = see_other(next_path)
    start_session(response, person, token, timedelta(minutes=app_state.settings.jwt_ttl_minutes))
    return response


@router.post("/login")
async def login(
    request: Request, person: Visit, db: DbSession, app_state: State, form: PostedForm
) -> Response:
    email, password, next_path, errors = _credentials(form)
    if errors:
        return _form(request, person, "login.html", email=email, next_path=next_path, errors=errors)
    try:
        token = await _signed_in(request, person, db, app_state, email, password)
    except Problem as problem:
        if problem.status in (429, 503):
            errors = {"throttled": f"{problem.title}: {problem.detail}."}
        else:
            errors = {"password": "wrong email or password"}
        return _form(request, person, "login.html", email=email, next_path=next_path, errors=errors)
    return _session_response(next_path, person, token, app_state)


@router.post("/signup")
async def signup(
    request: Request, person: Visit, db: DbSession, app_state: State, form: PostedForm
) -> Response:
    email, password, next_path, errors = _credentials(form)
    if not errors:
        try:
            await auth.register(request, UserCreate(email=email, password=password), db, app_state)
        except ValidationError as exc:
            for error in exc.errors():
                name = str(error["loc"][0]) if error["loc"] else "email"
                errors.setdefault(name, error["msg"].removeprefix("Value error, "))
        except Problem as problem:
            if problem.status in (429, 503):
                errors["throttled"] = f"{problem.title}: {problem.detail}."
            else:
                errors["email"] = "an account with this address exists; log in instead"
    if errors:
        return _form(
            request, person, "signup.html", email=email, next_path=next_path, errors=errors
        )
    token = await _signed_in(request, person, db, app_state, email, password)
    return _session_response(next_path, person, token, app_state)


@router.post("/logout")
async def logout(request: Request, person: Visit, db: DbSession, form: PostedForm) -> Response:
    if person.claims is not None:
        await revoke(db, person.claims)  # the cookie's token is refused from now on
    response = see_other("/ui/login")
    end_session(response, person)
    return response
