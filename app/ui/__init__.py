"""The web UI, served by the API process itself: server-rendered pages, a little script.

``router`` holds every page (none is in the OpenAPI schema: they are HTML, not API), and
``static_files()`` the stylesheet and script, mounted at :data:`STATIC_PATH`.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.staticfiles import StaticFiles

from app.ui import (
    auth_pages,
    chat_page,
    history_page,
    notifications_page,
    stream,
    task_pages,
    tokens_page,
)
from app.ui.posting import RefusedPost
from app.ui.render import STATIC_DIR, STATIC_PATH, MissingPage, page

router = APIRouter()
for _pages in (
    auth_pages,
    task_pages,
    history_page,
    chat_page,
    tokens_page,
    notifications_page,
    stream,
):
    router.include_router(_pages.router)


def install(app: FastAPI) -> None:
    """The pages' answers to a refused post (403) and to what is not there (404)."""

    @app.exception_handler(RefusedPost)
    async def _refused(request: Request, refused: RefusedPost) -> Response:
        return page(request, refused.person, "refused.html", {"reason": refused.reason}, 403)

    @app.exception_handler(MissingPage)
    async def _missing(request: Request, missing: MissingPage) -> Response:
        return page(request, missing.person, "missing.html", status=404)


def static_files() -> StaticFiles:
    return StaticFiles(directory=STATIC_DIR)


__all__ = ["STATIC_PATH", "install", "router", "static_files"]
