"""The web UI against the local run (``python -m services.local``): the API, the relay and the
workers in one process, events on the in-process bus, on the session's PostgreSQL.

The live list there is fed by ``app.ui.live.LOCAL_FEED`` instead of Kafka: the same two flows
that need the event pipeline are checked on it.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterator
from urllib.parse import quote

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from devtools.local_run import LocalRun
from devtools.postgres import PostgresServer
from tests.ui.browser_support import (
    ARTIFACTS,
    PHONE,
    Person,
    api_change_reaches_another_tab,
    create_and_complete_weekly,
    fill_weekly_task,
    live,
    signed_up,
)

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def local_run(
    postgres: PostgresServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalRun]:
    run = LocalRun(
        postgres.url(postgres.create_database()), tmp_path_factory.mktemp("ui-local-run")
    )
    # Our own program, not a component: failing to start fails the tests, CI or not.
    try:
        run.start()
        yield run
    finally:
        run.stop()


@pytest.fixture
async def person(browser: Browser, local_run: LocalRun) -> AsyncIterator[Person]:
    async with signed_up(browser, local_run) as someone:
        yield someone


async def test_the_next_occurrence_appears_in_the_local_run(person: Person) -> None:
    await create_and_complete_weekly(person)


async def test_an_api_change_reaches_another_tab_in_the_local_run(person: Person) -> None:
    await api_change_reaches_another_tab(person)


@pytest.fixture
async def phone_person(browser: Browser, local_run: LocalRun) -> AsyncIterator[Person]:
    async with signed_up(browser, local_run, viewport=PHONE) as someone:
        yield someone


# One unbroken word as long as a title may be: a pasted URL or token does this in real life.
LONG_WORD = "Supercalifragilisticexpialidocious" * 5 + "-end"


async def overflow_px(page: Page) -> int:
    """How far the page is wider than the screen (0: no sideways scrolling)."""
    return int(
        await page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
    )


async def test_a_phone_sized_screen_never_scrolls_sideways(phone_person: Person) -> None:
    page = phone_person.page
    headers = await phone_person.bearer()
    async with httpx.AsyncClient(base_url=phone_person.url, headers=headers) as client:
        created = await client.post(
            "/tasks",
            json={
                "title": LONG_WORD,
                "description": "see " + LONG_WORD * 3,
                "tags": ["x" * 32],
                "due_date": "2031-05-01T07:00:00Z",
                "reminders": [{"before": "PT1H"}],
            },
        )
        assert created.status_code == 201, created.text
        renamed = await client.patch(
            f"/tasks/{created.json()['id']}", json={"title": LONG_WORD[::-1]}
        )
        assert renamed.status_code == 200, renamed.text
    task_id = created.json()["id"]

    await page.goto(f"{phone_person.url}/")
    title = page.locator(f"#task-{task_id} .task-title")
    await expect(title).to_have_text(LONG_WORD[::-1])
    assert await overflow_px(page) == 0
    # The filters are folded: the list starts on the first screen.
    await expect(page.get_by_text("Search and filters")).to_be_visible()
    await expect(page.get_by_label("Search", exact=True)).to_be_hidden()
    box = await title.bounding_box()
    assert box is not None
    assert box["y"] + box["height"] <= PHONE["height"]
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "ui-phone-tasks.png"), full_page=True)

    await page.get_by_text("Search and filters").click()
    await expect(page.get_by_label("Search", exact=True)).to_be_visible()
    assert await overflow_px(page) == 0

    await page.goto(f"{phone_person.url}/ui/tasks/{task_id}/history")
    # The audit service runs in the local run's process: the three events arrive within
    # moments (created, its reminder scheduled, renamed); reload until they are all there.
    rows = page.locator("table.history tbody tr")
    async with asyncio.timeout(30):
        while await rows.count() < 3:
            await page.reload()
    assert await rows.evaluate_all("rows => rows.map(row => row.dataset.event)") == [
        "Created",
        "Reminders scheduled",
        "Updated",
    ]
    assert await overflow_px(page) == 0
    await page.screenshot(path=str(ARTIFACTS / "ui-phone-history.png"), full_page=True)


async def test_focus_stays_with_the_task_after_complete_save_and_delete(
    person: Person,
) -> None:
    page = person.page
    headers = await person.bearer()
    async with httpx.AsyncClient(base_url=person.url, headers=headers) as client:
        ids = {}
        for title in ("Water the ferns", "Buy stamps", "Oil the bike"):
            created = await client.post("/tasks", json={"title": title})
            assert created.status_code == 201, created.text
            ids[title] = created.json()["id"]
    await page.goto(f"{person.url}/")

    await page.get_by_role("button", name="Complete “Buy stamps”").click()
    await expect(page.get_by_role("status").filter(has_text="Task completed.")).to_be_visible()
    await expect(page.get_by_role("link", name="Edit “Buy stamps”")).to_be_focused()

    await page.get_by_role("link", name="Edit “Oil the bike”").click()
    await page.get_by_label("Title").fill("Oil the bicycle")
    await page.get_by_role("button", name="Save changes").click()
    await expect(page.get_by_role("status").filter(has_text="Task saved.")).to_be_visible()
    await expect(page.get_by_role("link", name="Edit “Oil the bicycle”")).to_be_focused()

    await page.get_by_role("link", name="Delete “Water the ferns”").click()
    await page.get_by_role("button", name="Delete task").click()
    deleted = page.locator("main .notice").filter(has_text="Task deleted.")
    await expect(deleted).to_be_focused()
    assert await page.locator(f"#task-{ids['Water the ferns']}").count() == 0


async def _end_session(person: Person) -> None:
    """The browser's session ends on the server (its token revoked, as by logging out in
    another tab or on another device); the browser still sends its cookie."""
    cookies = await person.page.context.cookies()
    token = next(cookie["value"] for cookie in cookies if cookie["name"] == "todo_session")
    async with httpx.AsyncClient(base_url=person.url) as client:
        ended = await client.post("/auth/logout", headers={"Authorization": f"Bearer {token}"})
    assert ended.status_code == 204


async def _log_in_again(person: Person, next_path: str) -> None:
    page = person.page
    await expect(page).to_have_url(
        re.compile(rf"/ui/login\?next={re.escape(quote(next_path, safe=''))}$")
    )
    await page.get_by_label("Email").fill(person.email)
    await page.get_by_label("Password").fill(person.password)
    await page.get_by_role("button", name="Log in").click()


async def test_what_was_typed_survives_a_session_that_ended_before_saving(person: Person) -> None:
    page = person.page
    await page.goto(f"{person.url}/ui/tasks/new")
    await fill_weekly_task(page, "Renew the passport")
    await page.get_by_label("Description").fill("photos first, then the form")
    await _end_session(person)
    await page.get_by_role("button", name="Create task").click()

    await _log_in_again(person, "/ui/tasks/new")
    # Back on the form, with everything typed (never the password) and a notice saying so.
    await expect(page).to_have_url(f"{person.url}/ui/tasks/new")
    await expect(page.locator("#draft-restored")).to_be_focused()
    await expect(page.get_by_label("Title")).to_have_value("Renew the passport")
    await expect(page.get_by_label("Description")).to_have_value("photos first, then the form")
    await expect(page.get_by_label("Priority")).to_have_value("high")
    await expect(page.get_by_label("Tags")).to_have_value("home, garden")
    await expect(page.get_by_label("Date and time")).to_have_value("2031-03-03T09:00")
    await expect(page.get_by_label("Repeats", exact=True)).to_have_value("weekly")
    await expect(page.get_by_label("Monday")).to_be_checked()
    await expect(page.get_by_label("Thursday")).to_be_checked()
    await expect(page.get_by_label("Tuesday")).not_to_be_checked()
    await expect(page.get_by_label("Reminder 2", exact=True)).to_have_value("1")
    await expect(page.get_by_label("Unit of reminder 2")).to_have_value("days")
    async with httpx.AsyncClient(base_url=person.url, headers=await person.bearer()) as client:
        assert (await client.get("/tasks")).json()["items"] == []  # nothing was saved yet

        # Saved on the person's own click, with the fresh page's CSRF token.
        await page.get_by_role("button", name="Create task").click()
        await expect(page.get_by_role("heading", name="Your tasks")).to_be_visible()
        tasks = (await client.get("/tasks")).json()["items"]
    assert [(t["title"], t["description"], t["priority"]) for t in tasks] == [
        ("Renew the passport", "photos first, then the form", "high")
    ]
    assert tasks[0]["recurrence"]["weekdays"] == ["MO", "TH"]
    assert sorted(r["before"] for r in tasks[0]["reminders"]) == ["P1D", "PT30M"]
    # The draft was used once: the form starts empty next time.
    await page.goto(f"{person.url}/ui/tasks/new")
    await expect(page.get_by_label("Title")).to_have_value("")
    await expect(page.locator("#draft-restored")).to_have_count(0)


async def test_the_live_list_sends_an_ended_session_to_login_and_back_to_the_list(
    person: Person,
) -> None:
    page = person.page
    await live(page)
    headers = await person.bearer()  # another client's session, still valid
    await _end_session(person)
    async with httpx.AsyncClient(base_url=person.url, headers=headers) as client:
        created = await client.post("/tasks", json={"title": "Made while away"})
        assert created.status_code == 201, created.text

    # The change notice makes the list reload; its fragment request meets the ended session.
    await _log_in_again(person, "/")
    await expect(page).to_have_url(f"{person.url}/")
    await expect(page.get_by_role("heading", name="Your tasks")).to_be_visible()
    await expect(page.locator(".task-title")).to_have_text(["Made while away"])
