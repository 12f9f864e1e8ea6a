"""The Edit form on recurrence (issue 10.1): adding a rule to a task, or changing it, saved
with a 500 before the series row was inserted ahead of the task pointing at it."""

from __future__ import annotations

from typing import Any

from app.core.db.models import TaskRecurrence
from tests.ui.conftest import Browserless, Ui, field_errors

PLAIN: dict[str, Any] = {
    "title": "Call the bank",
    "due": "2031-03-03T09:00",
    "timezone": "Europe/Berlin",
    "freq": "none",
}


async def _save(person: Browserless, task_id: object, values: dict[str, Any]) -> Any:
    path = f"/ui/tasks/{task_id}/edit"
    return await person.post(path, {**values, "next": "/"}, form_page=path)


async def test_adding_and_changing_a_rule_in_the_edit_form(ui: Ui, person: Browserless) -> None:
    await person.create(**PLAIN)
    (task,) = await ui.tasks_of(person.email)
    assert task.series_id is None

    saved = await _save(person, task.id, {**PLAIN, "freq": "weekly", "version": "1"})
    assert saved.status_code == 303, saved.text
    assert saved.headers["location"] == "/?notice=saved"
    (task,) = await ui.tasks_of(person.email)
    first_series = task.series_id
    assert task.recurrence is not None
    assert (task.version, task.occurrence_index, task.recurrence["freq"]) == (2, 0, "weekly")

    saved = await _save(person, task.id, {**PLAIN, "freq": "daily", "version": "2"})
    assert saved.status_code == 303, saved.text
    (task,) = await ui.tasks_of(person.email)
    assert task.series_id not in (None, first_series)
    async with ui.sessions() as session:
        old = await session.get(TaskRecurrence, first_series)
        new = await session.get(TaskRecurrence, task.series_id)
        assert old is not None
        assert new is not None
        assert (old.active, new.active, new.rule["freq"]) == (False, True, "daily")


async def test_changing_the_rule_of_a_completed_occurrence_says_where_to_change_it(
    ui: Ui, person: Browserless
) -> None:
    await person.create(**{**PLAIN, "freq": "daily"})
    (task,) = await ui.tasks_of(person.email)
    done = await person.post(f"/ui/tasks/{task.id}/complete", {"next": "/"})
    assert done.status_code == 303
    before = await ui.counts()
    refused = await _save(person, task.id, {**PLAIN, "freq": "weekly", "version": "2"})
    assert refused.status_code == 422
    assert field_errors(refused.text) == {
        "freq": "this occurrence is completed; change the rule on the open occurrence"
    }
    assert await ui.counts() == before
