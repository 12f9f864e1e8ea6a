"""/readyz asks the database on a connection of its own: a busy pool is not an outage."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from fastapi import FastAPI

from app.core.db.migrate import upgrade_async
from app.main import create_app
from devtools.postgres import PostgresServer
from devtools.process import LOOPBACK, free_port
from tests.api.conftest import api_settings


@asynccontextmanager
async def running(database_url: str) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    app = create_app(api_settings(database_url, database_pool_size=2))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield app, client


@pytest.mark.postgres
async def test_ready_while_requests_hold_every_pooled_connection(
    postgres: PostgresServer,
) -> None:
    url = postgres.url(postgres.create_database())
    await upgrade_async(url)
    async with running(url) as (app, client):
        engine = app.state.todo.engine
        held = [await engine.connect() for _ in range(2)]  # the whole pool, as under load
        try:
            response = await client.get("/readyz")
        finally:
            for connection in held:
                await connection.close()

    assert response.status_code == 200
    assert response.json() == {"status": "ready"}


async def test_not_ready_when_the_database_does_not_answer() -> None:
    nobody = f"postgresql+asyncpg://postgres@{LOOPBACK}:{free_port()}/todo"
    async with running(nobody) as (_, client):
        response = await client.get("/readyz")
        metrics = (await client.get("/metrics")).text

    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == "5"
    assert response.json()["detail"].startswith("database: ")
    assert 'todo_readiness_check_up{check="database"} 0.0' in metrics
