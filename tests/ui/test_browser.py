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
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.async_api import Browser, expect

from devtools.api_server import ApiServer
from devtools.kafka import KafkaBroker
from devtools.testkit.events_support import ServiceProcess
from tests.ui.browser_support import (
    ARTIFACTS,
    EVENTUAL_MS,
    ZONE,
    Person,
    api_change_reaches_another_tab,
    create_and_complete_weekly,
    fill_weekly_task,
    group,
    live,
    running_services,
    signed_up,
    task_item,
)

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]

SERVICES: Final = ("relay", "recurring", "audit", "notifier")


# Every test here needs the workers: they start before the browser and stop after it.
@pytest.fixture(scope="module", autouse=True)
async def services(
    api: ApiServer, broker: KafkaBroker, log_dir: Path
) -> AsyncIterator[dict[str, ServiceProcess]]:
    async with running_services(SERVICES, api, broker, log_dir) as running:
        yield running


@pytest.fixture
async def person(browser: Browser, api: ApiServer) -> AsyncIterator[Person]:
    async with signed_up(browser, api) as someone:
        yield someone


async def test_a_weekly_task_with_two_reminders_then_its_next_occurrence(
    person: Person,
) -> None:
    await create_and_complete_weekly(person)


async def test_a_change_through_the_api_appears_in_another_tab(person: Person) -> None:
    await api_change_reaches_another_tab(person)


async def test_an_invalid_form_shows_the_error_at_the_field_and_keeps_the_values(
    person: Person,
) -> None:
    page = person.page
    await page.goto(f"{person.url}/ui/tasks/new")
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
    await page.context.grant_permissions(["notifications"], origin=person.url)
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
        Object.defineProperty(
          window.Notification, "permission", { get: () => Original.permission }
        );
        """
    )
    await page.goto(f"{person.url}/")
    await live(page)

    # Due in two minutes, reminded two minutes before: the reminder is due now.
    due = (datetime.now(ZoneInfo(ZONE)) + timedelta(minutes=2)).replace(second=0, microsecond=0)
    headers = await person.bearer()
    async with httpx.AsyncClient(base_url=person.url, headers=headers) as client:
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
    await page.goto(f"{person.url}/ui/tasks/new")
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
    for path in ("/", "/ui/chat", "/ui/tokens", "/ui/tasks/new"):
        await page.goto(f"{person.url}{path}")
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
    # Due at 23:59 today is "Today" until that minute comes; from then on it is overdue.
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
            "timezone": ZONE,
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
    async with httpx.AsyncClient(base_url=person.url, headers=headers) as client:
        for task in tasks:
            created = await client.post("/tasks", json=task)
            assert created.status_code == 201, created.text
        done = await client.post("/tasks", json={"title": "Book the flights", "tags": ["travel"]})
        completed = await client.post(f"/tasks/{done.json()['id']}/complete")
        assert completed.status_code == 200, completed.text

    await page.goto(f"{person.url}/")
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


async def test_a_daily_task_made_and_completed_by_chat_brings_its_next_occurrence(
    person: Person,
) -> None:
    """The issue's journey: a daily recurring task created by chat, completed by chat, and the
    recurring service's next occurrence in the list."""
    page = person.page
    await page.goto(f"{person.url}/")
    box = page.get_by_label("Tell me what to do")
    await box.fill("water the ferns every day at 8am #home")
    await box.press("Enter")
    reply = page.locator(".chat-text")
    await expect(reply).to_contain_text("Added “water the ferns”, due ")
    await expect(reply).to_contain_text(", 08:00 ")
    await expect(reply).to_contain_text("repeats daily, #home.")
    await page.get_by_label("Tell me what to do").fill("done water the ferns")
    await page.get_by_label("Tell me what to do").press("Enter")
    await expect(reply).to_contain_text("Completed “water the ferns”")
    await expect(reply).to_contain_text("Its next occurrence follows by its rule.")

    await page.get_by_role("link", name="Back to tasks").click()
    ferns = page.locator("li.task", has_text="water the ferns")
    # The recurring service creates the next one from task.completed: reload until it is in.
    async with asyncio.timeout(EVENTUAL_MS / 1000):
        while await ferns.count() != 2:
            await page.reload()
    await expect(group(page, "completed").locator(".task-title")).to_have_text(["water the ferns"])
    await expect(ferns).to_have_count(2)
