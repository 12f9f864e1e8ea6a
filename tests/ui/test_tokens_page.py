"""Access tokens in the web UI (SQLite and PostgreSQL): made with the token shown once and only
its hash stored, listed, revoked; forged and bad posts change nothing."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from app.core.db.models import AccessToken
from app.mcp_server.tokens import digest, verify
from tests.ui.conftest import Browserless, Ui

NEW_TOKEN = re.compile(r'<code class="new-token">(todo_pat_[\w-]+)</code>')


async def _token_count(ui: Ui) -> int:
    async with ui.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(AccessToken)) or 0)


async def test_make_see_and_revoke_a_token(ui: Ui, person: Browserless) -> None:
    made = await person.post(
        "/ui/tokens",
        {"name": "desktop assistant", "scopes": ["tasks:read"]},
        form_page="/ui/tokens",
    )
    assert made.status_code == 200, made.text
    match = NEW_TOKEN.search(made.text)
    assert match is not None
    token = match.group(1)
    async with ui.sessions() as session:
        row = await session.scalar(
            select(AccessToken).where(AccessToken.token_hash == digest(token))
        )
        assert row is not None
        assert row.scopes == {"scopes": ["tasks:read"]}
        holder = await verify(session, token)
        assert holder is not None
        assert holder.scopes == ("tasks:read",)
        await session.commit()
    listing = await person.client.get("/ui/tokens")
    assert "desktop assistant" in listing.text
    assert token not in listing.text  # shown once, never again

    revoked = await person.post(f"/ui/tokens/{row.id}/revoke", {}, form_page="/ui/tokens")
    assert revoked.status_code == 303
    async with ui.sessions() as session:
        assert await verify(session, token) is None
    assert re.search(r"<td>\s*revoked\s*</td>", (await person.client.get("/ui/tokens")).text)


async def test_bad_and_forged_posts_make_no_token(ui: Ui, person: Browserless) -> None:
    before = await _token_count(ui)
    no_scope = await person.post("/ui/tokens", {"name": "x"}, form_page="/ui/tokens")
    assert no_scope.status_code == 422
    assert "Choose at least one scope." in no_scope.text
    no_name = await person.post(
        "/ui/tokens", {"name": " ", "scopes": ["tasks:read"]}, form_page="/ui/tokens"
    )
    assert no_name.status_code == 422
    forged = await person.client.post(
        "/ui/tokens", data={"name": "x", "scopes": "tasks:read", "csrf_token": "forged"}
    )
    assert forged.status_code == 403
    assert await _token_count(ui) == before
