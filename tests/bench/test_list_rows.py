"""bench/list_rows.py on a real PostgreSQL: what it seeds and that it reports each figure."""

from __future__ import annotations

import asyncpg
import pytest

from app.core.db.migrate import upgrade_async
from bench.list_rows import run, seed
from devtools.postgres import PostgresServer


async def test_seed_gives_every_fifth_task_two_reminders() -> None:
    with PostgresServer() as postgres:
        database = postgres.create_database()
        await upgrade_async(postgres.url(database))
        dsn = postgres.url(database, driver="postgresql")
        owner = await seed(dsn, 60)
        connection = await asyncpg.connect(dsn)
        try:
            tasks = await connection.fetchval(
                "SELECT count(*) FROM tasks WHERE owner_id = $1", owner
            )
            reminders = await connection.fetch(
                "SELECT task_id, count(*) AS n FROM reminders GROUP BY task_id"
            )
        finally:
            await connection.close()
    assert tasks == 60
    assert sorted(row["n"] for row in reminders) == [2] * 12


async def test_run_prints_both_page_sizes_and_the_per_task_cost(
    capsys: pytest.CaptureFixture[str],
) -> None:
    await run(tasks=60, pages=2)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "one user with 60 tasks, 2 pages per size, CPU of this process"
    assert [line.split()[:3] for line in lines[1:]] == [
        ["page", "of", "1"],
        ["page", "of", "50"],
        ["per", "task", "read"],
    ]
