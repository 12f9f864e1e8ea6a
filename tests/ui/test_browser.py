"""The web UI in a real browser (Debian's headless Chromium, driven by Playwright) against the
running platform: the API process, the outbox relay, the recurring, audit and notifier services,
on the session's PostgreSQL and a Kafka broker of this module's own.

The broker is this module's alone because the services' consumer groups have fixed names: on a
shared broker they would pick up other tests' events (for tasks that are not in this database)
and leave offsets behind for them.

A screenshot of the task list is saved under ``artifacts/`` (gitignored) for the README.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final, NoReturn
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.async_api import Browser, Error, Locator, Page, async_playwright, expect

from app.events.topics import TOPICS
from devtools.api_server import ApiServer
from devtools.kafka import KafkaBroker
from devtools.postgres import PostgresServer
from devtools.process import ComponentError
from tests.fixtures.components import ci_enabled
from tests.services.events_support import ServiceProcess

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]

CHROMIUM: Final = "/usr/bin/chromium"
CHROMIUM_ARGS: Final = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ZONE: Final = "Europe/Berlin"
ARTIFACTS: Final = Path(__file__).resolve().parents[2] / "artifacts"
# Events cross processes and Kafka: generous deadlines, met in well under a second normally.
EVENTUAL_MS: Final = 60_000
SERVICES: Final = ("relay", "recurring", "audit", "notifier")


def _unavailable(component: str, error: Exception) -> NoReturn:
    message = f"{component} could not start: {error}"
    if ci_enabled():
        pytest.fail(f"{message} (CI is set: failing)", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="module")
def log_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ui-browser")


@pytest.fixture(scope="module")
def broker(log_dir: Path) -> Iterator[KafkaBroker]:
    kafka = KafkaBroker(log_dir=log_dir)
    try:
        kafka.start()
        kafka.create_topics(TOPICS)
    except ComponentError as error:
        kafka.close()
        _unavailable("Kafka", error)
    try:
        yield kafka
    finally:
        kafka.close()


@pytest.fixture(scope="module")
def api(postgres: PostgresServer, broker: KafkaBroker, log_dir: Path) -> Iterator[ApiServer]:
    # Started outside the event loop: ApiServer migrates the database with asyncio.run.
    database = postgres.url(postgres.create_database())
    with ApiServer(database, env={"KAFKA_BOOTSTRAP": broker.bootstrap}, log_dir=log_dir) as server:
        yield server


@pytest.fixture(scope="module")
async def services(
    api: ApiServer, broker: KafkaBroker, log_dir: Path
) -> AsyncIterator[dict[str, ServiceProcess]]:
    running = {
        name: ServiceProcess(
            name, database_url=api.database_url, bootstrap=broker.bootstrap, log_dir=log_dir
        )
        for name in SERVICES
    }
    try:
        await asyncio.gather(*(service.start(within=90) for service in running.values()))
        yield running
    finally:
        for service in running.values():
            service.stop()


@pytest.fixture(scope="module")
async def browser(services: dict[str, ServiceProcess]) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        try:
            chromium = await playwright.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=60_000
            )
        except Error as error:
            _unavailable(f"Chromium ({CHROMIUM})", error)
        try:
            yield chromium
        finally:
            await chromium.close()


class Person:
    """One account, signed up through the UI, with its browser context."""

    def __init__(self, api: ApiServer, page: Page) -> None:
        self.api = api
        self.page = page
        self.email = f"browser-{uuid.uuid4().hex[:10]}@example.com"
        self.password = secrets.token_urlsafe(12)

    async def sign_up(self) -> None:
        page = self.page
        await page.goto(f"{self.api.url}/")
        await expect(page).to_have_url(re.compile(r"/ui/login\?next=%2F$"))
        await page.get_by_role("link", name="Sign up").click()
        await page.get_by_label("Email").fill(self.email)
        await page.get_by_label("Password").fill(self.password)
        await page.get_by_role("button", name="Create account").click()
        await expect(page.get_by_role("heading", name="Your tasks")).to_be_visible()
        await expect(page.locator("#viewer-timezone")).to_have_text(ZONE)

    async def bearer(self) -> dict[str, str]:
        """An API token for the same account, as another client (a phone, a script) has."""
        async with httpx.AsyncClient(base_url=self.api.url) as client:
            response = await client.post(
                "/auth/token", data={"username": self.email, "password": self.password}
            )
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture
async def person(browser: Browser, api: ApiServer) -> AsyncIterator[Person]:
    context = await browser.new_context(
        timezone_id=ZONE, locale="en-GB", viewport={"width": 1100, "height": 900}
    )
    context.set_default_timeout(15_000)
    try:
        someone = Person(api, await context.new_page())
        await someone.sign_up()
        yield someone
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


async def test_a_weekly_task_with_two_reminders_then_its_next_occurrence(person: Person) -> None:
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

    await live(page)
    await first.get_by_role("button", name="Complete “Water the plants”").click()
    await expect(page.get_by_role("status").filter(has_text="Task completed.")).to_be_visible()
    await expect(
        task_item(page, "completed", "Water the plants", "Mon 3 Mar 2031, 09:00")
    ).to_have_count(1)
    # The recurring service creates the next occurrence from the task.completed event; it
    # reaches this page through task-updates and the event stream, without a reload.
    await live(page)
    following = task_item(page, "upcoming", "Water the plants", "Thu 6 Mar 2031, 09:00")
    await expect(following).to_have_count(1, timeout=EVENTUAL_MS)
    await expect(following.locator('[data-marker="recurring"]')).to_have_text(
        "Repeats weekly on Mon, Thu"
    )
    await expect(group(page, "upcoming").locator("li.task")).to_have_count(1)


async def test_a_change_through_the_api_appears_in_another_tab(person: Person) -> None:
    first, second = person.page, await person.page.context.new_page()
    await second.goto(f"{person.api.url}/")
    await live(first)
    await live(second)
    # Set on the page itself: a reload would lose it.
    await second.evaluate("window.__loadedOnce = true")

    headers = await person.bearer()
    async with httpx.AsyncClient(base_url=person.api.url, headers=headers) as client:
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


async def test_an_invalid_form_shows_the_error_at_the_field_and_keeps_the_values(
    person: Person,
) -> None:
    page = person.page
    await page.goto(f"{person.api.url}/ui/tasks/new")
    await fill_weekly_task(page, "")
    await page.locator("#interval").fill("0")
    await page.get_by_role("button", name="Create task").click()

    await expect(page.locator("#title-error")).to_have_text("Error: must not be empty")
    await expect(page.locator("#interval-error")).to_have_text(
        "Error: interval must be an integer from 1 to 1000, not 0"
    )
    await expect(page.get_by_label("Title")).to_have_attribute("aria-invalid", "true")
    # The summary takes the focus, so keyboard and screen reader users start from it.
    await expect(page.locator("#error-summary")).to_be_focused()
    await expect(page.get_by_role("heading", name="There are 2 problems")).to_be_visible()
    # Nothing typed is lost.
    await expect(page.get_by_label("Date and time")).to_have_value("2031-03-03T09:00")
    await expect(page.get_by_label("Tags")).to_have_value("home, garden")
    await expect(page.get_by_label("Repeats", exact=True)).to_have_value("weekly")
    await expect(page.get_by_label("Monday")).to_be_checked()
    await expect(page.get_by_label("Thursday")).to_be_checked()
    await expect(page.get_by_label("Reminder 2", exact=True)).to_have_value("1")
    await expect(page.get_by_label("Unit of reminder 2")).to_have_value("days")

    # Fixed, it saves.
    await page.get_by_label("Title").fill("Fixed title")
    await page.locator("#interval").fill("1")
    await page.get_by_role("button", name="Create task").click()
    await expect(task_item(page, "upcoming", "Fixed title", "Mon 3 Mar 2031, 09:00")).to_have_count(
        1
    )


async def test_a_due_reminder_raises_a_browser_notification(person: Person) -> None:
    page = person.page
    await page.context.grant_permissions(["notifications"], origin=person.api.url)
    # Record what the page shows through the Notifications API (headless shows nothing).
    await page.add_init_script(
        """
        window.__notifications = [];
        const Original = window.Notification;
        window.Notification = class extends Original {
          constructor(title, options) {
            super(title, options);
            window.__notifications.push({ title, body: options && options.body });
          }
        };
        Object.defineProperty(window.Notification, "permission", { get: () => Original.permission });
        """
    )
    await page.goto(f"{person.api.url}/")
    await live(page)

    # Due in two minutes, reminded two minutes before: the reminder is due now.
    due = (datetime.now(ZoneInfo(ZONE)) + timedelta(minutes=2)).replace(second=0, microsecond=0)
    headers = await person.bearer()
    async with httpx.AsyncClient(base_url=person.api.url, headers=headers) as client:
        created = await client.post(
            "/tasks",
            json={
                "title": "Call the bank",
                "due_date": due.astimezone(UTC).isoformat(),
                "timezone": ZONE,
                "reminders": [{"before": "PT2M"}],
            },
        )
        assert created.status_code == 201, created.text

    await expect(page.locator("#reminder-toasts .toast")).to_have_text(
        re.compile(r"^Reminder: Call the bank \(Due "), timeout=EVENTUAL_MS
    )
    notifications = await page.evaluate("window.__notifications")
    assert [n["title"] for n in notifications] == ["Reminder: Call the bank"]


async def test_delete_asks_for_confirmation_and_history_shows_the_audit_log(
    person: Person,
) -> None:
    page = person.page
    await page.goto(f"{person.api.url}/ui/tasks/new")
    await page.get_by_label("Title").fill("Cancel the gym")
    await page.get_by_role("button", name="Create task").click()
    item = group(page, "no-date").locator("li.task", has_text="Cancel the gym")
    await item.get_by_role("link", name="Edit “Cancel the gym”").click()
    await page.get_by_label("Title").fill("Cancel the gym membership")
    await page.get_by_role("button", name="Save changes").click()
    await expect(page.get_by_role("status").filter(has_text="Task saved.")).to_be_visible()

    item = group(page, "no-date").locator("li.task", has_text="Cancel the gym membership")
    await item.get_by_role("link", name="History of “Cancel the gym membership”").click()
    rows = page.locator("table.history tbody tr")
    # The audit service writes the history from task-events: reload until it has caught up.
    for _ in range(EVENTUAL_MS // 250):
        if await rows.count() == 2:
            break
        await page.wait_for_timeout(250)
        await page.reload()
    await expect(rows.locator("td:nth-child(2)")).to_have_text(["Created", "Updated"])
    await expect(rows.nth(1)).to_contain_text("title: “Cancel the gym membership”")

    await page.get_by_role("link", name="Back to your tasks").click()
    item = group(page, "no-date").locator("li.task", has_text="Cancel the gym membership")
    await item.get_by_role("link", name="Delete “Cancel the gym membership”").click()
    await expect(
        page.get_by_role("heading", name="Delete “Cancel the gym membership”?")
    ).to_be_visible()
    await page.get_by_role("link", name="Cancel").click()
    await expect(page.locator(".task-title")).to_have_text(["Cancel the gym membership"])
    await page.get_by_role("link", name="Delete “Cancel the gym membership”").click()
    await page.get_by_role("button", name="Delete task").click()
    await expect(page.get_by_role("status").filter(has_text="Task deleted.")).to_be_visible()
    await expect(page.locator(".task-title")).to_have_count(0)


async def test_every_control_is_labelled_and_the_form_works_from_the_keyboard(
    person: Person,
) -> None:
    page = person.page
    unlabelled = """
        () => Array.from(document.querySelectorAll("input:not([type=hidden]), select, textarea"))
            .filter((control) => control.labels.length === 0 && !control.getAttribute("aria-label"))
            .map((control) => control.name || control.id)
    """
    for path in ("/", "/ui/tasks/new"):
        await page.goto(f"{person.api.url}{path}")
        assert await page.evaluate(unlabelled) == [], path

    # The first Tab reaches the skip link, which moves past the navigation.
    await page.keyboard.press("Tab")
    await expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    await page.get_by_label("Title").focus()
    await page.keyboard.type("Typed, never clicked")
    await page.keyboard.press("Enter")  # submits with the form's default button: Create task
    await expect(page.get_by_role("status").filter(has_text="Task created.")).to_be_visible()
    complete = page.get_by_role("button", name="Complete “Typed, never clicked”")
    await complete.focus()
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("status").filter(has_text="Task completed.")).to_be_visible()
    await expect(
        group(page, "completed").locator(".task-title", has_text="Typed, never clicked")
    ).to_have_count(1)


async def test_a_screenshot_of_a_list_with_every_group(person: Person) -> None:
    page = person.page
    now = datetime.now(ZoneInfo(ZONE))
    # Due at 23:59 today (before that minute) is "Today"; in the last minutes, "Upcoming".
    tonight = now.replace(hour=23, minute=59, second=0, microsecond=0)
    today_group = "today" if now < tonight else "overdue"
    tasks = [
        {
            "title": "Renew the passport",
            "priority": "high",
            "tags": ["admin"],
            "due_date": (now - timedelta(days=2)).replace(hour=10, minute=0).isoformat(),
        },
        {
            "title": "Call the plumber",
            "priority": "medium",
            "tags": ["home"],
            "due_date": tonight.isoformat(),
            "reminders": [{"before": "PT1H"}],
        },
        {
            "title": "Team review",
            "priority": "medium",
            "tags": ["work"],
            "timezone": ZONE,
            "due_date": (now + timedelta(days=3)).replace(hour=9, minute=30).isoformat(),
            "recurrence": {"freq": "weekly", "interval": 2, "weekdays": ["TU", "FR"]},
            "reminders": [{"before": "PT15M"}, {"before": "P1D"}],
        },
        {
            "title": "Pay the rent",
            "priority": "high",
            "tags": ["money"],
            "timezone": ZONE,
            "due_date": (now + timedelta(days=9)).replace(hour=8, minute=0).isoformat(),
            "recurrence": {"freq": "monthly", "count": 12},
        },
        {"title": "Read a book", "priority": "low", "tags": ["leisure"]},
    ]
    headers = await person.bearer()
    async with httpx.AsyncClient(base_url=person.api.url, headers=headers) as client:
        for task in tasks:
            created = await client.post("/tasks", json=task)
            assert created.status_code == 201, created.text
        done = await client.post("/tasks", json={"title": "Book the flights", "tags": ["travel"]})
        completed = await client.post(f"/tasks/{done.json()['id']}/complete")
        assert completed.status_code == 200, completed.text

    await page.goto(f"{person.api.url}/")
    expected = {
        "overdue": ["Renew the passport"],
        "today": ["Call the plumber"],
        "upcoming": ["Team review", "Pay the rent"],
        "no-date": ["Read a book"],
        "completed": ["Book the flights"],
    }
    if today_group != "today":
        expected["overdue"].append(expected.pop("today")[0])
    for key, titles in expected.items():
        await expect(group(page, key).locator(".task-title")).to_have_text(titles)
    await expect(group(page, "upcoming").locator('[data-marker="recurring"]')).to_have_text(
        ["Repeats every 2 weeks on Tue, Fri", "Repeats monthly, 12 times"]
    )
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "ui-tasks.png"), full_page=True)
