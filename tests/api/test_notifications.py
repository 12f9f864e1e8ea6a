"""Notification preferences and Web Push subscriptions over the API, on SQLite and PostgreSQL:
defaults, the webhook's secret, the send rule against SSRF, validation that writes nothing,
the per-user bound, and one user never seeing or touching another's."""

from __future__ import annotations

import base64
import secrets
from typing import Any

from app.core import vapid
from app.notifications.subscriptions import MAX_SUBSCRIPTIONS
from tests.api.conftest import Api
from tests.notifications.support import browser_keys, notification_rows

FCM = "https://fcm.googleapis.com/fcm/send/"


def _browser(endpoint: str | None = None) -> dict[str, Any]:
    """A subscription as a browser's PushSubscription.toJSON() gives it."""
    return {
        "endpoint": endpoint or FCM + secrets.token_urlsafe(16),
        "expirationTime": None,
        "keys": browser_keys(),
    }


async def test_preferences_default_then_keep_a_webhook_with_its_own_secret(
    api: Api, user: dict[str, str]
) -> None:
    response = await api.client.get("/me/notifications", headers=user)
    assert response.json() == {
        "push": True,
        "email": True,
        "webhook_url": None,
        "webhook_secret": None,
    }

    hook = "https://hooks.example.com/reminders"
    body = {"push": False, "email": True, "webhook_url": hook}
    first = (await api.client.put("/me/notifications", json=body, headers=user)).json()
    assert first["push"] is False
    assert first["webhook_url"] == hook
    assert len(base64.urlsafe_b64decode(first["webhook_secret"] + "=")) == 32
    again = (await api.client.put("/me/notifications", json=body, headers=user)).json()
    assert again["webhook_secret"] == first["webhook_secret"]  # kept until rotated
    rotated = await api.client.put(
        "/me/notifications", json=body | {"rotate_webhook_secret": True}, headers=user
    )
    assert rotated.json()["webhook_secret"] not in (None, first["webhook_secret"])
    removed = await api.client.put("/me/notifications", json={"webhook_url": None}, headers=user)
    assert removed.json() == {
        "push": True,
        "email": True,
        "webhook_url": None,
        "webhook_secret": None,
    }


async def test_a_private_webhook_is_refused_naming_the_field_and_nothing_changes(
    api: Api, user: dict[str, str]
) -> None:
    saved = {"push": True, "email": False, "webhook_url": "https://hooks.example.com/a"}
    before = (await api.client.put("/me/notifications", json=saved, headers=user)).json()
    for url, reason in [
        ("http://169.254.169.254/latest/meta-data", "the URL must start with https://"),
        ("https://10.1.2.3/hook", "the URL's address is not a public one"),
        ("https://todo-api.todo.svc.cluster.local/tasks", "the URL's host is not a public name"),
        ("https://127.0.0.1:8000/hook", "the URL's address is not a public one"),
    ]:
        response = await api.client.put(
            "/me/notifications", json={"push": False, "webhook_url": url}, headers=user
        )
        assert response.status_code == 422, url
        assert response.json()["errors"] == [{"field": "webhook_url", "message": reason}]
    after = (await api.client.get("/me/notifications", headers=user)).json()
    assert after == before


async def test_another_user_sees_only_their_own_preferences(api: Api) -> None:
    ann, bob = await api.new_user(), await api.new_user()
    body = {"push": True, "email": True, "webhook_url": "https://hooks.example.com/ann"}
    await api.client.put("/me/notifications", json=body, headers=ann)
    bobs = (await api.client.get("/me/notifications", headers=bob)).json()
    assert bobs == {"push": True, "email": True, "webhook_url": None, "webhook_secret": None}


async def test_a_browser_subscribes_once_per_endpoint_and_only_its_owner_sees_or_removes_it(
    api: Api,
) -> None:
    ann, bob = await api.new_user(), await api.new_user()
    browser = _browser()
    first = await api.client.post("/me/push-subscriptions", json=browser, headers=ann)
    assert first.status_code == 201, first.text
    # The same browser again (new keys after a re-subscribe): replaced, not added.
    again = await api.client.post(
        "/me/push-subscriptions", json=_browser(browser["endpoint"]), headers=ann
    )
    assert again.json()["id"] == first.json()["id"]
    listed = (await api.client.get("/me/push-subscriptions", headers=ann)).json()
    assert [(s["id"], s["endpoint"]) for s in listed] == [(first.json()["id"], browser["endpoint"])]

    assert (await api.client.get("/me/push-subscriptions", headers=bob)).json() == []
    path = f"/me/push-subscriptions/{first.json()['id']}"
    assert (await api.client.delete(path, headers=bob)).status_code == 404
    assert (await api.client.delete(path, headers=ann)).status_code == 204
    assert (await api.client.delete(path, headers=ann)).status_code == 404
    assert (await api.client.get("/me/push-subscriptions", headers=ann)).json() == []


async def test_a_browser_that_unsubscribed_removes_its_subscription_by_endpoint(
    api: Api,
) -> None:
    ann, bob = await api.new_user(), await api.new_user()
    phone, laptop = _browser(), _browser()
    for browser in (phone, laptop):
        added = await api.client.post("/me/push-subscriptions", json=browser, headers=ann)
        assert added.status_code == 201, added.text
    by_endpoint = {"endpoint": phone["endpoint"]}

    assert (
        await api.client.delete("/me/push-subscriptions", params=by_endpoint, headers=bob)
    ).status_code == 404
    nul = {"endpoint": phone["endpoint"] + "\x00"}
    assert (
        await api.client.delete("/me/push-subscriptions", params=nul, headers=ann)
    ).status_code == 404
    missing = await api.client.delete("/me/push-subscriptions", headers=ann)
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["field"] == "endpoint"
    assert len((await api.client.get("/me/push-subscriptions", headers=ann)).json()) == 2

    removed = await api.client.delete("/me/push-subscriptions", params=by_endpoint, headers=ann)
    assert removed.status_code == 204
    again = await api.client.delete("/me/push-subscriptions", params=by_endpoint, headers=ann)
    assert again.status_code == 404
    listed = (await api.client.get("/me/push-subscriptions", headers=ann)).json()
    assert [s["endpoint"] for s in listed] == [laptop["endpoint"]]


async def test_bad_subscriptions_are_refused_naming_the_field_and_nothing_is_written(
    api: Api, user: dict[str, str]
) -> None:
    before = await notification_rows(api.sessions)
    good = _browser()
    not_a_point = vapid.b64url(b"\x04" + b"\x01" * 64)
    cases = [
        (
            good | {"endpoint": "http://127.0.0.1:9/push/x"},
            "endpoint",
            "the URL must start with https://",
        ),
        (
            good | {"endpoint": "https://192.168.1.1/push"},
            "endpoint",
            "the URL's address is not a public one",
        ),
        (
            good | {"keys": {"p256dh": not_a_point, "auth": good["keys"]["auth"]}},
            "keys.p256dh",
            "must be an uncompressed P-256 public key, base64url-encoded",
        ),
        (
            good | {"keys": {"p256dh": good["keys"]["p256dh"], "auth": vapid.b64url(b"x" * 15)}},
            "keys.auth",
            "must be 16 bytes, base64url-encoded",
        ),
    ]
    for body, field, message in cases:
        response = await api.client.post("/me/push-subscriptions", json=body, headers=user)
        assert response.status_code == 422, body
        assert response.json()["errors"] == [{"field": field, "message": message}]
    missing_keys = await api.client.post(
        "/me/push-subscriptions", json={"endpoint": good["endpoint"]}, headers=user
    )
    assert missing_keys.status_code == 422
    assert await notification_rows(api.sessions) == before


async def test_subscriptions_per_user_are_bounded(api: Api, user: dict[str, str]) -> None:
    for _ in range(MAX_SUBSCRIPTIONS):
        response = await api.client.post("/me/push-subscriptions", json=_browser(), headers=user)
        assert response.status_code == 201
    over = await api.client.post("/me/push-subscriptions", json=_browser(), headers=user)
    assert over.status_code == 409
    assert over.json()["detail"] == "at most 10 browsers per account; remove one first"
    listed = (await api.client.get("/me/push-subscriptions", headers=user)).json()
    assert len(listed) == MAX_SUBSCRIPTIONS


async def test_without_a_vapid_key_the_server_says_push_is_not_configured(api: Api) -> None:
    response = await api.client.get("/push/public-key")
    assert response.status_code == 404
    assert response.json()["detail"] == "Web Push is not configured on this server"


async def test_every_notification_route_needs_a_token(api: Api) -> None:
    for method, path in [
        ("GET", "/me/notifications"),
        ("PUT", "/me/notifications"),
        ("GET", "/me/push-subscriptions"),
        ("POST", "/me/push-subscriptions"),
    ]:
        response = await api.client.request(method, path, json={})
        assert response.status_code == 401, path
