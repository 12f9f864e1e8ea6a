"""argon2id password hashing with bounded memory and CPU.

Each hash holds ``memory_kib`` of memory for its duration. Unbounded (one thread per request),
fifty parallel logins would need fifty times that: an unauthenticated way to push the API past
its pod's memory limit. So at most ``concurrency`` hashes run at once on threads of their own
(not the event loop's default pool, which other work shares), at most ``queue`` more wait for a
turn, and any request beyond that is refused at once with :class:`HashingBusy` (a 503 with
``Retry-After``) instead of waiting in an ever longer line.

Parameters follow OWASP's Password Storage Cheat Sheet for argon2id: 19 MiB of memory, 2
iterations, 1 degree of parallelism (its first listed configuration; the others trade memory
for iterations at equal cost). Two hashes at once add about 38 MiB to the process however many
clients try. Hashes made with other parameters still verify, and are replaced by one with the
current parameters on the next successful login (:meth:`PasswordHashing.verify` returns it).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

T = TypeVar("T")

# How long a refused client is told to wait: about one turn of the queue on a small pod.
RETRY_AFTER_SECONDS = 1


class HashingBusy(Exception):
    """Every hashing slot and queue place is taken; the caller answers 503 + Retry-After."""


@dataclass(frozen=True)
class Verified:
    ok: bool
    # A fresh hash of the password when the stored one used other parameters; store it.
    rehashed: str | None = None


class PasswordHashing:
    def __init__(
        self, *, concurrency: int, queue: int, memory_kib: int = 19_456, iterations: int = 2
    ) -> None:
        self._hasher = PasswordHasher(
            time_cost=iterations, memory_cost=memory_kib, parallelism=1, type=Type.ID
        )
        self._limit = concurrency + queue
        self._admitted = 0
        self._slots = asyncio.Semaphore(concurrency)
        self._threads = ThreadPoolExecutor(concurrency, thread_name_prefix="argon2")
        # Verified against when the account does not exist, so timing does not reveal it.
        self._dummy_hash = self._hasher.hash("not-a-real-password")

    async def hash(self, password: str) -> str:
        return await self._bounded(self._hasher.hash, password)

    async def verify(self, stored_hash: str | None, password: str) -> Verified:
        """Whether ``password`` matches ``stored_hash`` (None: no such account, always False)."""
        ok = await self._bounded(self._check, stored_hash or self._dummy_hash, password)
        if not ok or stored_hash is None:
            return Verified(ok=False)
        if self._hasher.check_needs_rehash(stored_hash):
            return Verified(ok=True, rehashed=await self._bounded(self._hasher.hash, password))
        return Verified(ok=True)

    def _check(self, stored_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(stored_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    async def _bounded(self, work: Callable[..., T], *args: str) -> T:
        # Admission is counted on the event loop (one thread): no lock needed around it.
        if self._admitted >= self._limit:
            raise HashingBusy
        self._admitted += 1
        try:
            async with self._slots:
                loop = asyncio.get_running_loop()
                return await loop.run_in_executor(self._threads, work, *args)
        finally:
            self._admitted -= 1

    def close(self) -> None:
        self._threads.shutdown(wait=False, cancel_futures=True)
