"""Request-scoped dependencies: settings, a database session, the authenticated user."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.api.problems import Problem
from app.db.models import User
from app.observability.metrics import DatabaseMetrics, TaskMetrics
from app.security import InvalidToken, LoginThrottle, read_token
from app.settings import ApiSettings


@dataclass
class AppState:
    """What the app holds for its lifetime; set up in app.main's lifespan."""

    settings: ApiSettings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    throttle: LoginThrottle
    task_metrics: TaskMetrics
    db_metrics: DatabaseMetrics


async def state(request: Request) -> AppState:
    # async: FastAPI runs plain-def dependencies in a thread pool, a costly hop per request.
    return request.app.state.todo


State = Annotated[AppState, Depends(state)]


async def session(app_state: State) -> AsyncIterator[AsyncSession]:
    async with app_state.sessions() as db_session:
        yield db_session


Session = Annotated[AsyncSession, Depends(session)]

_bearer = OAuth2PasswordBearer(tokenUrl="/auth/token", auto_error=False)


def _unauthorized(detail: str) -> Problem:
    return Problem(401, "Unauthorized", detail, headers={"WWW-Authenticate": "Bearer"})


async def current_user(
    app_state: State, db: Session, token: Annotated[str | None, Depends(_bearer)]
) -> User:
    if not token:
        raise _unauthorized("missing bearer token")
    try:
        user_id = read_token(token, app_state.settings.jwt_secret.get_secret_value())
    except InvalidToken:
        raise _unauthorized("invalid or expired token") from None
    user = await db.get(User, user_id)
    if user is None:
        raise _unauthorized("the token's account no longer exists")
    return user


CurrentUser = Annotated[User, Depends(current_user)]
