"""`python -m app.mcp_server`: the MCP server over stdio, for desktop assistants.

It acts for the holder of the personal access token in `TODO_MCP_TOKEN` (made in the web UI or
with POST /me/tokens), on the database in `DATABASE_URL`. stdout carries the protocol, so logs
go to stderr.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys

from app.core.db.session import create_engine, session_factory
from app.core.settings import CommonSettings, load
from app.mcp_server import server
from app.mcp_server.tokens import PREFIX

TOKEN_VARIABLE = "TODO_MCP_TOKEN"  # noqa: S105 - the variable's name, not a secret


async def main() -> None:
    token = os.environ.get(TOKEN_VARIABLE, "")
    if not token.startswith(PREFIX):
        sys.exit(f"{TOKEN_VARIABLE} must hold a personal access token ({PREFIX}...)")
    settings = load(CommonSettings)
    engine = create_engine(settings.database_url)
    sessions = session_factory(engine)
    try:
        await server.build(lambda: sessions, server.from_token(token)).run_stdio_async()
    finally:
        await engine.dispose()


if __name__ == "__main__":
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
    asyncio.run(main())
