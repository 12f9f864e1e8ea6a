"""The throwaway PostgreSQL server: isolated databases, real stops, restarts that keep data."""

from __future__ import annotations

import asyncio
import ipaddress
import os
import pwd
import signal
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from devtools.postgres import PostgresServer
from devtools.process import ComponentError, port_accepts
from tests.devtools.subprocesses import (
    read_lines,
    run_module,
    start_error_on_taken_port,
    wait_port_closed,
)


async def _fetch(url: str, query: str) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(url)
    try:
        return await connection.fetch(query)
    finally:
        await connection.close()


async def _execute(url: str, *statements: str) -> None:
    connection = await asyncpg.connect(url)
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


async def _database_names(server: PostgresServer) -> set[str]:
    rows = await _fetch(server.url(driver="postgresql"), "SELECT datname FROM pg_database")
    return {row["datname"] for row in rows}


def _uid_of(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return int(line.split()[1])
    raise AssertionError(f"no Uid line for pid {pid}")


def _listening_addresses(port: int) -> set[str]:
    """The local addresses with a TCP socket listening on ``port`` (IPv4 and IPv6)."""
    listening = "0A"
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == listening and int(hex_port, 16) == port:
                found.add(
                    str(ipaddress.IPv4Address(bytes.fromhex(address)[::-1]))
                    if len(address) == 8
                    else f"ipv6:{address}"
                )
    return found


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[PostgresServer]:
    """A server of the test's own, for tests that stop it."""
    with PostgresServer(log_dir=tmp_path) as server:
        yield server


async def test_create_database_gives_isolated_empty_databases(postgres: PostgresServer) -> None:
    first = postgres.create_database()
    second = postgres.create_database()

    await _execute(
        postgres.url(first, driver="postgresql"),
        "CREATE TABLE notes (id int PRIMARY KEY, body text NOT NULL)",
        "INSERT INTO notes VALUES (1, 'only in the first database')",
    )

    assert first != second
    rows = await _fetch(postgres.url(first, driver="postgresql"), "SELECT id, body FROM notes")
    assert [tuple(row) for row in rows] == [(1, "only in the first database")]
    tables = await _fetch(
        postgres.url(second, driver="postgresql"),
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'",
    )
    assert tables == []


async def test_create_database_with_a_chosen_name(postgres: PostgresServer) -> None:
    assert postgres.create_database("chosen_name_db") == "chosen_name_db"

    assert "chosen_name_db" in await _database_names(postgres)
    with pytest.raises(ComponentError, match='database "chosen_name_db" already exists'):
        postgres.create_database("chosen_name_db")


@pytest.mark.parametrize("bad", ["", "Upper", "1starts_with_digit", 'quote"d', "x" * 64, "a-b"])
async def test_invalid_database_names_are_rejected_and_create_nothing(
    postgres: PostgresServer, bad: str
) -> None:
    before = await _database_names(postgres)

    with pytest.raises(ValueError, match=r"database name .* is invalid"):
        postgres.create_database(bad)

    assert await _database_names(postgres) == before


def test_url_names_driver_user_host_port_and_database(postgres: PostgresServer) -> None:
    port = postgres.port

    assert postgres.url() == f"postgresql+asyncpg://postgres@127.0.0.1:{port}/postgres"
    assert postgres.url("app", driver="postgresql") == f"postgresql://postgres@127.0.0.1:{port}/app"


async def test_drop_database_removes_it(postgres: PostgresServer) -> None:
    name = postgres.create_database()
    connection = await asyncpg.connect(postgres.url(name, driver="postgresql"))
    try:
        postgres.drop_database(name)  # FORCE: ends the open session
    finally:
        await connection.close()

    assert name not in await _database_names(postgres)
    postgres.drop_database(name)  # already gone: fine


def test_server_runs_as_postgres_when_root_and_listens_on_loopback_only(
    postgres: PostgresServer,
) -> None:
    assert postgres.process is not None
    assert postgres.process.pid is not None
    expected = pwd.getpwnam("postgres").pw_uid if os.geteuid() == 0 else os.geteuid()

    assert _uid_of(postgres.process.pid) == expected
    assert _listening_addresses(postgres.port) == {"127.0.0.1"}


async def test_stop_really_stops_and_start_keeps_the_data(own_server: PostgresServer) -> None:
    name = own_server.create_database()
    url = own_server.url(name, driver="postgresql")
    await _execute(url, "CREATE TABLE kept (n int)", "INSERT INTO kept VALUES (42)")

    own_server.stop()

    assert not own_server.running
    assert not port_accepts(own_server.port)
    with pytest.raises(ConnectionRefusedError):
        await asyncpg.connect(url, timeout=5)

    own_server.start()

    assert [row["n"] for row in await _fetch(url, "SELECT n FROM kept")] == [42]


def test_close_deletes_the_data_directory(tmp_path: Path) -> None:
    server = PostgresServer(log_dir=tmp_path)
    server.start()
    assert server.process is not None
    data_dir = Path(server.process.argv[server.process.argv.index("-D") + 1])
    assert data_dir.is_dir()

    server.close()

    assert not data_dir.parent.exists()
    assert (tmp_path / "postgres.log").is_file()  # the log outlives the server


def test_a_taken_port_fails_with_the_server_log(tmp_path: Path) -> None:
    message = start_error_on_taken_port(lambda port: PostgresServer(port=port, log_dir=tmp_path))

    assert message.startswith("postgres: exited with code 1")
    assert "could not bind IPv4 address" in message


def test_commands_on_a_stopped_server_say_it_is_not_running(tmp_path: Path) -> None:
    with PostgresServer(log_dir=tmp_path) as server:
        server.stop()

        with pytest.raises(ComponentError, match="postgres: server is not running"):
            server.create_database()


async def test_run_by_hand_prints_a_url_and_cleans_up_on_ctrl_c() -> None:
    async with run_module("devtools.postgres", "--database", "by_hand") as process:
        async with asyncio.timeout(120):
            url_line, log_line = await read_lines(process, 2)
        assert url_line.startswith("DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:")
        assert url_line.endswith("/by_hand")
        url = url_line.removeprefix("DATABASE_URL=").replace("+asyncpg", "")
        assert [row[0] for row in await _fetch(url, "SELECT current_database()")] == ["by_hand"]
        temp_dir = Path(log_line.split()[2]).parent

        process.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(process.wait(), timeout=60) == 0

    wait_port_closed(int(url.rsplit(":", 1)[1].split("/")[0]))
    assert not temp_dir.exists()
