"""Personal access tokens for the MCP server: make one (shown once), list them, revoke one."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from app.api.deps import CurrentUser, DbSession
from app.api.problems import Problem, documented, not_found
from app.core.db.models import AccessToken
from app.mcp_server import tokens
from app.mcp_server.tokens import Scope

router = APIRouter(prefix="/me/tokens", tags=["access tokens"], responses=documented(401, 422))


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$")]
    scopes: list[Scope] = Field(
        default_factory=lambda: list(tokens.SCOPES), min_length=1, max_length=2
    )


class AccessTokenOut(BaseModel):
    id: uuid.UUID
    name: str
    scopes: list[str]
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class NewTokenOut(AccessTokenOut):
    token: str = Field(description="the token itself: shown this once, stored only as a hash")


def _out(row: AccessToken) -> AccessTokenOut:
    return AccessTokenOut(
        id=row.id,
        name=row.name,
        scopes=list(row.scopes["scopes"]),
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )


@router.post("", status_code=201, response_model=NewTokenOut, responses=documented(409))
async def create_token(body: TokenCreate, user: CurrentUser, db: DbSession) -> NewTokenOut:
    try:
        row, token = await tokens.issue(db, user.id, body.name.strip(), body.scopes)
    except tokens.TooManyTokens as too_many:
        raise Problem(409, "Too many tokens", str(too_many)) from None
    await db.commit()
    return NewTokenOut(**_out(row).model_dump(), token=token)


@router.get("", response_model=list[AccessTokenOut])
async def list_tokens(user: CurrentUser, db: DbSession) -> list[AccessTokenOut]:
    return [_out(row) for row in await tokens.listed(db, user.id)]


@router.delete("/{token_id}", status_code=204, responses=documented(404))
async def revoke_token(token_id: uuid.UUID, user: CurrentUser, db: DbSession) -> Response:
    if not await tokens.revoke(db, user.id, token_id):
        raise not_found("token")
    await db.commit()
    return Response(status_code=204)
