"""A task's priority: three levels, written once (the API's and the chat's type, the column's
check constraint and the list's sort rank all spell these)."""

from __future__ import annotations

from typing import Final, Literal, get_args

Priority = Literal["high", "medium", "low"]
# Highest first: the order the list sorts them in.
PRIORITIES: Final[tuple[Priority, ...]] = get_args(Priority)
