"""The API as a real process (uvicorn) on a free loopback port, for e2e tests and benchmarks.

Runs the migrations first, as the deployment's migration Job does, then serves until stopped.
"""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from app.core.db.migrate import upgrade
from devtools.process import LOOPBACK, HttpServer, free_port, make_temp_dir

COMPONENT: Final = "api"
START_TIMEOUT_S: Final = 30.0


class ApiServer(HttpServer):
    def __init__(
        self,
        database_url: str,
        *,
        env: Mapping[str, str] | None = None,
        workers: int = 1,
        log_dir: Path | None = None,
    ) -> None:
        port = free_port()
        self.database_url = database_url
        self.jwt_secret = secrets.token_urlsafe(48)
        self.log_dir = log_dir or make_temp_dir("todo-api-")
        environment = {
            **os.environ,
            "DATABASE_URL": database_url,
            "JWT_SECRET": self.jwt_secret,
            "LOG_LEVEL": "WARNING",
            # Harness runs sign many users up from loopback; the throttle's own tests lower it.
            "SIGNUPS_PER_ADDRESS": "100000",
            **(env or {}),
        }
        super().__init__(
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
                str(port),
                "--workers",
                str(workers),
                "--no-access-log",
                # As deployed: the app judges X-Forwarded-* (TRUSTED_PROXIES), not uvicorn.
                "--no-proxy-headers",
            ],
            port=port,
            ready_path="/healthz",
            log_path=self.log_dir / "api.log",
            env=environment,
            start_timeout=START_TIMEOUT_S,
        )

    @property
    def pid(self) -> int | None:
        return self.process.pid

    def pids(self) -> list[int]:
        """The server process and, with several uvicorn workers, its worker children."""
        if self.pid is None:
            return []
        children = Path(f"/proc/{self.pid}/task/{self.pid}/children")
        extra = [int(p) for p in children.read_text().split()] if children.exists() else []
        return [self.pid, *extra]

    def start(self) -> None:
        upgrade(self.database_url)
        super().start()
