"""The API as a real process (uvicorn) on a free loopback port, for e2e tests and benchmarks.

Runs the migrations first, as the deployment's migration Job does, then serves until stopped.
"""

from __future__ import annotations

import os
import secrets
import sys
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Final, Self

from app.db.migrate import upgrade
from devtools.process import LOOPBACK, ManagedProcess, free_port, make_temp_dir, wait_until

COMPONENT: Final = "api"
START_TIMEOUT_S: Final = 30.0


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=1) as response:  # noqa: S310
            return bool(response.status == 200)
    except OSError:
        return False


class ApiServer:
    def __init__(
        self,
        database_url: str,
        *,
        env: Mapping[str, str] | None = None,
        workers: int = 1,
        log_dir: Path | None = None,
    ) -> None:
        self.database_url = database_url
        self.port = free_port()
        self.url = f"http://{LOOPBACK}:{self.port}"
        self.jwt_secret = secrets.token_urlsafe(48)
        self.log_dir = log_dir or make_temp_dir("todo-api-")
        self._env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "JWT_SECRET": self.jwt_secret,
            "LOG_LEVEL": "WARNING",
            **(env or {}),
        }
        self._process = ManagedProcess(
            COMPONENT,
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "app.main:create_app",
                "--host",
                LOOPBACK,
                "--port",
                str(self.port),
                "--workers",
                str(workers),
                "--no-access-log",
            ],
            log_path=self.log_dir / "api.log",
            env=self._env,
        )

    @property
    def pid(self) -> int | None:
        return self._process.pid

    def pids(self) -> list[int]:
        """The server process and, with several uvicorn workers, its worker children."""
        if self.pid is None:
            return []
        children = Path(f"/proc/{self.pid}/task/{self.pid}/children")
        extra = [int(p) for p in children.read_text().split()] if children.exists() else []
        return [self.pid, *extra]

    def start(self) -> None:
        upgrade(self.database_url)
        self._process.start()
        wait_until(
            lambda: _healthy(self.url),
            component=COMPONENT,
            what=f"GET {self.url}/healthz",
            timeout=START_TIMEOUT_S,
            process=self._process,
        )

    def stop(self) -> None:
        self._process.stop(timeout=10)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
