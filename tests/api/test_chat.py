"""POST /chat through HTTP on SQLite and PostgreSQL: creating, completing, querying, changing,
snoozing, deleting and undoing by chat; isolation between users; bad messages change nothing."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from app.core.events.contract import CloudEvent
from app.tasks import commands
from app.tasks.errors import InvalidTaskInput
from tests.api.conftest import Api

BERLIN = ZoneInfo("Europe/Berlin")


async def _chat(api: Api, user: dict[str, str], message: str, **extra: Any) -> dict[str, Any]:
    body = {"message": message, "timezone": "Europe/Berlin", **extra}
    response = await api.client.post("/chat", json=body, headers=user)
    assert response.status_code == 200, response.text
    return response.json()


async def _tasks(api: Api, user: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    response = await api.client.get("/tasks", params={"limit": 100, **params}, headers=user)
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def _event_types(api: Api, task_id: str) -> list[str]:
    return [CloudEvent.model_validate(e.payload).type for e in await api.events_for(task_id)]


async def test_daily_task_created_completed_queried_and_undone(
    api: Api, user: dict[str, str]
) -> None:
    created = await _chat(api, user, "water plants every day at 8am #home !high")
    assert created["action"] == "created"
    assert created["undo"] is True
    [task] = created["tasks"]
    assert task["title"] == "water plants"
    assert task["recurrence"] == {
        "freq": "daily",
        "interval": 1,
        "weekdays": [],
        "month_day": None,
        "until": None,
        "count": None,
        "anchor": "schedule",
    }
    assert task["recurrence_text"] == "daily"
    assert (task["tags"], task["priority"], task["timezone"]) == (["home"], "high", "Europe/Berlin")
    due = datetime.fromisoformat(task["due_date"]).astimezone(BERLIN)
    assert (due.hour, due.minute) == (8, 0)
    assert timedelta(0) < due - datetime.now(UTC) <= timedelta(days=1)
    assert f"due {due:%a} {due.day} {due:%b %Y, 08:00}" in created["reply"]
    assert "repeats daily" in created["reply"]
    # The API sees the same task, with the same events as POST /tasks records.
    [listed] = await _tasks(api, user)
    assert listed["id"] == task["id"]
    assert listed["series_id"] is not None
    assert await _event_types(api, task["id"]) == ["task.created"]

    answer = await _chat(api, user, "what's due tomorrow?")
    tomorrow = datetime.now(BERLIN).date() + timedelta(days=1)
    expected = 1 if due.date() == tomorrow else 0
    assert answer["action"] == "listed"
    assert len(answer["tasks"]) == expected

    done = await _chat(api, user, "done water plants")
    assert done["action"] == "completed"
    assert done["undo"] is False
    assert done["tasks"][0]["completed"] is True
    assert await _event_types(api, task["id"]) == ["task.created", "task.completed"]
    # A recurring task's completion has no way back by chat, and it replaced the creation's undo.
    assert (await _chat(api, user, "undo"))["reply"] == "There is nothing to undo."

    finished = await _chat(api, user, "what did I finish today?")
    assert [t["id"] for t in finished["tasks"]] == [task["id"]]
    assert finished["reply"].startswith("1 completed task today:")


async def test_undo_takes_back_a_creation_once(api: Api, user: dict[str, str]) -> None:
    created = await _chat(api, user, "call mum tomorrow evening")
    task_id = created["tasks"][0]["id"]
    undone = await _chat(api, user, "undo")
    assert undone["action"] == "undone"
    assert await _tasks(api, user) == []
    assert await _event_types(api, task_id) == ["task.created", "task.deleted"]
    assert (await _chat(api, user, "undo"))["reply"] == "There is nothing to undo."


async def test_a_one_off_completion_is_undone_with_its_reminders(
    api: Api, user: dict[str, str]
) -> None:
    created = await _chat(api, user, "call the bank in 3 days at 10am, remind me 1 hour before")
    task_id = created["tasks"][0]["id"]
    done = await _chat(api, user, "done call the bank")
    assert done["action"] == "completed"
    assert done["undo"] is True
    assert done["reply"].endswith("Say “undo” to take it back.")
    [closed] = await _tasks(api, user)
    assert closed["completed"] is True
    assert [r["cancelled_at"] is not None for r in closed["reminders"]] == [True]

    undone = await _chat(api, user, "undo")
    assert undone["action"] == "undone"
    assert undone["reply"].startswith("Undone: “call the bank”")
    assert undone["reply"].endswith(" is open again.")
    [reopened] = await _tasks(api, user)
    assert (reopened["completed"], reopened["completed_at"]) == (False, None)
    [reminder] = reopened["reminders"]
    assert (reminder["cancelled_at"], reminder["sent_at"], reminder["before"]) == (
        None,
        None,
        "PT1H",
    )
    assert await _event_types(api, task_id) == [
        "task.created",
        "reminder.scheduled",
        "task.completed",
        "task.updated",
        "reminder.scheduled",
    ]
    # Used once: a second undo has nothing left.
    assert (await _chat(api, user, "undo"))["reply"] == "There is nothing to undo."


async def test_a_recurring_completion_cannot_be_reopened(api: Api, user: dict[str, str]) -> None:
    """The task service refuses it (the chat never offers it): the next occurrence follows."""
    created = await _chat(api, user, "stretch every day at 7am")
    task_id = uuid.UUID(created["tasks"][0]["id"])
    await _chat(api, user, "done stretch")
    owner = (await api.client.get("/me", headers=user)).json()["id"]
    before = await api.counts()
    async with api.sessions() as session:
        with pytest.raises(InvalidTaskInput) as refused:
            await commands.reopen_task(session, uuid.UUID(owner), task_id)
        assert refused.value.field == "completed"
        await session.rollback()
    assert await api.counts() == before
    [task] = await _tasks(api, user)
    assert task["completed"] is True


async def test_change_snooze_delete_and_their_undos(api: Api, user: dict[str, str]) -> None:
    created = await _chat(
        api, user, "standup every weekday at 9:30 #work, remind me 10 minutes before"
    )
    [task] = created["tasks"]
    moved = await _chat(api, user, "move standup to 10am")
    assert moved["action"] == "changed"
    new_due = datetime.fromisoformat(moved["tasks"][0]["due_date"]).astimezone(BERLIN)
    old_due = datetime.fromisoformat(task["due_date"]).astimezone(BERLIN)
    assert (new_due.date(), new_due.hour, new_due.minute) == (old_due.date(), 10, 0)
    assert moved["tasks"][0]["recurrence_text"] == "weekly on Mon, Tue, Wed, Thu, Fri"
    [reminder] = (await _tasks(api, user))[0]["reminders"]
    assert datetime.fromisoformat(reminder["remind_at"]) == new_due - timedelta(minutes=10)

    restored = await _chat(api, user, "undo")
    assert restored["action"] == "undone"
    [after_undo] = await _tasks(api, user)
    assert datetime.fromisoformat(after_undo["due_date"]) == old_due

    snoozed = await _chat(api, user, "snooze standup by an hour")
    assert snoozed["action"] == "snoozed"
    [row] = await _tasks(api, user)
    pending = [r for r in row["reminders"] if r["cancelled_at"] is None and r["sent_at"] is None]
    remind_at = [datetime.fromisoformat(r["remind_at"]) for r in pending]
    soon = datetime.now(UTC) + timedelta(hours=1)
    # The reminder due before the snooze ends gave way, unless it fires later anyway.
    assert any(abs(moment - soon) < timedelta(minutes=5) for moment in remind_at)

    deleted = await _chat(api, user, "delete the standup task")
    assert deleted["action"] == "deleted"
    assert await _tasks(api, user) == []
    back = await _chat(api, user, "undo")
    assert back["action"] == "undone"
    [recreated] = await _tasks(api, user)
    assert recreated["id"] != task["id"]
    assert (recreated["title"], recreated["tags"]) == ("standup", ["work"])
    assert recreated["recurrence"]["weekdays"] == ["MO", "TU", "WE", "TH", "FR"]


async def test_the_issue_example_creates_exactly_that_task(api: Api, user: dict[str, str]) -> None:
    reply = await _chat(
        api, user, "pay rent every month on the 1st at 9am #money !high, remind me a day before"
    )
    [task] = await _tasks(api, user)
    assert task["id"] == reply["tasks"][0]["id"]
    due = datetime.fromisoformat(task["due_date"]).astimezone(BERLIN)
    assert (due.day, due.hour, due.minute) == (1, 9, 0)
    assert task["recurrence"]["freq"] == "monthly"
    assert task["recurrence"]["month_day"] == 1
    assert (task["tags"], task["priority"]) == (["money"], "high")
    assert [r["before"] for r in task["reminders"]] == ["P1D"]
    assert "repeats monthly on day 1" in reply["reply"]
    assert "reminder 1 day before" in reply["reply"]


async def test_another_users_tasks_are_never_touched(api: Api, user: dict[str, str]) -> None:
    other = await api.new_user()
    theirs = await api.create_task(other, title="dentist", due_date="2031-01-01T09:00:00Z")
    before = await api.counts()
    for message in (
        "done dentist",
        "delete dentist",
        "move dentist to 10am",
        "snooze dentist by an hour",
    ):
        answer = await _chat(api, user, message)
        assert answer["action"] == "clarify"
        assert answer["reply"] == "I found no open task matching “dentist”."
    listing = await _chat(api, user, "show my tasks")
    assert listing["tasks"] == []
    assert await api.counts() == before
    mine = await _tasks(api, other)
    assert [(t["id"], t["version"], t["completed"]) for t in mine] == [(theirs["id"], 1, False)]
    # Their undo is theirs: mine has nothing to take back.
    await _chat(api, other, "add buy stamps")
    assert (await _chat(api, user, "undo"))["reply"] == "There is nothing to undo."
    assert len(await _tasks(api, other)) == 2


async def test_bad_messages_change_nothing(api: Api, user: dict[str, str]) -> None:
    await _chat(api, user, "add keep me")
    before = await api.counts()
    for message in (
        "hello",
        "call bob at 5",
        "x on feb 30",
        "biweekly sync",
        "undo that now please",
    ):
        answer = await _chat(api, user, message)
        assert answer["action"] == "clarify", message
        assert answer["tasks"] == []
        assert answer["undo"] is False
    assert await api.counts() == before
    for body in (
        {"message": "x" * 501},
        {"message": ""},
        {"message": "add y", "timezone": "Mars/Olympus"},
        {"message": "add y", "extra": 1},
    ):
        response = await api.client.post("/chat", json=body, headers=user)
        assert response.status_code == 422, body
    assert await api.counts() == before
    # The undo of "add keep me" survived all of it.
    assert (await _chat(api, user, "undo"))["action"] == "undone"


async def test_ambiguous_target_asks_which(api: Api, user: dict[str, str]) -> None:
    await _chat(api, user, "add report for anna")
    await _chat(api, user, "add report for bob")
    before = await api.counts()
    answer = await _chat(api, user, "done report")
    assert answer["action"] == "clarify"
    assert answer["reply"].splitlines() == [
        "Which one do you mean?",
        "• “report for anna”",
        "• “report for bob”",
        "Say more of its title.",
    ]
    assert await api.counts() == before
    assert (await _chat(api, user, "done report for bob"))["action"] == "completed"


async def test_chat_needs_a_token(api: Api) -> None:
    response = await api.client.post("/chat", json={"message": "add x"})
    assert response.status_code == 401
