"""The MCP server over streamable HTTP, inside the API process at ``/mcp``.

Every request must carry a personal access token as its bearer token (the SDK's bearer
middleware asks `TokenVerifier` below); the tools then act for that token's owner only.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Final

from mcp.server.auth.provider import AccessToken
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from pydantic import AnyHttpUrl
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.applications import Starlette

from app.mcp_server import server, tokens

PATH: Final = "/mcp"
ISSUER: Final = AnyHttpUrl("http://localhost")


class PersonalTokens:
    """Checks a bearer token against the stored hashes (a revoked one fails at once)."""

    def __init__(self, sessions: Callable[[], async_sessionmaker[AsyncSession]]) -> None:
        self._sessions = sessions

    async def verify_token(self, token: str) -> AccessToken | None:
        async with self._sessions()() as session:
            holder = await tokens.verify(session, token)
            await session.commit()  # its last use
        if holder is None:
            return None
        return AccessToken(
            token=tokens.digest(token),  # the SDK keeps this per request; no need for the secret
            client_id=str(holder.owner_id),
            scopes=list(holder.scopes),
            claims={"token_id": str(holder.token_id)},
        )


class McpHttp:
    """The streamable HTTP app and the task group its sessions run in (started by the API's
    lifespan with `running()`)."""

    def __init__(self, sessions: Callable[[], async_sessionmaker[AsyncSession]]) -> None:
        self.server: MCPServer = server.build(
            sessions,
            server.from_http_request,
            # Scopes are checked per tool; any live token may connect. The SDK requires an
            # issuer; with no resource_server_url no OAuth metadata is published, so it is
            # never shown (the tokens come from POST /me/tokens, not from an OAuth server).
            auth=AuthSettings(issuer_url=ISSUER, resource_server_url=None),
            token_verifier=PersonalTokens(sessions),
        )
        self.app: Starlette = self.server.streamable_http_app(
            streamable_http_path=PATH,
            # DNS-rebinding protection guards unauthenticated local servers; this one refuses
            # every request without a valid bearer token, and behind the ingress its Host is
            # the public name, which a localhost allow-list would refuse.
            transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
        )

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Run the session manager for the app's lifetime.

        Its anyio task group must be entered and left by one task; a lifespan may be entered
        and left by different ones (pytest's fixtures do), so it runs in a task of its own.
        """
        started, stop = asyncio.Event(), asyncio.Event()

        async def serve() -> None:
            async with self.server.session_manager.run():
                started.set()
                await stop.wait()

        task = asyncio.create_task(serve(), name="mcp-sessions")
        waiting = asyncio.create_task(started.wait())
        await asyncio.wait({task, waiting}, return_when=asyncio.FIRST_COMPLETED)
        waiting.cancel()
        if task.done():
            task.result()  # it failed to start: raise its error
        try:
            yield
        finally:
            stop.set()
            await task
