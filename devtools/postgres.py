"""A throwaway PostgreSQL server for tests and local runs, from Debian's ``postgresql`` package.

``initdb`` into a temporary directory, then ``postgres`` in the foreground (no ``pg_ctl``
daemon, so the process is ours to stop), listening on 127.0.0.1 only, on a free port, with its
unix socket inside the temporary directory. Durability is switched off (fsync, full page
writes, synchronous commit): it is a test database and speed matters more than crash safety.
Trust authentication on loopback is acceptable for the same reason: it holds no real data and
is gone when the run ends.

initdb refuses to run as root, so as root both initdb and the server run as the ``postgres``
system user that the Debian package creates; as anyone else they run as that user.

Run by hand: ``python -m devtools.postgres`` prints a DATABASE_URL and serves until Ctrl-C.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import uuid
from pathlib import Path
from typing import Final, Unpack

from devtools.process import (
    LOOPBACK,
    ComponentError,
    LocalServer,
    ManagedProcess,
    ServerOptions,
    command_line,
    run_as_user,
    run_tool,
    serve_by_hand,
)

COMPONENT: Final = "postgres"
SUPERUSER: Final = "postgres"
STOP_TIMEOUT_S: Final = 30.0
# PostgreSQL's identifier limit is 63 bytes; lower case keeps names free of quoting surprises.
_DATABASE_NAME: Final = re.compile(r"[a-z_][a-z0-9_]{0,62}\Z")
_SERVER_SETTINGS: Final = {
    "listen_addresses": LOOPBACK,
    "max_connections": "200",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    # JIT compilation costs more than it saves on the small queries tests run.
    "jit": "off",
    "log_line_prefix": "%m [%p] %q%u@%d ",
    "log_timezone": "UTC",
    "timezone": "UTC",
}


def find_bindir() -> Path:
    """The directory holding ``initdb`` and ``postgres``: $PG_BINDIR, Debian's newest, or PATH."""
    override = os.environ.get("PG_BINDIR")
    if override:
        bindir = Path(override)
        if not (bindir / "initdb").is_file():
            raise ComponentError(COMPONENT, f"PG_BINDIR={override} holds no initdb")
        return bindir
    debian = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda path: int(path.parent.parent.name) if path.parent.parent.name.isdigit() else 0,
    )
    if debian:
        return debian[-1].parent
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).parent
    raise ComponentError(
        COMPONENT,
        "initdb not found: install the Debian package `postgresql` or set PG_BINDIR",
    )


def check_database_name(name: str) -> str:
    """``name`` if it is a valid database name here, else a ValueError saying what is wrong."""
    if not _DATABASE_NAME.match(name):
        raise ValueError(
            f"database name {name!r} is invalid: use 1-63 lower-case letters, digits or "
            "underscores, starting with a letter or underscore"
        )
    return name


class PostgresServer(LocalServer):
    """One PostgreSQL server in a temporary directory; stop/start keeps its data.

    ``stop()`` is a fast shutdown (open sessions are ended); the log is ``postgres.log`` (see
    :class:`LocalServer`).
    """

    component = COMPONENT
    stop_timeout = STOP_TIMEOUT_S

    user: str

    def __init__(self, *, bindir: Path | None = None, **options: Unpack[ServerOptions]) -> None:
        super().__init__(**options)
        self.user = SUPERUSER
        self._bindir = bindir

    @property
    def serving_what(self) -> str:
        return f"accepting connections on {self.host}:{self.port}"

    def url(self, database: str = "postgres", driver: str = "postgresql+asyncpg") -> str:
        """A connection URL for ``database``; ``driver="postgresql"`` gives a libpq/asyncpg one."""
        return f"{driver}://{self.user}@{self.host}:{self.port}/{check_database_name(database)}"

    def create_database(self, name: str | None = None) -> str:
        """Create a fresh, empty database; its name (a unique one when ``name`` is None)."""
        name = check_database_name(name if name is not None else f"test_{uuid.uuid4().hex[:16]}")
        self._psql(f'CREATE DATABASE "{name}"')
        return name

    def drop_database(self, name: str) -> None:
        """Drop a database, disconnecting its sessions; a missing database is fine."""
        self._psql(f'DROP DATABASE IF EXISTS "{check_database_name(name)}" WITH (FORCE)')

    def _initialise(self) -> ManagedProcess:
        bindir = self._bindir if self._bindir is not None else find_bindir()
        self._bindir = bindir
        owner = run_as_user()
        root, log_path = self._make_dirs(owner)
        data = root / "data"
        run_tool(
            COMPONENT,
            [
                str(bindir / "initdb"),
                f"--pgdata={data}",
                f"--username={SUPERUSER}",
                "--auth=trust",
                "--encoding=UTF8",
                # C collation: byte order, the same order SQLite (the local default) sorts in.
                "--locale=C",
                "--no-sync",
                "--no-instructions",
            ],
            log_path=log_path,
            timeout=120,
            user=owner,
        )
        settings = {
            **_SERVER_SETTINGS,
            "port": str(self.port),
            "unix_socket_directories": str(root),
        }
        argv = [str(bindir / "postgres"), "-D", str(data)]
        for key, value in settings.items():
            argv += ["-c", f"{key}={value}"]
        # SIGINT is PostgreSQL's "fast" shutdown; SIGTERM would wait for every client to leave.
        return ManagedProcess(
            COMPONENT, argv, log_path=log_path, stop_signal=signal.SIGINT, user=owner
        )

    def _serving(self) -> bool:
        assert self._bindir is not None
        probe = subprocess.run(  # noqa: S603 - fixed argv
            [
                str(self._bindir / "pg_isready"),
                "--quiet",
                f"--host={self.host}",
                f"--port={self.port}",
                f"--username={self.user}",
                "--dbname=postgres",
                "--timeout=1",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )
        return probe.returncode == 0

    def _psql(self, sql: str) -> None:
        if self.process is None or not self.process.running:
            raise ComponentError(COMPONENT, f"server is not running (cannot run: {sql})")
        assert self._bindir is not None
        run_tool(
            COMPONENT,
            [
                str(self._bindir / "psql"),
                "--no-psqlrc",
                "--quiet",
                "--set=ON_ERROR_STOP=1",
                f"--host={self.host}",
                f"--port={self.port}",
                f"--username={self.user}",
                "--dbname=postgres",
                f"--command={sql}",
            ],
            log_path=self.process.log_path,
            timeout=60,
        )


def main(argv: list[str] | None = None) -> None:
    """Start a server, create a database, print its DATABASE_URL and serve until Ctrl-C."""
    parser = command_line(
        "devtools.postgres",
        "Run a throwaway PostgreSQL server on 127.0.0.1 until Ctrl-C.",
        port_help="port (default: a free one)",
    )
    parser.add_argument("--database", default="todo", help="database to create and print a URL for")
    args = parser.parse_args(argv)
    try:
        database = check_database_name(args.database)
    except ValueError as exc:
        parser.error(str(exc))

    def ready(server: PostgresServer) -> list[str]:
        if database != "postgres":
            server.create_database(database)
        return [f"DATABASE_URL={server.url(database)}"]

    serve_by_hand(lambda: PostgresServer(port=args.port), ready)


if __name__ == "__main__":
    main()
