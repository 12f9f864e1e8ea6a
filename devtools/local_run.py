"""The local run (``python -m services.local``: the API, the relay and the workers in one
process, events on the in-process bus) as a managed process on a free loopback port, for the
browser tests and the demo recording. It migrates its database itself."""

from __future__ import annotations

import os
import secrets
import sys
import urllib.request
from pathlib import Path

from devtools.process import LOOPBACK, ManagedProcess, free_port, wait_until

START_TIMEOUT_S = 60.0


class LocalRun:
    def __init__(self, database_url: str, log_dir: Path) -> None:
        port = free_port()
        self.url = f"http://{LOOPBACK}:{port}"
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "JWT_SECRET": secrets.token_urlsafe(48),
            "LOG_LEVEL": "WARNING",
            "HTTP_PORT": str(free_port()),
        }
        env.pop("KAFKA_BOOTSTRAP", None)  # the in-process bus: the embedded default
        self.process = ManagedProcess(
            "local run",
            [sys.executable, "-m", "services.local", "--host", LOOPBACK, "--port", str(port)],
            log_path=log_dir / "local.log",
            env=env,
        )

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as response:  # noqa: S310
                return bool(response.status == 200)
        except OSError:
            return False

    def start(self) -> None:
        """Start it and wait until it answers /healthz (a start failure names its log)."""
        self.process.start()
        wait_until(
            self.healthy,
            component="local run",
            what=f"GET {self.url}/healthz",
            timeout=START_TIMEOUT_S,
            process=self.process,
        )

    def stop(self) -> None:
        self.process.stop(timeout=10)
