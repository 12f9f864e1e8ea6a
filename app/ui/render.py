"""HTML responses: the Jinja2 templates of the UI, with the headers every page gets."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from app.ui.listing import show_time
from app.ui.session import CSRF_FIELD, Visitor

HERE: Final = Path(__file__).parent
STATIC_DIR: Final = HERE / "static"
STATIC_PATH: Final = "/ui/static"

templates = Jinja2Templates(directory=HERE / "templates")
templates.env.globals.update(csrf_field=CSRF_FIELD, static=STATIC_PATH)


def _local_time(instant: str, zone: str) -> str:
    return show_time(datetime.fromisoformat(instant), ZoneInfo(zone))


templates.env.filters["local_time"] = _local_time

# Scripts and styles come only from our own static files: no inline script can run, which
# takes the sting out of any markup injection that escaped the templates' autoescaping.
SECURITY_HEADERS: Final = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
        "object-src 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    # Pages show private data; a shared cache or the back button after logout must not.
    "Cache-Control": "no-store",
}


def page(
    request: Request,
    person: Visitor,
    template: str,
    context: dict[str, Any] | None = None,
    status: int = 200,
) -> HTMLResponse:
    values = {"me": person.email, "csrf": person.csrf, "timezone": person.timezone}
    values.update(context or {})
    response = templates.TemplateResponse(
        request, template, values, status_code=status, headers=SECURITY_HEADERS
    )
    person.apply_cookies(response)
    return response


def see_other(location: str) -> RedirectResponse:
    """The answer to a successful form post (post/redirect/get)."""
    return RedirectResponse(location, status_code=303, headers={"Cache-Control": "no-store"})


class MissingPage(Exception):
    """What a page asked for is not there (or not the visitor's): answered with the 404 page."""

    def __init__(self, person: Visitor) -> None:
        super().__init__("not found")
        self.person = person
