"""Notification settings in the web UI: the channels a user's reminders take (push, e-mail,
their own webhook with its signing secret) and the browsers subscribed to Web Push. The same
functions as the API's /me/notifications and /me/push-subscriptions; every post is
CSRF-checked, and a refused value changes nothing."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request, Response

from app.api.deps import DbSession, State
from app.notifications import preferences, subscriptions
from app.ui.forms import field_text
from app.ui.posting import PostedForm
from app.ui.render import MissingPage, page, see_other
from app.ui.session import SignedIn, Visitor, owner_of

router = APIRouter(prefix="/ui/notifications", include_in_schema=False)


async def _page(
    request: Request,
    person: Visitor,
    db: DbSession,
    app_state: State,
    *,
    status: int = 200,
    **extra: Any,
) -> Response:
    owner = owner_of(person)
    context = {
        "chosen": await preferences.of_user(db, owner),
        "subscriptions": await subscriptions.listed(db, owner),
        "vapid_public_key": app_state.settings.vapid_public_key,
        "max_subscriptions": subscriptions.MAX_SUBSCRIPTIONS,
        "errors": {},
        "typed_webhook": None,
    }
    return page(request, person, "notifications.html", context | extra, status=status)


@router.get("")
async def settings_page(
    request: Request, person: SignedIn, db: DbSession, app_state: State
) -> Response:
    return await _page(request, person, db, app_state)


@router.post("")
async def settings_post(
    request: Request, person: SignedIn, db: DbSession, app_state: State, posted: PostedForm
) -> Response:
    webhook_url = field_text(posted, "webhook_url").strip() or None
    try:
        await preferences.update(
            db,
            owner_of(person),
            push=posted.get("push") == "on",
            email=posted.get("email") == "on",
            webhook_url=webhook_url,
            rotate_secret=posted.get("rotate_webhook_secret") == "on",
            allow_loopback=app_state.settings.allow_loopback_targets,
        )
    except preferences.PreferenceRefused as refused:
        errors = {refused.field: f"{refused}."}
        return await _page(
            request, person, db, app_state, status=422, errors=errors, typed_webhook=webhook_url
        )
    await db.commit()
    return see_other("/ui/notifications")


@router.post("/subscriptions")
async def subscription_add(
    request: Request, person: SignedIn, db: DbSession, app_state: State, posted: PostedForm
) -> Response:
    """Posted by the page's script with the browser's PushSubscription (a form, for CSRF)."""
    try:
        new = subscriptions.validated(
            field_text(posted, "endpoint"),
            field_text(posted, "p256dh"),
            field_text(posted, "auth"),
            allow_loopback=app_state.settings.allow_loopback_targets,
        )
        await subscriptions.subscribe(db, owner_of(person), new)
    except subscriptions.SubscriptionRefused as refused:
        errors = {"push": f"This browser's subscription was refused ({refused.field}: {refused})."}
        return await _page(request, person, db, app_state, status=422, errors=errors)
    except subscriptions.TooManySubscriptions as too_many:
        errors = {"push": f"{too_many}."}
        return await _page(request, person, db, app_state, status=409, errors=errors)
    await db.commit()
    return see_other("/ui/notifications")


@router.post("/subscriptions/{subscription_id}/remove")
async def subscription_remove(
    request: Request,
    subscription_id: uuid.UUID,
    person: SignedIn,
    db: DbSession,
    posted: PostedForm,
) -> Response:
    if not await subscriptions.remove(db, owner_of(person), subscription_id):
        raise MissingPage(person)
    await db.commit()
    return see_other("/ui/notifications")


@router.post("/subscriptions/remove-this-browser")
async def subscription_of_this_browser_remove(
    person: SignedIn, db: DbSession, posted: PostedForm
) -> Response:
    """Posted by the page's script after the browser unsubscribed: the server forgets the
    endpoint too (none stored, e.g. already reported gone, is no error: nothing to forget)."""
    await subscriptions.remove_endpoint(db, owner_of(person), field_text(posted, "endpoint"))
    await db.commit()
    return see_other("/ui/notifications")
