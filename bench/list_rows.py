"""Benchmark: what one more task costs a list page, in the API's own code on real PostgreSQL.

    uv run python -m bench.list_rows [--tasks 5000] [--pages 400]

Seeds one user with ``--tasks`` tasks (every fifth with two reminders), then reads pages of 1 and
of 50 tasks the way ``GET /tasks`` does: the task service's query (:func:`list_tasks`) and the
response body (:func:`task_page_json`), each timed in CPU seconds of this process. The per-task
cost is the difference between the two page sizes over the 49 extra tasks, so the request's
fixed costs (auth, transaction, HTTP) do not hide it; ``bench.api`` measures those end to end.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from dataclasses import dataclass

import asyncpg

from app.api.task_views import task_page_json
from app.core.db.migrate import upgrade_async
from app.core.db.session import create_engine, session_factory
from app.tasks.queries import TaskFilter, list_tasks
from bench.api import seed_tasks
from devtools.postgres import PostgresServer

WARM_UP_PAGES = 30
OWNER_EMAIL = "bench-list@example.com"


@dataclass(frozen=True)
class PageCost:
    read_ms: float  # the query and the records, per page
    build_ms: float  # the JSON body, per page


async def seed(dsn: str, tasks: int) -> uuid.UUID:
    """One user owning ``tasks`` tasks (as bench.api seeds them); every fifth task has two
    pending reminders."""
    connection = await asyncpg.connect(dsn)
    try:
        owner: uuid.UUID = await connection.fetchval(
            "INSERT INTO users (id, email, password_hash) VALUES (gen_random_uuid(), $1,"
            " 'not a hash') RETURNING id",
            OWNER_EMAIL,
        )
        await seed_tasks(dsn, OWNER_EMAIL, tasks)
        await connection.execute(
            "INSERT INTO reminders (id, task_id, offset_seconds, remind_at)"
            " SELECT gen_random_uuid(), t.id, s * 3600, t.due_date - s * interval '1 hour'"
            " FROM (SELECT id, due_date, row_number() OVER () AS n FROM tasks) AS t,"
            " generate_series(1, 2) AS s WHERE t.n % 5 = 0"
        )
        await connection.execute("ANALYZE")
    finally:
        await connection.close()
    return owner


async def page_cost(url: str, owner: uuid.UUID, limit: int, pages: int) -> PageCost:
    engine = create_engine(url)
    sessions = session_factory(engine)
    read = build = 0.0
    try:
        for page in range(WARM_UP_PAGES + pages):
            started = time.process_time()
            async with sessions() as session:
                rows, cursor = await list_tasks(
                    session,
                    owner,
                    TaskFilter(),
                    sort="created_at",
                    direction="asc",
                    limit=limit,
                    cursor=None,
                )
            loaded = time.process_time()
            task_page_json(rows, cursor)
            if page >= WARM_UP_PAGES:
                read += loaded - started
                build += time.process_time() - loaded
    finally:
        await engine.dispose()
    return PageCost(read / pages * 1000, build / pages * 1000)


async def run(tasks: int, pages: int) -> None:
    with PostgresServer() as postgres:
        database = postgres.create_database()
        url = postgres.url(database)
        await upgrade_async(url)
        owner = await seed(postgres.url(database, driver="postgresql"), tasks)
        one = await page_cost(url, owner, 1, pages)
        fifty = await page_cost(url, owner, 50, pages)
    print(f"one user with {tasks:,} tasks, {pages} pages per size, CPU of this process")
    for label, cost in (("page of 1 ", one), ("page of 50", fifty)):
        print(f"{label}  read {cost.read_ms:6.3f} ms  build {cost.build_ms:6.3f} ms")
    read_us = (fifty.read_ms - one.read_ms) / 49 * 1000
    build_us = (fifty.build_ms - one.build_ms) / 49 * 1000
    print(
        f"per task    read {read_us:6.1f} us  build {build_us:6.1f} us"
        f"  total {read_us + build_us:6.1f} us"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=5000)
    parser.add_argument("--pages", type=int, default=400)
    args = parser.parse_args()
    asyncio.run(run(args.tasks, args.pages))


if __name__ == "__main__":
    main()
