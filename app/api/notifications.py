"""A user's notification channels over the API: preferences (push, e-mail, their own webhook),
their browsers' Web Push subscriptions, and the VAPID public key browsers subscribe with.
Everything is the caller's own: another user's subscription is a 404 like a missing one."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from app.api.deps import CurrentUser, DbSession, State
from app.api.problems import Problem, documented, invalid, not_found
from app.core.db.notification_models import PushSubscription
from app.notifications import preferences, subscriptions

router = APIRouter(tags=["notifications"], responses=documented(401, 422))

Url = Annotated[str, Field(min_length=1, max_length=2048)]
Key = Annotated[str, Field(min_length=1, max_length=200)]


class PreferencesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    push: bool = True
    email: bool = Field(True, description="e-mail reminders, sent only to a verified address")
    webhook_url: Url | None = Field(
        None, description="https only, a public host; reminders are POSTed there, signed"
    )
    rotate_webhook_secret: bool = False


class PreferencesOut(BaseModel):
    push: bool
    email: bool
    webhook_url: str | None
    webhook_secret: str | None = Field(
        description="HMAC-SHA256 key of your webhook's X-Todo-Signature (yours alone)"
    )


class SubscriptionKeys(BaseModel):
    model_config = ConfigDict(extra="forbid")

    p256dh: Key
    auth: Key


class SubscriptionIn(BaseModel):
    """The browser's ``PushSubscription.toJSON()``."""

    model_config = ConfigDict(extra="ignore")  # expirationTime and future fields

    endpoint: Url
    keys: SubscriptionKeys


class SubscriptionOut(BaseModel):
    id: uuid.UUID
    endpoint: str
    created_at: datetime


class PushKeyOut(BaseModel):
    public_key: str = Field(description="the VAPID public key: the applicationServerKey")


def _out(chosen: preferences.Preferences) -> PreferencesOut:
    return PreferencesOut(
        push=chosen.push,
        email=chosen.email,
        webhook_url=chosen.webhook_url,
        webhook_secret=chosen.webhook_secret,
    )


def _subscription(row: PushSubscription) -> SubscriptionOut:
    return SubscriptionOut(id=row.id, endpoint=row.endpoint, created_at=row.created_at)


@router.get("/push/public-key", response_model=PushKeyOut, responses=documented(404))
async def push_public_key(app_state: State) -> PushKeyOut:
    key = app_state.settings.vapid_public_key
    if key is None:
        raise Problem(404, "Not found", "Web Push is not configured on this server")
    return PushKeyOut(public_key=key)


@router.get("/me/notifications", response_model=PreferencesOut)
async def get_preferences(user: CurrentUser, db: DbSession) -> PreferencesOut:
    return _out(await preferences.of_user(db, user.id))


@router.put("/me/notifications", response_model=PreferencesOut)
async def put_preferences(
    body: PreferencesIn, user: CurrentUser, db: DbSession, app_state: State
) -> PreferencesOut:
    try:
        chosen = await preferences.update(
            db,
            user.id,
            push=body.push,
            email=body.email,
            webhook_url=body.webhook_url,
            rotate_secret=body.rotate_webhook_secret,
            allow_loopback=app_state.settings.allow_loopback_targets,
        )
    except preferences.PreferenceRefused as refused:
        raise invalid(refused.field, str(refused)) from None
    await db.commit()
    return _out(chosen)


@router.post(
    "/me/push-subscriptions",
    status_code=201,
    response_model=SubscriptionOut,
    responses=documented(409),
)
async def add_subscription(
    body: SubscriptionIn, user: CurrentUser, db: DbSession, app_state: State
) -> SubscriptionOut:
    try:
        new = subscriptions.validated(
            body.endpoint,
            body.keys.p256dh,
            body.keys.auth,
            allow_loopback=app_state.settings.allow_loopback_targets,
        )
        row = await subscriptions.subscribe(db, user.id, new)
    except subscriptions.SubscriptionRefused as refused:
        raise invalid(refused.field, str(refused)) from None
    except subscriptions.TooManySubscriptions as too_many:
        raise Problem(409, "Too many subscriptions", str(too_many)) from None
    await db.commit()
    return _subscription(row)


@router.get("/me/push-subscriptions", response_model=list[SubscriptionOut])
async def list_subscriptions(user: CurrentUser, db: DbSession) -> list[SubscriptionOut]:
    return [_subscription(row) for row in await subscriptions.listed(db, user.id)]


@router.delete(
    "/me/push-subscriptions/{subscription_id}", status_code=204, responses=documented(404)
)
async def remove_subscription(
    subscription_id: uuid.UUID, user: CurrentUser, db: DbSession
) -> Response:
    if not await subscriptions.remove(db, user.id, subscription_id):
        raise not_found("subscription")
    await db.commit()
    return Response(status_code=204)


@router.delete("/me/push-subscriptions", status_code=204, responses=documented(404))
async def remove_subscription_of_endpoint(
    endpoint: Annotated[
        str,
        Query(
            min_length=1,
            max_length=2048,
            description="the browser's PushSubscription.endpoint (what a browser that "
            "unsubscribes knows; it has no subscription id)",
        ),
    ],
    user: CurrentUser,
    db: DbSession,
) -> Response:
    if not await subscriptions.remove_endpoint(db, user.id, endpoint):
        raise not_found("subscription")
    await db.commit()
    return Response(status_code=204)
