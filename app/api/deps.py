"""Request-scoped dependencies: settings, a database session, the authenticated user."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.api.problems import Problem
from app.auth.hashing import PasswordHashing
from app.auth.revocation import not_revoked
from app.auth.throttle import LoginThrottle
from app.chat.agent import Agent
from app.core.db.models import User
from app.core.db.probe import DatabaseProbe
from app.core.observability.metrics import DatabaseMetrics, TaskMetrics
from app.core.settings import ApiSettings
from app.security import InvalidToken, read_claims


@dataclass
class AppState:
    """What the app holds for its lifetime; set up in app.main's lifespan."""

    settings: ApiSettings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    throttle: LoginThrottle
    hashing: PasswordHashing
    task_metrics: TaskMetrics
    db_metrics: DatabaseMetrics
    probe: DatabaseProbe
    chat_agent: Agent | None = None  # the chat's AI agent, when a service is configured


async def state(request: Request) -> AppState:
    # async: FastAPI runs plain-def dependencies in a thread pool, a costly hop per request.
    return request.app.state.todo


State = Annotated[AppState, Depends(state)]


async def session(app_state: State) -> AsyncIterator[AsyncSession]:
    async with app_state.sessions() as db_session:
        yield db_session


# Not `Session`: that name is SQLAlchemy's (sync) ORM session.
DbSession = Annotated[AsyncSession, Depends(session)]

_bearer = OAuth2PasswordBearer(tokenUrl="/auth/token", auto_error=False)


def unauthorized(detail: str) -> Problem:
    return Problem(401, "Unauthorized", detail, headers={"WWW-Authenticate": "Bearer"})


@dataclass(frozen=True)
class Caller:
    """The authenticated account. Handlers scope every query by its id."""

    id: uuid.UUID


# A Core statement against the table: checking the account exists needs no ORM instance.
_users = User.__table__


async def current_user(
    request: Request,
    app_state: State,
    db: DbSession,
    token: Annotated[str | None, Depends(_bearer)],
) -> Caller:
    if not token:
        raise unauthorized("missing bearer token")
    try:
        claims = read_claims(token, app_state.settings.jwt_secret.get_secret_value())
    except InvalidToken:
        raise unauthorized("invalid or expired token") from None
    row = (
        await db.execute(
            select(_users.c.id, not_revoked(claims.token_id)).where(_users.c.id == claims.user_id)
        )
    ).first()
    if row is None:
        raise unauthorized("the token's account no longer exists")
    if not row[1]:
        raise unauthorized("the token was revoked (logged out)")
    request.state.token_claims = claims  # what POST /auth/logout revokes
    return Caller(claims.user_id)


CurrentUser = Annotated[Caller, Depends(current_user)]
