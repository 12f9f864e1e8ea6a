"""Driving the UI in Debian's headless Chromium with Playwright: shared by the browser tests.

Never a downloaded browser: Playwright launches ``/usr/bin/chromium``. When it cannot start,
the tests fail if ``CI`` is set (with the reason) and are skipped otherwise.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Final, NoReturn, Protocol

import httpx
import pytest
from playwright.async_api import (
    Browser,
    Error,
    Locator,
    Page,
    ViewportSize,
    async_playwright,
    expect,
)

from app.core.processes import TOPICS
from devtools.api_server import ApiServer
from devtools.chromium import CHROMIUM, CHROMIUM_ARGS
from devtools.kafka import KafkaBroker
from devtools.process import ComponentError
from devtools.testkit.events_support import ServiceProcess, WorkerSite
from tests.fixtures.components import ci_enabled

ZONE: Final = "Europe/Berlin"
ARTIFACTS: Final = Path(__file__).resolve().parents[2] / "artifacts"
# Events cross processes (and Kafka): generous deadlines, met in well under a second normally.
EVENTUAL_MS: Final = 60_000


def unavailable(component: str, error: Exception) -> NoReturn:
    message = f"{component} could not start: {error}"
    if ci_enabled():
        pytest.fail(f"{message} (CI is set: failing)", pytrace=False)
    pytest.skip(message)


@contextmanager
def own_kafka(log_dir: Path) -> Iterator[KafkaBroker]:
    """A broker for one test module, with the platform's topics. A module's own because the
    services' consumer groups have fixed names: on a shared broker they would pick up other
    tests' events (for tasks that are not in this database) and leave offsets behind."""
    kafka = KafkaBroker(log_dir=log_dir)
    try:
        kafka.start()
        kafka.create_topics(TOPICS)
    except ComponentError as error:
        kafka.close()
        unavailable("Kafka", error)
    try:
        yield kafka
    finally:
        kafka.close()


@asynccontextmanager
async def running_services(
    names: tuple[str, ...],
    api: ApiServer,
    broker: KafkaBroker,
    log_dir: Path,
    env: Mapping[str, Mapping[str, str]] | None = None,
) -> AsyncIterator[dict[str, ServiceProcess]]:
    """The worker services ``names`` as processes on the API's database, each ready; ``env``
    holds a service's extra environment by name."""
    site = WorkerSite(api.database_url, broker.bootstrap, log_dir)
    running = {name: site.worker(name, env=(env or {}).get(name)) for name in names}
    try:
        await asyncio.gather(*(service.start(within=90) for service in running.values()))
        yield running
    finally:
        for service in running.values():
            service.stop()


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        try:
            browser = await playwright.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=60_000
            )
        except Error as error:
            unavailable(f"Chromium ({CHROMIUM})", error)
        try:
            yield browser
        finally:
            await browser.close()


class Server(Protocol):
    @property
    def url(self) -> str: ...


class Person:
    """One account, signed up through the UI, in its own browser context."""

    def __init__(self, server: Server, page: Page) -> None:
        self.url = server.url
        self.page = page
        self.email = f"browser-{uuid.uuid4().hex[:10]}@example.com"
        self.password = secrets.token_urlsafe(12)

    async def sign_up(self) -> None:
        page = self.page
        await page.goto(f"{self.url}/")
        await expect(page).to_have_url(re.compile(r"/ui/login\?next=%2F$"))
        await page.get_by_role("link", name="Sign up").click()
        await page.get_by_label("Email").fill(self.email)
        await page.get_by_label("Password").fill(self.password)
        await page.get_by_role("button", name="Create account").click()
        await expect(page.get_by_role("heading", name="Your tasks")).to_be_visible()
        await expect(page.locator("#viewer-timezone")).to_have_text(ZONE)

    async def bearer(self) -> dict[str, str]:
        """An API token for the same account, as another client (a phone, a script) has."""
        async with httpx.AsyncClient(base_url=self.url) as client:
            response = await client.post(
                "/auth/token", data={"username": self.email, "password": self.password}
            )
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}


DESKTOP: Final = ViewportSize(width=1100, height=900)
PHONE: Final = ViewportSize(width=390, height=844)


@asynccontextmanager
async def signed_up(
    browser: Browser, server: Server, viewport: ViewportSize = DESKTOP
) -> AsyncIterator[Person]:
    context = await browser.new_context(
        timezone_id=ZONE, locale="en-GB", viewport=viewport, is_mobile=viewport == PHONE
    )
    context.set_default_timeout(15_000)
    try:
        person = Person(server, await context.new_page())
        await person.sign_up()
        yield person
    finally:
        await context.close()


def group(page: Page, key: str) -> Locator:
    return page.locator(f'section[data-group="{key}"]')


def task_item(page: Page, key: str, title: str, due: str) -> Locator:
    """The task titled ``title`` due ``due`` (as shown) in group ``key``."""
    return (
        group(page, key)
        .locator("li.task")
        .filter(has=page.locator(".task-title", has_text=re.compile(f"^{re.escape(title)}$")))
        .filter(has=page.locator("time", has_text=due))
    )


async def live(page: Page) -> None:
    """Wait until the page's event stream is connected (notices sent before would be missed)."""
    await expect(page.locator("body")).to_have_attribute("data-live", "connected")


async def fill_weekly_task(page: Page, title: str) -> None:
    """The form of a task due Mon 3 Mar 2031 09:00, weekly on Mon and Thu, two reminders."""
    await page.get_by_label("Title").fill(title)
    await page.get_by_label("Priority").select_option("high")
    await page.get_by_label("Tags").fill("home, garden")
    await page.get_by_label("Date and time").fill("2031-03-03T09:00")
    await expect(page.get_by_label("Time zone")).to_have_value(ZONE)
    await page.get_by_label("Repeats", exact=True).select_option("weekly")
    await page.get_by_label("Monday").check()
    await page.get_by_label("Thursday").check()
    await page.get_by_label("Reminder 1", exact=True).fill("30")
    await page.get_by_label("Unit of reminder 1").select_option("minutes")
    await page.get_by_label("Reminder 2", exact=True).fill("1")
    await page.get_by_label("Unit of reminder 2").select_option("days")


async def create_and_complete_weekly(person: Person) -> None:
    """Create the weekly task through the form, complete it, and see the next occurrence
    (created by the recurring service from the event) appear without a reload."""
    page = person.page
    await page.get_by_role("link", name="New task").first.click()
    await fill_weekly_task(page, "Water the plants")
    await page.get_by_role("button", name="Create task").click()

    await expect(page.get_by_role("status").filter(has_text="Task created.")).to_be_visible()
    first = task_item(page, "upcoming", "Water the plants", "Mon 3 Mar 2031, 09:00")
    await expect(first).to_have_count(1)
    await expect(first.locator('[data-marker="recurring"]')).to_have_text(
        "Repeats weekly on Mon, Thu"
    )
    await expect(first.locator('[data-marker="reminder"]')).to_have_text(
        "2 reminders pending, next Sun 2 Mar 2031, 09:00"
    )
    await expect(group(page, "upcoming").locator("li.task")).to_have_count(1)

    await first.get_by_role("button", name="Complete “Water the plants”").click()
    await expect(page.get_by_role("status").filter(has_text="Task completed.")).to_be_visible()
    await expect(
        task_item(page, "completed", "Water the plants", "Mon 3 Mar 2031, 09:00")
    ).to_have_count(1)
    await live(page)
    following = task_item(page, "upcoming", "Water the plants", "Thu 6 Mar 2031, 09:00")
    await expect(following).to_have_count(1, timeout=EVENTUAL_MS)
    await expect(following.locator('[data-marker="recurring"]')).to_have_text(
        "Repeats weekly on Mon, Thu"
    )
    await expect(group(page, "upcoming").locator("li.task")).to_have_count(1)


async def api_change_reaches_another_tab(person: Person) -> None:
    """Create, rename and delete a task through the REST API; a second tab follows each
    change without reloading."""
    first, second = person.page, await person.page.context.new_page()
    await second.goto(f"{person.url}/")
    await live(first)
    await live(second)
    # Set on the page itself: a reload would lose it.
    await second.evaluate("window.__loadedOnce = true")

    headers = await person.bearer()
    async with httpx.AsyncClient(base_url=person.url, headers=headers) as client:
        created = await client.post(
            "/tasks",
            json={"title": "Made elsewhere", "due_date": "2031-05-01T07:00:00Z", "priority": "low"},
        )
        assert created.status_code == 201, created.text
        for page in (first, second):
            await expect(
                task_item(page, "upcoming", "Made elsewhere", "Thu 1 May 2031, 09:00")
            ).to_have_count(1, timeout=EVENTUAL_MS)

        task_id = created.json()["id"]
        renamed = await client.patch(f"/tasks/{task_id}", json={"title": "Renamed elsewhere"})
        assert renamed.status_code == 200, renamed.text
        await expect(
            task_item(second, "upcoming", "Renamed elsewhere", "Thu 1 May 2031, 09:00")
        ).to_have_count(1, timeout=EVENTUAL_MS)

        deleted = await client.delete(f"/tasks/{task_id}")
        assert deleted.status_code == 204
        await expect(second.locator(".task-title")).to_have_count(0, timeout=EVENTUAL_MS)
    assert await second.evaluate("window.__loadedOnce") is True
