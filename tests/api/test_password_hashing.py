"""Password hashing: bounded concurrency and queue, OWASP parameters, rehash on login."""

from __future__ import annotations

import asyncio
import uuid

from argon2 import PasswordHasher, extract_parameters
from sqlalchemy import func, select, update

from app.auth.hashing import HashingBusy, PasswordHashing
from app.core.db.models import User
from tests.api.conftest import Api


async def test_beyond_the_running_and_queued_hashes_requests_are_refused_at_once() -> None:
    hashing = PasswordHashing(concurrency=1, queue=2)
    try:
        # Admission is decided before any await: one runs, two wait, the rest are refused.
        outcomes = await asyncio.gather(
            *(hashing.hash(f"password {n}") for n in range(6)), return_exceptions=True
        )
        hashes = [outcome for outcome in outcomes if isinstance(outcome, str)]
        refused = [outcome for outcome in outcomes if isinstance(outcome, HashingBusy)]
        assert (len(hashes), len(refused)) == (3, 3)
        # Once the line is gone, hashing works again.
        assert (await hashing.verify(hashes[0], "password 0")).ok
    finally:
        hashing.close()


async def test_hashes_use_owasp_argon2id_parameters_and_unknown_accounts_never_verify() -> None:
    hashing = PasswordHashing(concurrency=2, queue=0)
    try:
        made = await hashing.hash("correct horse")
        parameters = extract_parameters(made)
        assert (parameters.type.name, parameters.memory_cost, parameters.time_cost) == (
            "ID",
            19_456,
            2,
        )
        assert parameters.parallelism == 1
        assert (await hashing.verify(made, "correct horse")).ok
        assert not (await hashing.verify(made, "wrong horse")).ok
        assert not (await hashing.verify(None, "not-a-real-password")).ok  # the dummy's own
        assert not (await hashing.verify("not an argon2 hash", "x")).ok
    finally:
        hashing.close()


async def test_a_hash_with_older_parameters_verifies_and_is_replaced_on_login(api: Api) -> None:
    email, password = f"rehash-{uuid.uuid4().hex[:8]}@example.com", "correct horse"
    registered = await api.client.post(
        "/auth/register", json={"email": email, "password": password}
    )
    assert registered.status_code == 201
    # What the previous release stored: argon2-cffi's default (64 MiB, t=3, p=4).
    legacy = PasswordHasher(memory_cost=65_536, time_cost=3, parallelism=4).hash(password)
    async with api.sessions() as db:
        await db.execute(
            update(User).where(func.lower(User.email) == email).values(password_hash=legacy)
        )
        await db.commit()

    login = await api.client.post("/auth/token", data={"username": email, "password": password})
    assert login.status_code == 200
    async with api.sessions() as db:
        stored = await db.scalar(select(User.password_hash).where(func.lower(User.email) == email))
    assert stored is not None
    assert stored != legacy
    assert extract_parameters(stored).memory_cost == 19_456
    again = await api.client.post("/auth/token", data={"username": email, "password": password})
    assert again.status_code == 200
