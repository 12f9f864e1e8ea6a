"""Reading a posted form: its CSRF check first, so a forged post never reaches a command."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import Depends, Request
from starlette.datastructures import FormData

from app.ui.session import CSRF_FIELD, CsrfFailure, Visit, Visitor, check_csrf

log = logging.getLogger(__name__)


class RefusedPost(Exception):
    """A form post whose CSRF check failed: answered with the 403 page (see :func:`install`)."""

    def __init__(self, person: Visitor, reason: str) -> None:
        super().__init__(reason)
        self.person = person
        self.reason = reason


async def posted_form(request: Request, person: Visit) -> FormData:
    """The posted form, once its CSRF check passed; a dependency, so every page that takes a
    post checks it before its handler runs."""
    form = await request.form()
    try:
        check_csrf(request, person, form.get(CSRF_FIELD))
    except CsrfFailure as failure:
        log.warning("ui: refused a form post", extra={"reason": str(failure)})
        raise RefusedPost(person, str(failure)) from None
    return form


PostedForm = Annotated[FormData, Depends(posted_form)]
