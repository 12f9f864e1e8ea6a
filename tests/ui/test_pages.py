"""The UI's pages and form posts, in process on SQLite and PostgreSQL, as a browser uses them."""

from __future__ import annotations

import html
import re
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import select

from app.core.db.models import OutboxEvent
from app.core.events.contract import CloudEvent
from services.audit.history import record_event
from tests.ui.conftest import Browserless, Ui, csrf_of, field_errors

WEEKLY = {
    "title": "Water the plants",
    "priority": "high",
    "tags": "home, garden",
    "due": "2031-03-03T09:00",
    "timezone": "Europe/Berlin",
    "freq": "weekly",
    "interval": "2",
    "weekdays": ["MO", "TH"],
    "ends": "count",
    "count": "10",
    "reminder_amount": ["30", "1"],
    "reminder_unit": ["minutes", "days"],
}
SECTION = re.compile(r'<section class="group group-([a-z-]+)".*?</section>', re.S)
TITLE = re.compile(r'<span class="task-title">([^<]*)</span>')
TAG = re.compile(r'<a class="badge tag" [^>]*>#([^<]*)</a>')


def sections(page: str) -> dict[str, list[str]]:
    """Group key -> task titles, in page order."""
    return {
        match.group(1): [html.unescape(t) for t in TITLE.findall(match.group(0))]
        for match in SECTION.finditer(page)
    }


def viewer_zone() -> str:
    """A fixed-offset zone where it is now mid-day, so "in an hour" is still today there."""
    now = datetime.now(UTC)
    for hours in range(-12, 15):
        # Etc/GMT-3 is UTC+3 (POSIX signs are inverted).
        name = "UTC" if hours == 0 else f"Etc/GMT{-hours:+d}"
        if 8 <= now.astimezone(ZoneInfo(name)).hour <= 15:
            return name
    raise AssertionError("some offset from -12 to +14 has mid-day now")


def local_input(moment: datetime, zone: str) -> str:
    return moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M")


async def test_anonymous_visitors_are_sent_to_log_in(ui: Ui) -> None:
    browser = ui.browser()
    for path, back in (("/", "%2F"), ("/ui/tasks/new?next=/", "%2Fui%2Ftasks%2Fnew%3Fnext%3D%2F")):
        response = await browser.client.get(path)
        assert response.status_code == 303
        assert response.headers["location"] == f"/ui/login?next={back}"
    events = await browser.client.get("/ui/events")
    assert events.status_code == 401
    assert events.headers["content-type"] == "application/problem+json"


async def test_a_page_scripts_fetch_sends_to_log_in_and_back_to_its_page(ui: Ui) -> None:
    # The live list's fragment, fetched by the page's script (Fetch Metadata: not a
    # navigation): after logging in the person goes back to the page, not to the fragment.
    browser = ui.browser()
    fetched = await browser.client.get(
        "/ui/list?tag=home",
        headers={"Sec-Fetch-Dest": "empty", "Referer": "http://test/?tag=home"},
    )
    assert fetched.status_code == 303
    assert fetched.headers["location"] == "/ui/login?next=%2F%3Ftag%3Dhome"
    foreign = await browser.client.get(
        "/ui/list", headers={"Sec-Fetch-Dest": "empty", "Referer": "https://elsewhere.test/x"}
    )
    assert foreign.headers["location"] == "/ui/login?next=%2F"
    navigated = await browser.client.get("/ui/list", headers={"Sec-Fetch-Dest": "document"})
    assert navigated.headers["location"] == "/ui/login?next=%2Fui%2Flist"


async def test_signing_up_sets_an_httponly_samesite_session_cookie(ui: Ui) -> None:
    browser = ui.browser()
    form = await browser.client.get("/ui/signup")
    assert "todo_presession=" in form.headers["set-cookie"]
    email = f"new-{uuid.uuid4().hex[:8]}@example.com"
    response = await browser.client.post(
        "/ui/signup",
        data={
            "csrf_token": csrf_of(form.text),
            "email": email,
            "password": "long enough",
            "next": "/?tag=home",
        },
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/?tag=home"
    session = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith("todo_session=")
    )
    attributes = {part.strip().split("=")[0].lower() for part in session.split(";")[1:]}
    assert {"httponly", "samesite", "path", "max-age"} <= attributes
    assert "samesite=lax" in session.lower()
    assert "max-age=3600" in session.lower()
    assert "secure" not in attributes  # plain http here; see the https test
    page = await browser.client.get("/")
    assert page.status_code == 200
    assert email in page.text


async def test_over_https_the_cookies_are_secure(ui: Ui) -> None:
    client = httpx.AsyncClient(transport=ui.transport, base_url="https://test")
    async with client:
        form = await client.get("/ui/signup")
        assert "; secure" in form.headers["set-cookie"].lower()
        response = await client.post(
            "/ui/signup",
            data={
                "csrf_token": csrf_of(form.text),
                "email": f"tls-{uuid.uuid4().hex[:8]}@example.com",
                "password": "long enough",
            },
        )
        cookies = response.headers.get_list("set-cookie")
        session = next(c for c in cookies if c.startswith("todo_session="))
        assert "; secure" in session.lower()


async def test_sign_up_errors_are_shown_at_their_fields_with_the_email_kept(ui: Ui) -> None:
    browser = ui.browser()
    response = await browser.post(
        "/ui/signup", {"email": "not-an-address", "password": "short"}, form_page="/ui/signup"
    )
    assert response.status_code == 422
    errors = field_errors(response.text)
    assert errors["email"].startswith("value is not a valid email address")
    assert errors["password"] == "String should have at least 8 characters"
    assert 'value="not-an-address"' in response.text
    assert "todo_session" not in response.headers.get("set-cookie", "")

    taken = await ui.signed_up()
    again = await browser.post(
        "/ui/signup", {"email": taken.email, "password": "long enough"}, form_page="/ui/signup"
    )
    assert field_errors(again.text) == {
        "email": "an account with this address exists; log in instead"
    }


async def test_log_in_errors_and_the_failed_login_throttle(ui: Ui) -> None:
    owner = await ui.signed_up()
    browser = ui.browser()
    empty = await browser.post("/ui/login", {"email": "", "password": ""}, form_page="/ui/login")
    assert field_errors(empty.text) == {
        "email": "enter your email",
        "password": "enter your password",
    }
    for _ in range(5):
        wrong = await browser.post(
            "/ui/login", {"email": owner.email, "password": "wrong!"}, form_page="/ui/login"
        )
        assert wrong.status_code == 422
        assert field_errors(wrong.text) == {"password": "wrong email or password"}
        assert f'value="{owner.email}"' in wrong.text
    throttled = await browser.post(
        "/ui/login", {"email": owner.email, "password": owner.password}, form_page="/ui/login"
    )
    assert throttled.status_code == 429
    assert "Too many failed logins: try again in" in throttled.text


async def test_logging_in_and_out(ui: Ui) -> None:
    owner = await ui.signed_up()
    browser = ui.browser()
    response = await browser.post(
        "/ui/login",
        {"email": owner.email.upper(), "password": owner.password, "next": "//evil.example/"},
        form_page="/ui/login",
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/"  # never off-site
    assert (await browser.client.get("/")).status_code == 200
    # Logging out is a form post too: without its token it changes nothing.
    refused = await browser.client.post("/ui/logout", data={})
    assert refused.status_code == 403
    assert (await browser.client.get("/")).status_code == 200
    out = await browser.post("/ui/logout", {})
    assert out.status_code == 303
    assert 'todo_session=""' in out.headers["set-cookie"]
    assert (await browser.client.get("/")).status_code == 303


async def test_forged_posts_change_nothing(ui: Ui, person: Browserless) -> None:
    before = await ui.counts()
    no_token = await person.client.post("/ui/tasks/new", data={**WEEKLY})
    assert no_token.status_code == 403
    assert "the form expired or belongs to another session" in no_token.text

    other = await ui.signed_up()
    foreign_token = await other.form_token("/")
    wrong_session = await person.client.post(
        "/ui/tasks/new", data={**WEEKLY, "csrf_token": foreign_token}
    )
    assert wrong_session.status_code == 403

    cross_site = await person.client.post(
        "/ui/tasks/new",
        data={**WEEKLY, "csrf_token": await person.form_token("/")},
        headers={"Origin": "https://evil.example"},
    )
    assert cross_site.status_code == 403
    assert "the form was sent from another site" in cross_site.text

    login_csrf = await ui.browser().client.post(
        "/ui/login", data={"email": person.email, "password": person.password}
    )
    assert login_csrf.status_code == 403
    assert "todo_session" not in login_csrf.headers.get("set-cookie", "")
    assert await ui.counts() == before


async def test_a_weekly_task_with_two_reminders_is_listed_with_its_markers(
    ui: Ui, person: Browserless
) -> None:
    person.client.cookies.set("todo_tz", "America/New_York")
    response = await person.create(**WEEKLY)
    assert response.status_code == 303
    assert response.headers["location"] == "/?notice=created"
    page = (await person.client.get("/?notice=created")).text
    assert '<p class="notice" role="status">Task created.</p>' in page
    assert sections(page) == {"upcoming": ["Water the plants"]}
    # 09:00 in Berlin is 03:00 in New York on 3 March 2031; the task's own zone is shown too.
    assert ">Mon 3 Mar 2031, 03:00</time>" in page
    assert "(Mon 3 Mar 2031, 09:00 Europe/Berlin)" in page
    assert "Repeats every 2 weeks on Mon, Thu, 10 times" in page
    assert "2 reminders pending, next Sun 2 Mar 2031, 03:00" in page
    assert TAG.findall(page) == ["home", "garden"]
    (task,) = await ui.tasks_of(person.email)
    assert task.due_date == datetime(2031, 3, 3, 8, 0, tzinfo=UTC)
    assert sorted(r.offset_seconds or 0 for r in task.reminders) == [1800, 86400]


async def test_tasks_are_grouped_by_due_date_in_the_viewers_time_zone(
    ui: Ui, person: Browserless
) -> None:
    zone = viewer_zone()
    person.client.cookies.set("todo_tz", zone)
    now = datetime.now(UTC)
    for title, due in (
        ("late", now - timedelta(hours=1)),
        ("soon", now + timedelta(hours=1)),
        ("later", now + timedelta(days=3)),
        ("done", now + timedelta(days=1)),
    ):
        assert (
            await person.create(title=title, due=local_input(due, zone), timezone=zone)
        ).status_code == 303
    assert (await person.create(title="someday")).status_code == 303
    done = next(t for t in await ui.tasks_of(person.email) if t.title == "done")
    completed = await person.post(f"/ui/tasks/{done.id}/complete", {"next": "/?sort=title"})
    assert completed.headers["location"] == "/?sort=title&notice=completed"

    page = (await person.client.get("/")).text
    assert sections(page) == {
        "overdue": ["late"],
        "today": ["soon"],
        "upcoming": ["later"],
        "no-date": ["someday"],
        "completed": ["done"],
    }
    assert f'<span id="viewer-timezone">{zone}</span>' in page
    open_only = (await person.client.get("/?status=open")).text
    assert "completed" not in sections(open_only)


async def test_search_filters_and_sorting(ui: Ui, person: Browserless) -> None:
    for title, priority, tags, due in (
        ("Pay rent", "high", "home, money", "2031-05-01T09:00"),
        ("Buy milk", "low", "errands", "2031-05-03T09:00"),
        ("Pay invoice", "medium", "work, money", "2031-05-02T09:00"),
    ):
        response = await person.create(title=title, priority=priority, tags=tags, due=due)
        assert response.status_code == 303

    async def titles(query: str) -> list[str]:
        response = await person.client.get(f"/?{query}")
        assert response.status_code == 200
        return [html.unescape(t) for t in TITLE.findall(response.text)]

    assert await titles("") == ["Pay rent", "Pay invoice", "Buy milk"]  # by due date
    assert await titles("q=pay") == ["Pay rent", "Pay invoice"]
    assert await titles("tag=money&sort=title") == ["Pay invoice", "Pay rent"]
    assert await titles("priority=low") == ["Buy milk"]
    assert await titles("sort=priority&order=desc") == ["Buy milk", "Pay invoice", "Pay rent"]
    assert await titles("due_from=2031-05-02&due_to=2031-05-03") == ["Pay invoice", "Buy milk"]
    assert await titles("q=nothing-like-this") == []

    bad = await person.client.get("/?sort=chaos&due_from=May&due_to=2031-01-01&status=open")
    assert field_errors(bad.text) == {
        "sort": "choose one of: due_date, priority, title",
        "due_from": "enter a date, e.g. 2030-12-31",
    }
    # The inputs that were understood still apply.
    assert [html.unescape(t) for t in TITLE.findall(bad.text)] == []  # all due after Jan 1


async def test_an_invalid_form_keeps_its_values_and_names_each_field(
    ui: Ui, person: Browserless
) -> None:
    before = await ui.counts()
    response = await person.create(
        **{**WEEKLY, "title": "  ", "interval": "0", "reminder_amount": ["30", "abc"]}
    )
    assert response.status_code == 422
    assert field_errors(response.text) == {
        "title": "must not be blank",
        "interval": "interval must be an integer from 1 to 1000, not 0",
        "reminder-1": "enter a whole number of days",
    }
    page = response.text
    assert 'aria-invalid="true" aria-describedby="title-error"' in page
    assert 'id="due" name="due" type="datetime-local" value="2031-03-03T09:00"' in page
    assert 'value="home, garden"' in page
    assert 'value="MO" id="weekday-MO" checked' in page
    assert 'value="abc"' in page
    assert '<a href="#interval">Repeat every: interval must be' in page
    assert await ui.counts() == before


async def test_errors_from_the_task_commands_reach_their_field(ui: Ui, person: Browserless) -> None:
    response = await person.create(title="no due", freq="daily", due="")
    assert response.status_code == 422
    assert field_errors(response.text) == {
        "due": "a recurring task needs a due_date to start its series"
    }
    response = await person.create(title="no due", reminder_amount=["5"], due="")
    assert field_errors(response.text) == {"reminder-0": "a relative reminder needs a due_date"}


async def test_editing_changes_only_what_was_edited(ui: Ui, person: Browserless) -> None:
    await person.create(**WEEKLY)
    (task,) = await ui.tasks_of(person.email)
    series, reminders = task.series_id, sorted(str(r.id) for r in task.reminders)
    edit = await person.client.get(f"/ui/tasks/{task.id}/edit")
    assert 'name="version" value="1"' in edit.text
    values = {**WEEKLY, "title": "Water every plant", "version": "1", "next": "/"}
    saved = await person.post(
        f"/ui/tasks/{task.id}/edit", values, form_page=f"/ui/tasks/{task.id}/edit"
    )
    assert saved.headers["location"] == "/?notice=saved"
    (task,) = await ui.tasks_of(person.email)
    assert (task.title, task.version, task.series_id) == ("Water every plant", 2, series)
    assert sorted(str(r.id) for r in task.reminders) == reminders

    # A form opened at version 1 no longer matches: the values stay, nothing is written.
    stale = await person.post(
        f"/ui/tasks/{task.id}/edit",
        {**values, "title": "Stale title"},
        form_page=f"/ui/tasks/{task.id}/edit",
    )
    assert stale.status_code == 422
    assert "This task was changed elsewhere" in stale.text
    assert 'value="Stale title"' in stale.text
    assert 'name="version" value="2"' in stale.text  # saving again overwrites, knowingly
    (task,) = await ui.tasks_of(person.email)
    assert task.title == "Water every plant"


async def test_others_tasks_cannot_be_seen_or_touched(ui: Ui, person: Browserless) -> None:
    await person.create(title="mine")
    (task,) = await ui.tasks_of(person.email)
    intruder = await ui.signed_up()
    for path in (f"/ui/tasks/{task.id}/edit", f"/ui/tasks/{task.id}/delete"):
        assert (await intruder.client.get(path)).status_code == 404
    for action in ("complete", "delete"):
        response = await intruder.post(f"/ui/tasks/{task.id}/{action}", {})
        assert response.status_code == 404
    assert "mine" not in (await intruder.client.get("/")).text
    (task,) = await ui.tasks_of(person.email)
    assert not task.completed


async def test_delete_asks_first(ui: Ui, person: Browserless) -> None:
    await person.create(title="Cancel gym")
    (task,) = await ui.tasks_of(person.email)
    confirm = await person.client.get(f"/ui/tasks/{task.id}/delete?next=/%3Fq%3Dgym")
    assert "Delete “Cancel gym”?" in confirm.text
    assert 'name="next" value="/?q=gym"' in confirm.text
    assert await ui.tasks_of(person.email) != []
    response = await person.post(
        f"/ui/tasks/{task.id}/delete", {"next": "/?q=gym"}, form_page=confirm.request.url.path
    )
    assert response.headers["location"] == "/?q=gym&notice=deleted"
    assert await ui.tasks_of(person.email) == []


async def test_history_lists_the_audited_changes(ui: Ui, person: Browserless) -> None:
    await person.create(title="Renew passport", due="2031-04-01T10:00", timezone="UTC")
    (task,) = await ui.tasks_of(person.email)
    empty = await person.client.get(f"/ui/tasks/{task.id}/history")
    assert "No history recorded yet" in empty.text
    await person.post(
        f"/ui/tasks/{task.id}/edit",
        {
            "title": "Renew passports",
            "due": "2031-04-01T10:00",
            "timezone": "UTC",
            "freq": "none",
            "version": "1",
        },
        form_page=f"/ui/tasks/{task.id}/edit",
    )
    await person.post(f"/ui/tasks/{task.id}/complete", {})
    # What the audit service does with each event of the task.
    async with ui.sessions() as session, session.begin():
        rows = await session.scalars(
            select(OutboxEvent).where(OutboxEvent.key == str(task.id)).order_by(OutboxEvent.id)
        )
        for row in list(rows):
            await record_event(CloudEvent.model_validate(row.payload), session)
    page = (await person.client.get(f"/ui/tasks/{task.id}/history")).text
    assert re.findall(r'<tr data-event="([^"]+)">', page) == ["Created", "Updated", "Completed"]
    assert "title: “Renew passports”" in page
    assert "due date: Tue 1 Apr 2031, 10:00" in page
    stranger = await ui.signed_up()
    assert (await stranger.client.get(f"/ui/tasks/{task.id}/history")).status_code == 404


async def test_pages_carry_security_headers_and_stay_out_of_the_api_schema(
    ui: Ui, person: Browserless
) -> None:
    page = await person.client.get("/")
    assert page.headers["content-security-policy"].startswith(
        "default-src 'self'; script-src 'self'"
    )
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"
    schema = (await person.client.get("/openapi.json")).json()
    assert not [path for path in schema["paths"] if path == "/" or path.startswith("/ui")]
    script = await person.client.get("/ui/static/app.js")
    assert script.status_code == 200
    assert "EventSource" in script.text


async def test_an_unknown_time_zone_cookie_falls_back_to_utc(ui: Ui, person: Browserless) -> None:
    person.client.cookies.set("todo_tz", "Mars/Olympus_Mons")
    page = (await person.client.get("/")).text
    assert '<span id="viewer-timezone">UTC</span>' in page
    new = (await person.client.get("/ui/tasks/new")).text
    assert 'id="timezone" name="timezone" value="UTC"' in new


async def test_logging_out_ends_the_session_on_the_server(ui: Ui) -> None:
    owner = await ui.signed_up()
    stolen = owner.client.cookies["todo_session"]  # a copy of the cookie, kept elsewhere
    assert (await owner.client.get("/")).status_code == 200
    out = await owner.post("/ui/logout", {})
    assert out.status_code == 303
    # The copy no longer signs anyone in: it is revoked, not only deleted from this browser.
    replay = ui.browser()
    replay.client.cookies.set("todo_session", stolen)
    page = await replay.client.get("/")
    assert page.status_code == 303
    assert page.headers["location"].startswith("/ui/login")
    # Logging out again with an already-ended session just logs out.
    again = await replay.post("/ui/logout", {}, form_page="/ui/login")
    assert again.status_code == 303
    assert again.headers["location"] == "/ui/login"


async def test_a_form_posted_after_the_session_ended_returns_to_its_page_after_login(
    ui: Ui,
) -> None:
    owner = await ui.signed_up()
    token = await owner.form_token("/ui/tasks/new")
    await owner.post("/ui/logout", {})  # the session ends (as when it expires)
    before = await ui.counts()
    posted = await owner.client.post(
        "/ui/tasks/new",
        data={"csrf_token": token, "title": "typed before the session ended", "freq": "none"},
        headers={"Referer": "http://test/ui/tasks/new?from=list"},
    )
    assert posted.status_code == 303
    # Back to the form's page after logging in, not to the post's address (a 405 on GET).
    assert posted.headers["location"] == "/ui/login?next=%2Fui%2Ftasks%2Fnew%3Ffrom%3Dlist"
    assert await ui.counts() == before
    # A Referer from another site is not followed.
    foreign = await owner.client.post(
        "/ui/tasks/new",
        data={"csrf_token": token, "title": "x", "freq": "none"},
        headers={"Referer": "https://evil.example/ui/tasks/new"},
    )
    assert foreign.headers["location"] == "/ui/login?next=%2F"
