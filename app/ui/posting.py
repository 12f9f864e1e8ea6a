"""Reading a posted form: its CSRF check first, so a forged post never reaches a command."""

from __future__ import annotations

import logging

from fastapi import Request, Response
from starlette.datastructures import FormData

from app.ui.render import page
from app.ui.session import CSRF_FIELD, CsrfFailure, Visitor, check_csrf

log = logging.getLogger(__name__)


async def read_form(request: Request, person: Visitor) -> FormData | Response:
    """The posted form, or the 403 page to answer with when its CSRF check fails."""
    form = await request.form()
    try:
        check_csrf(request, person, form.get(CSRF_FIELD))
    except CsrfFailure as failure:
        log.warning("ui: refused a form post", extra={"reason": str(failure)})
        return page(request, person, "refused.html", {"reason": str(failure)}, status=403)
    return form
