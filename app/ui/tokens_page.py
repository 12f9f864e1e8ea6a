"""Personal access tokens in the web UI: make one for a desktop assistant (shown once), see
them, revoke one. The same functions as the API's /me/tokens; every post is CSRF-checked."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request, Response

from app.api.deps import DbSession
from app.mcp_server import tokens
from app.ui.forms import field_text
from app.ui.posting import PostedForm
from app.ui.render import MissingPage, page, see_other
from app.ui.session import SignedIn, Visitor, owner_of

router = APIRouter(prefix="/ui/tokens", include_in_schema=False)


async def _page(
    request: Request, person: Visitor, db: DbSession, *, status: int = 200, **extra: Any
) -> Response:
    rows = await tokens.listed(db, owner_of(person))
    context = {"tokens": rows, "scopes": tokens.SCOPES, "new_token": None, "error": None}
    return page(request, person, "tokens.html", context | extra, status=status)


@router.get("")
async def token_list(request: Request, person: SignedIn, db: DbSession) -> Response:
    return await _page(request, person, db)


@router.post("")
async def token_create(
    request: Request, person: SignedIn, db: DbSession, posted: PostedForm
) -> Response:
    name = field_text(posted, "name").strip()
    scopes = [s for s in tokens.SCOPES if s in posted.getlist("scopes")]
    if not 1 <= len(name) <= 100 or not name.isprintable():
        return await _page(request, person, db, status=422, error="Name it in 1 to 100 characters.")
    if not scopes:
        return await _page(request, person, db, status=422, error="Choose at least one scope.")
    try:
        _, token = await tokens.issue(db, owner_of(person), name, scopes)
    except tokens.TooManyTokens as too_many:
        return await _page(request, person, db, status=409, error=str(too_many))
    await db.commit()
    # Rendered, not redirected: the token is shown this once and never stored in plain text.
    return await _page(request, person, db, new_token=token)


@router.post("/{token_id}/revoke")
async def token_revoke(
    request: Request, token_id: uuid.UUID, person: SignedIn, db: DbSession, posted: PostedForm
) -> Response:
    if not await tokens.revoke(db, owner_of(person), token_id):
        raise MissingPage(person)
    await db.commit()
    return see_other("/ui/tokens")
