"""The notifications page without a browser (SQLite and PostgreSQL): preferences saved with the
webhook's secret shown to its owner only, a subscription posted the way the page's script
posts it, a refused webhook or subscription naming why and writing nothing, forged posts
refused, and one user's subscriptions invisible to and irremovable by another."""

from __future__ import annotations

import secrets

from sqlalchemy import select

from app.core.db.notification_models import NotificationPreference, PushSubscription
from tests.notifications.support import browser_keys, notification_rows
from tests.ui.conftest import Browserless, Ui

PAGE = "/ui/notifications"


async def test_preferences_are_saved_and_the_secret_shown_to_its_owner_only(
    ui: Ui, person: Browserless
) -> None:
    saved = await person.post(
        PAGE, {"email": "on", "webhook_url": "https://hooks.example.com/mine"}, form_page=PAGE
    )
    assert saved.status_code == 303
    page = (await person.client.get(PAGE)).text
    assert 'id="pref-push" ' in page
    assert 'id="pref-push" checked' not in page  # unticked box: push off
    assert 'id="pref-email" checked' in page
    assert 'value="https://hooks.example.com/mine"' in page
    async with ui.sessions() as session:
        row = await session.scalar(select(NotificationPreference))
        secret_rows = await session.scalars(select(NotificationPreference.webhook_secret))
        owner_secrets = [value for value in secret_rows if value and value in page]
    assert row is not None
    assert len(owner_secrets) == 1
    other = await ui.signed_up()
    assert owner_secrets[0] not in (await other.client.get(PAGE)).text


async def test_a_refused_webhook_says_why_and_writes_nothing(ui: Ui, person: Browserless) -> None:
    before = await notification_rows(ui.sessions)
    refused = await person.post(
        PAGE, {"push": "on", "webhook_url": "https://169.254.169.254/latest"}, form_page=PAGE
    )
    assert refused.status_code == 422
    assert "the URL&#39;s address is not a public one." in refused.text
    assert 'value="https://169.254.169.254/latest"' in refused.text  # kept to be corrected
    forged = await person.client.post(PAGE, data={"push": "on", "csrf_token": "forged"})
    assert forged.status_code == 403
    assert await notification_rows(ui.sessions) == before


async def test_a_browser_subscribes_and_only_its_owner_can_remove_it(
    ui: Ui, person: Browserless
) -> None:
    endpoint = "https://fcm.googleapis.com/fcm/send/" + secrets.token_urlsafe(12)
    added = await person.post(
        f"{PAGE}/subscriptions", {"endpoint": endpoint, **browser_keys()}, form_page=PAGE
    )
    assert added.status_code == 303
    page = (await person.client.get(PAGE)).text
    assert '<span class="endpoint-host">fcm.googleapis.com</span>' in page
    async with ui.sessions() as session:
        row = await session.scalar(
            select(PushSubscription).where(PushSubscription.endpoint == endpoint)
        )
    assert row is not None

    other = await ui.signed_up()
    assert "fcm.googleapis.com</span>" not in (await other.client.get(PAGE)).text
    stolen = await other.post(f"{PAGE}/subscriptions/{row.id}/remove", {}, form_page=PAGE)
    assert stolen.status_code == 404
    removed = await person.post(f"{PAGE}/subscriptions/{row.id}/remove", {}, form_page=PAGE)
    assert removed.status_code == 303
    assert "No browser subscribed yet." in (await person.client.get(PAGE)).text


async def test_this_browser_s_endpoint_is_forgotten_for_its_owner_only(
    ui: Ui, person: Browserless
) -> None:
    endpoint = "https://fcm.googleapis.com/fcm/send/" + secrets.token_urlsafe(12)
    fields = {"endpoint": endpoint, **browser_keys()}
    assert (await person.post(f"{PAGE}/subscriptions", fields, form_page=PAGE)).status_code == 303
    other = await ui.signed_up()
    assert (await other.post(f"{PAGE}/subscriptions", fields, form_page=PAGE)).status_code == 303
    before = await notification_rows(ui.sessions)
    by_endpoint = f"{PAGE}/subscriptions/remove-this-browser"

    forged = await person.client.post(by_endpoint, data={"endpoint": endpoint, "csrf_token": "x"})
    assert forged.status_code == 403
    assert await notification_rows(ui.sessions) == before

    removed = await person.post(by_endpoint, {"endpoint": endpoint}, form_page=PAGE)
    assert removed.status_code == 303
    assert "No browser subscribed yet." in (await person.client.get(PAGE)).text
    # The same endpoint subscribed by another account (a shared browser) stays theirs.
    assert "fcm.googleapis.com</span>" in (await other.client.get(PAGE)).text
    # Nothing stored for it (already gone, or a NUL no endpoint has) is no error.
    again = await person.post(by_endpoint, {"endpoint": endpoint + "\x00"}, form_page=PAGE)
    assert again.status_code == 303


async def test_a_refused_subscription_says_why_and_writes_nothing(
    ui: Ui, person: Browserless
) -> None:
    before = await notification_rows(ui.sessions)
    refused = await person.post(
        f"{PAGE}/subscriptions",
        {"endpoint": "http://127.0.0.1:9/push", **browser_keys()},
        form_page=PAGE,
    )
    assert refused.status_code == 422
    assert (
        "This browser&#39;s subscription was refused (endpoint: the URL must start with https://)."
        in refused.text
    )
    assert await notification_rows(ui.sessions) == before
