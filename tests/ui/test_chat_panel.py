"""The UI's chat panel, in process on SQLite and PostgreSQL: a form post like any other (CSRF
first), read in the browser's time zone, acting through the same assistant as POST /chat."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from tests.ui.conftest import Browserless, Ui

REPLY = re.compile(r'<p class="chat-text">(.*?)</p>', re.S)
HISTORY_LINK = re.compile(
    r'<li><a href="(/ui/tasks/[0-9a-f-]+/history)">History of “(.*?)”</a></li>'
)


def reply_of(page: str) -> str:
    match = REPLY.search(page)
    assert match is not None, "the page shows no answer"
    return html.unescape(match.group(1))


def history_links(page: str) -> dict[str, str]:
    """The answer's "History of" links: href → task title."""
    return {href: html.unescape(title) for href, title in HISTORY_LINK.findall(page)}


async def test_panel_creates_in_the_browsers_zone_and_undoes(ui: Ui, person: Browserless) -> None:
    person.client.cookies.set("todo_tz", "America/New_York", path="/")
    listing = await person.client.get("/")
    assert 'action="/ui/chat"' in listing.text  # the panel sits on the task list too
    response = await person.post("/ui/chat", {"message": "standup every weekday at 9:30 #work"})
    assert response.status_code == 200, response.text
    text = reply_of(response.text)
    assert text.startswith("Added “standup”, due ")
    assert "repeats weekly on Mon, Tue, Wed, Thu, Fri, #work." in text
    assert '<button type="submit" class="secondary">Undo</button>' in response.text
    [task] = await ui.tasks_of(person.email)
    assert history_links(response.text) == {f"/ui/tasks/{task.id}/history": "standup"}
    assert task.timezone == "America/New_York"
    assert task.due_date is not None
    local = task.due_date.astimezone(ZoneInfo("America/New_York"))
    assert (local.hour, local.minute, local.weekday() < 5) == (9, 30, True)
    assert task.due_date > datetime.now(UTC)

    undone = await person.post("/ui/chat", {"message": "undo"}, form_page="/ui/chat")
    assert reply_of(undone.text).startswith("Undone: removed “standup”")
    assert await ui.tasks_of(person.email) == []
    assert history_links(undone.text) == {}  # the task is gone: no link to it


async def test_a_question_back_changes_nothing_and_keeps_the_message(
    ui: Ui, person: Browserless
) -> None:
    before = await ui.counts()
    response = await person.post("/ui/chat", {"message": "call bob at 5"}, form_page="/ui/chat")
    assert response.status_code == 200
    assert reply_of(response.text) == "Do you mean 5am or 5pm?"
    assert 'value="call bob at 5"' in response.text
    too_long = await person.post("/ui/chat", {"message": "x" * 501}, form_page="/ui/chat")
    assert too_long.status_code == 422
    assert "Type a message of 1 to 500 characters." in too_long.text
    assert await ui.counts() == before


async def test_a_forged_chat_post_is_refused(ui: Ui, person: Browserless) -> None:
    before = await ui.counts()
    forged = await person.client.post(
        "/ui/chat", data={"message": "add stolen", "csrf_token": "not-the-token"}
    )
    assert forged.status_code == 403
    assert await ui.counts() == before
    anonymous = ui.browser()
    try:
        response = await anonymous.client.post("/ui/chat", data={"message": "add x"})
        assert response.status_code == 303
        assert response.headers["location"].startswith("/ui/login")
    finally:
        await anonymous.client.aclose()
    assert await ui.counts() == before


async def test_a_task_deleted_by_chat_gets_no_history_link(ui: Ui, person: Browserless) -> None:
    added = await person.post("/ui/chat", {"message": "add dentist tomorrow at 3pm"})
    [task] = await ui.tasks_of(person.email)
    assert history_links(added.text) == {f"/ui/tasks/{task.id}/history": "dentist"}
    deleted = await person.post(
        "/ui/chat", {"message": "delete the dentist task"}, form_page="/ui/chat"
    )
    assert reply_of(deleted.text).startswith("Deleted “dentist”")
    assert await ui.tasks_of(person.email) == []
    assert history_links(deleted.text) == {}
    restored = await person.post("/ui/chat", {"message": "undo"}, form_page="/ui/chat")
    assert reply_of(restored.text).startswith("Undone: restored “dentist”")
    [again] = await ui.tasks_of(person.email)
    assert history_links(restored.text) == {f"/ui/tasks/{again.id}/history": "dentist"}
