"""The one place that decides whether reminders may be e-mailed to a user's address.

E-mail goes only to a verified address. Verification is being added on another branch
(``harden2``: a column on ``users`` and ``is_email_verified``); until it is merged there is no
verification state to read, so this answers ``True`` for every account, exactly as e-mail was
sent before. Merging wires that branch's check in here, and every caller follows.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession


async def email_verified(session: AsyncSession, owner: uuid.UUID) -> bool:
    del session, owner  # read by the verification check once it is merged (see above)
    return True
