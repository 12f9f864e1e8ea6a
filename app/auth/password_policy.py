"""What a new password may not be: one of the commonest passwords, only whitespace, or the
account's own e-mail address.

The common passwords are zxcvbn's ranked list (30,000 entries drawn from leaked-password
corpora; the library is maintained and bundles the list, so nothing is fetched at run time).
Length limits are the request schema's (8-128 characters).
"""

from __future__ import annotations

from zxcvbn.matching import RANKED_DICTIONARIES

_COMMON: dict[str, int] = RANKED_DICTIONARIES["passwords"]


def password_problem(password: str, email: str | None) -> str | None:
    """Why ``password`` is refused for the account ``email``, or None when it is acceptable."""
    if not password.strip():
        return "must not be only spaces"
    folded = password.strip().lower()
    if email and folded in {email.strip().lower(), email.strip().lower().split("@")[0]}:
        return "must not be your e-mail address"
    if folded in _COMMON:
        return "is one of the most common passwords; choose another"
    return None
