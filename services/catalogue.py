"""The workers of the process catalogue (:mod:`app.core.processes`), by process name.

Each worker process of the catalogue has a package ``services/<name>`` whose ``worker`` module
defines ``WORKER``; the runners look them up here instead of listing them by hand.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib import import_module
from typing import Any

from app.core.processes import WORKERS
from services.common.worker import Worker

WORKER_NAMES: tuple[str, ...] = tuple(spec.name for spec in WORKERS)


def worker(name: str) -> Worker[Any]:
    """The ``WORKER`` of the catalogue's process ``name`` (a ``LookupError`` if it is none)."""
    if name not in WORKER_NAMES:
        raise LookupError(
            f"no worker process {name!r}: the catalogue has {', '.join(WORKER_NAMES)}"
        )
    found: Worker[Any] = import_module(f"services.{name}.worker").WORKER
    if found.name != name:
        raise LookupError(f"services/{name}/worker.py defines the worker of {found.name!r}")
    return found


def workers(names: Iterable[str]) -> list[Worker[Any]]:
    return [worker(name) for name in names]
