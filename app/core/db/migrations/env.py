"""Alembic environment: runs migrations over the async engine of the configured database."""

from __future__ import annotations

import asyncio
import warnings

from alembic import context
from sqlalchemy.engine import Connection

from app.core.db.models import Base
from app.core.db.session import create_engine
from app.core.settings import CommonSettings, load

config = context.config
# The models' metadata: autogenerate compares the database with it, and op.create_table names
# the keys, foreign keys and unique constraints the revisions leave unnamed by its naming
# convention. tests/db/schema_postgres.txt records the schema the revisions build, so a change of
# that convention which would rename a deployed constraint fails the tests.
target_metadata = Base.metadata


def _url() -> str:
    # Tests and app.core.db.migrate pass the URL explicitly; the CLI takes DATABASE_URL.
    return config.attributes.get("database_url") or load(CommonSettings).database_url


def _run(connection: Connection) -> None:
    # SQLite batch migrations reflect the tables they copy; the expression index on users
    # cannot be reflected and does not need to be (batch never copies that table).
    warnings.filterwarnings(
        "ignore", message="Skipped unsupported reflection of expression-based index"
    )
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER most things
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_online() -> None:
    engine = create_engine(_url())
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await engine.dispose()


if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_run_online())
