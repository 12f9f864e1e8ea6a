"""The API's /metrics: catalog names only, counts of committed changes, due-date gauges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.core.db.migrate import upgrade_async
from app.core.db.session import create_engine, session_factory
from app.core.observability.metric_catalog import DUE_BUCKETS, exported_by
from app.main import create_app
from devtools.postgres import PostgresServer
from devtools.testkit.metrics import Samples
from tests.api.conftest import Api, api_settings


async def _samples(api: Api) -> Samples:
    return Samples.parse((await api.client.get("/metrics")).text)


async def test_every_catalog_metric_of_the_api_is_exported(api: Api) -> None:
    await api.client.get("/readyz")
    text = (await api.client.get("/metrics")).text
    families = {family.name for family in text_string_to_metric_families(text)}
    for metric in exported_by("api"):
        assert metric.family in families, metric.name


async def test_committed_changes_are_counted_once(api: Api, user: dict[str, str]) -> None:
    before = await _samples(api)
    task = await api.create_task(user, title="counted")
    await api.client.patch(f"/tasks/{task['id']}", json={"title": "counted twice?"}, headers=user)
    for _ in range(2):  # the retry is not a second completion
        await api.client.post(f"/tasks/{task['id']}/complete", headers=user)
    await api.client.delete(f"/tasks/{task['id']}", headers=user)
    rejected = await api.client.post("/tasks", json={"title": "x" * 300}, headers=user)
    assert rejected.status_code == 422
    after = await _samples(api)
    for event, expected in (("created", 1), ("updated", 1), ("completed", 1), ("deleted", 1)):
        delta = after.value("todo_tasks_total", event=event) - before.value(
            "todo_tasks_total", event=event
        )
        assert delta == expected, event


async def test_due_date_gauges_series_and_pool(
    database_url: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    # A database of its own, so the gauges can be compared with exact counts.
    if database_url.startswith("sqlite"):
        url = f"sqlite+aiosqlite:///{tmp_path / 'gauges.db'}"
    else:
        server: PostgresServer = request.getfixturevalue("postgres")
        url = server.url(server.create_database())
    await upgrade_async(url)
    settings = api_settings(url)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            own = Api(
                url.split(":")[0],
                client,
                api_engine := create_engine(url),
                session_factory(api_engine),
                settings,
                transport,
            )
            user = await own.new_user()
            now = datetime.now(UTC)
            for hours in (-2, -30, 24 * 3, 24 * 60):
                await own.create_task(
                    user, title="t", due_date=(now + timedelta(hours=hours)).isoformat()
                )
            await own.create_task(user, title="undated")
            done = await own.create_task(
                user, title="done", due_date=(now - timedelta(hours=1)).isoformat()
            )
            await client.post(f"/tasks/{done['id']}/complete", headers=user)
            await own.create_task(
                user, title="s", due_date=(now + timedelta(days=9)).isoformat(), recurrence="weekly"
            )
            await client.get("/readyz")
            samples = await _samples(own)
            await api_engine.dispose()
    assert {b: samples.value("todo_tasks_due", bucket=b) for b in DUE_BUCKETS} == {
        "overdue": 2,
        "today": 0,
        "week": 1,
        "later": 2,
    }
    assert samples.value("todo_recurring_series_active") == 1
    assert samples.value("todo_readiness_check_up", check="database") == 1
    assert samples.value("todo_db_pool_in_use") == 0
