"""A reminder reaches a closed tab by Web Push, end to end in headless Chromium.

Real: the UI's "Enable push" (notification permission, the service worker's registration, the
subscription posted with the CSRF token), the API validating and storing it, the reminder
fired by the notifier process from PostgreSQL, ``reminder.due`` through the relay and Kafka,
the push channel encrypting (RFC 8291) and signing (RFC 8292), the push service stand-in
(devtools/testkit/push_service.py) verifying the signature and decrypting the payload over
HTTP, and the service worker showing the notification with the page closed.

Driven, because Chromium's push service is Google's FCM, which no local server can be:
``PushManager.subscribe`` answers with the stand-in's subscription (this test plays the user
agent's key store), and the payload the stand-in decrypted is handed to the service worker
with the DevTools protocol's ``ServiceWorker.deliverPushMessage`` (what FCM's connection would
deliver). A headless Chromium's own ``subscribe`` hangs trying to reach FCM (checked while
writing this test).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, CDPSession, Page, expect

from app.core import vapid
from devtools.api_server import ApiServer
from devtools.kafka import KafkaBroker
from devtools.testkit.events_support import ServiceProcess
from devtools.testkit.push_service import BrowserSubscription, PushedMessage, PushService
from devtools.testkit.workers_support import eventually
from tests.ui.browser_support import (
    ARTIFACTS,
    EVENTUAL_MS,
    ZONE,
    Person,
    running_services,
)

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]

PRIVATE, PUBLIC = vapid.generate()
SERVICES: Final = ("relay", "notifier")
LOOPBACK_ALLOWED: Final = {"ALLOW_LOOPBACK_TARGETS": "true"}
# Stands in for the browser's own PushManager (see the module docstring): the subscription
# comes from the stand-in push service, made for the page's applicationServerKey; the browser
# keeps it (localStorage, per origin like the real one) until it unsubscribes, which the push
# service is told, as FCM would be.
SUBSCRIBE_THROUGH_STAND_IN: Final = """
const KEPT = "standInSubscription";
function standIn(json) {
  return {
    endpoint: json.endpoint,
    toJSON: () => json,
    unsubscribe: async () => {
      localStorage.removeItem(KEPT);
      await window.standInUnsubscribe(json.endpoint);
      return true;
    },
  };
}
PushManager.prototype.subscribe = async function (options) {
  const bytes = new Uint8Array(options.applicationServerKey);
  const key = btoa(String.fromCharCode(...bytes))
    .replace(/\\+/g, "-").replace(/\\//g, "_").replace(/=+$/, "");
  const json = await window.standInSubscribe(key);
  localStorage.setItem(KEPT, JSON.stringify(json));
  return standIn(json);
};
PushManager.prototype.getSubscription = async function () {
  const kept = localStorage.getItem(KEPT);
  return kept === null ? null : standIn(JSON.parse(kept));
};
"""
UNLABELLED: Final = """
() => Array.from(document.querySelectorAll("input:not([type=hidden]), select, textarea"))
    .filter((control) => control.labels.length === 0 && !control.getAttribute("aria-label"))
    .map((control) => control.name || control.id)
"""
SHOWN_NOTIFICATIONS: Final = """
async () => {
  const registration = await navigator.serviceWorker.getRegistration("/ui/static/");
  const shown = registration ? await registration.getNotifications() : [];
  return shown.map((n) => ({ title: n.title, tag: n.tag, data: n.data }));
}
"""


@pytest.fixture(scope="module")
def api_env() -> dict[str, str]:
    return {"VAPID_PUBLIC_KEY": PUBLIC, **LOOPBACK_ALLOWED}


@pytest.fixture(scope="module")
async def push_service() -> AsyncIterator[PushService]:
    async with PushService() as service:
        yield service


# Every test here needs the workers: they start before the browser and stop after it.
@pytest.fixture(scope="module", autouse=True)
async def services(
    api: ApiServer, broker: KafkaBroker, log_dir: Path
) -> AsyncIterator[dict[str, ServiceProcess]]:
    notifier_env = {
        "NOTIFIER_CHANNELS": "log,push",
        "VAPID_PRIVATE_KEY": PRIVATE,
        "VAPID_SUBJECT": "mailto:ops@example.com",
        **LOOPBACK_ALLOWED,
    }
    async with running_services(
        SERVICES, api, broker, log_dir, env={"notifier": notifier_env}
    ) as running:
        yield running


@pytest.fixture
async def context(
    browser: Browser, api: ApiServer, push_service: PushService
) -> AsyncIterator[BrowserContext]:
    context = await browser.new_context(timezone_id=ZONE, locale="en-GB")
    context.set_default_timeout(15_000)
    await context.grant_permissions(["notifications"], origin=api.url)

    def subscribe(application_server_key: str) -> dict[str, Any]:
        return push_service.subscribe(application_server_key).to_json()

    def unsubscribe(endpoint: str) -> None:
        [gone] = [s for s in push_service.subscriptions.values() if s.endpoint == endpoint]
        gone.expired = True

    await context.expose_function("standInSubscribe", subscribe)
    await context.expose_function("standInUnsubscribe", unsubscribe)
    await context.add_init_script(SUBSCRIBE_THROUGH_STAND_IN)
    try:
        yield context
    finally:
        await context.close()


async def _registrations(context: BrowserContext) -> tuple[CDPSession, dict[str, str]]:
    """A DevTools session on a blank tab of the context (the browser, not the app's page: it
    outlives the app's tab) and its service-worker registrations, scope → id, kept current."""
    holder = await context.new_page()
    cdp = await context.new_cdp_session(holder)
    registrations: dict[str, str] = {}

    def updated(event: dict[str, Any]) -> None:
        for registration in event["registrations"]:
            registrations[registration["scopeURL"]] = registration["registrationId"]

    cdp.on("ServiceWorker.workerRegistrationUpdated", updated)
    await cdp.send("ServiceWorker.enable")
    return cdp, registrations


async def _signed_up(context: BrowserContext, api: ApiServer) -> tuple[Page, Person]:
    """A new tab of a new user, signed up through the UI."""
    page = await context.new_page()
    person = Person(api, page)
    await person.sign_up()
    return page, person


async def _enable_push(page: Page, push_service: PushService) -> BrowserSubscription:
    """Subscribe this browser through the UI; the subscription the push service made for it."""
    before = set(push_service.subscriptions)
    await page.get_by_role("link", name="Notifications").click()
    await expect(page.get_by_role("heading", name="Notifications", level=1)).to_be_visible()
    await page.get_by_role("button", name="Enable push on this browser").click()
    await expect(page.locator(".subscriptions li")).to_have_count(1)
    host = push_service.url.removeprefix("http://")
    await expect(page.locator(".subscriptions .endpoint-host")).to_have_text(host)
    [made] = set(push_service.subscriptions) - before
    return push_service.subscriptions[made]


async def _task_with_reminder_in(person: Person, seconds: float, title: str) -> dict[str, Any]:
    now = datetime.now(UTC)
    body = {
        "title": title,
        "due_date": (now + timedelta(hours=1)).isoformat(),
        "reminders": [{"at": (now + timedelta(seconds=seconds)).isoformat()}],
    }
    async with httpx.AsyncClient(base_url=person.url, headers=await person.bearer()) as client:
        created = await client.post("/tasks", json=body)
    assert created.status_code == 201, created.text
    return created.json()


async def _shown(context: BrowserContext, url: str, tag: str) -> dict[str, Any]:
    """The notification tagged ``tag`` the service worker showed, read from a fresh tab."""
    page = await context.new_page()
    await page.goto(f"{url}/ui/notifications")
    found: list[dict[str, Any]] = []

    async def shown() -> bool:
        found[:] = [n for n in await page.evaluate(SHOWN_NOTIFICATIONS) if n["tag"] == tag]
        return bool(found)

    await eventually(shown, within=EVENTUAL_MS / 1000, what=f"notification {tag} shown")
    await page.close()
    return found[0]


async def test_a_reminder_reaches_the_service_worker_with_the_page_closed(
    context: BrowserContext, api: ApiServer, push_service: PushService
) -> None:
    arrived: asyncio.Queue[PushedMessage] = asyncio.Queue()
    push_service.on_message = arrived.put_nowait
    cdp, registrations = await _registrations(context)
    page = await context.new_page()
    person = Person(api, page)
    await person.sign_up()
    subscription = await _enable_push(page, push_service)
    scope = f"{api.url}/ui/static/"
    await eventually(lambda: scope in registrations, within=10, what="service worker registered")

    task = await _task_with_reminder_in(person, 4, "Call the plumber")
    await page.close()  # no tab of the app is open from here on

    message = await asyncio.wait_for(arrived.get(), timeout=EVENTUAL_MS / 1000)
    received = message.json()
    assert message.subscription_id == subscription.id
    assert received["task_id"] == task["id"]
    assert received["title"] == "Call the plumber"
    assert received["reminder_id"] == task["reminders"][0]["id"]
    # What FCM's connection would do next: hand the message to the browser's service worker.
    await cdp.send(
        "ServiceWorker.deliverPushMessage",
        {
            "origin": api.url,
            "registrationId": registrations[scope],
            "data": message.payload.decode(),
        },
    )

    notification = await _shown(context, api.url, received["reminder_id"])
    assert notification["title"] == "Reminder: Call the plumber"
    assert notification["data"]["task_id"] == task["id"]
    remind_at = datetime.fromisoformat(received["remind_at"]).timestamp()
    figures = {
        "due_to_push_service_s": round(message.received_at - remind_at, 3),
        "due_to_notification_shown_s": round(
            notification["data"]["shown_at"] / 1000 - remind_at, 3
        ),
    }
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "push-latency.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(f"push delivery latency: {figures}")


async def test_a_browser_the_push_service_reports_gone_is_removed(
    context: BrowserContext, api: ApiServer, push_service: PushService
) -> None:
    page, person = await _signed_up(context, api)
    subscription = await _enable_push(page, push_service)
    subscription.expired = True  # the browser unsubscribed, or the push service dropped it
    gone_before = push_service.gone_answers

    await _task_with_reminder_in(person, 2, "Sweep the yard")

    async with httpx.AsyncClient(base_url=person.url, headers=await person.bearer()) as client:

        async def removed() -> bool:
            listed = await client.get("/me/push-subscriptions")
            return listed.status_code == 200 and listed.json() == []

        await eventually(removed, within=EVENTUAL_MS / 1000, what="the gone subscription removed")
    assert push_service.gone_answers == gone_before + 1
    await page.reload()
    await expect(page.get_by_text("No browser subscribed yet.")).to_be_visible()
    assert await page.evaluate(UNLABELLED) == []


async def test_disable_push_unsubscribes_this_browser_and_forgets_only_its_endpoint(
    context: BrowserContext, api: ApiServer, push_service: PushService
) -> None:
    page, person = await _signed_up(context, api)
    disable = page.get_by_role("button", name="Disable push on this browser")
    await page.goto(f"{api.url}/ui/notifications")
    await expect(disable).to_be_hidden()  # nothing to disable yet
    this_browser = await _enable_push(page, push_service)
    other_browser = push_service.subscribe(PUBLIC)
    async with httpx.AsyncClient(base_url=person.url, headers=await person.bearer()) as client:
        added = await client.post("/me/push-subscriptions", json=other_browser.to_json())
        assert added.status_code == 201, added.text
        await page.reload()
        await expect(page.locator(".subscriptions li")).to_have_count(2)

        await disable.click()
        await expect(page.locator(".subscriptions li")).to_have_count(1)
        await expect(disable).to_be_hidden()
        listed = await client.get("/me/push-subscriptions")
    assert [s["endpoint"] for s in listed.json()] == [other_browser.endpoint]
    assert this_browser.expired  # the browser told its push service
    assert not other_browser.expired
    assert (
        await page.evaluate(
            "navigator.serviceWorker.getRegistration('/ui/static/')"
            ".then((r) => r.pushManager.getSubscription())"
        )
        is None
    )
    assert await page.evaluate(UNLABELLED) == []
