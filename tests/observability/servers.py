"""Prometheus and Alertmanager (Debian's packages) as real processes on loopback for tests,
and our worker processes for Prometheus to scrape.

Each runs in its own temporary directory on a free 127.0.0.1 port; Alertmanager with
clustering off (``--cluster.listen-address=``), so it never gossips on the network.
"""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any, Final

import yaml

from devtools.process import (
    LOOPBACK,
    ComponentError,
    HttpServer,
    free_port,
    make_temp_dir,
    remove_tree,
)
from tests.observability.tools import debian_tool, unavailable

START_TIMEOUT_S: Final = 30.0
HTTP_TIMEOUT_S: Final = 5.0


def _http(url: str, body: Any = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(  # noqa: S310 - loopback URLs built here
        url, data=data, headers={"Content-Type": "application/json"} if data else {}
    )
    with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S) as response:  # noqa: S310
        text = response.read().decode()
    return json.loads(text) if text else None


class _Server(HttpServer):
    """A Debian-packaged server in a temporary directory of its own, deleted on close."""

    component: str

    def __init__(self, argv_tail: list[str], binary: str) -> None:
        port = free_port()
        self.dir = make_temp_dir(f"todo-{self.component}-")
        super().__init__(
            self.component,
            [binary, *argv_tail, f"--web.listen-address={LOOPBACK}:{port}"],
            port=port,
            ready_path="/-/ready",
            log_path=self.dir / f"{self.component}.log",
            cwd=self.dir,
            start_timeout=START_TIMEOUT_S,
        )

    def start(self) -> None:
        try:
            super().start()
        except ComponentError as error:
            self.close()
            unavailable(str(error))

    def close(self) -> None:
        super().close()
        remove_tree(self.dir)


class Prometheus(_Server):
    """``config`` is prometheus.yml; ``rule_groups`` are written to a rule file it loads."""

    component = "prometheus"

    def __init__(self, config: dict[str, Any], rule_groups: list[dict[str, Any]]) -> None:
        binary = debian_tool("prometheus", "prometheus")
        super().__init__(["--config.file=prometheus.yml", "--storage.tsdb.path=data"], binary)
        (self.dir / "rules.yml").write_text(yaml.safe_dump({"groups": rule_groups}))
        (self.dir / "prometheus.yml").write_text(
            yaml.safe_dump({**config, "rule_files": [str(self.dir / "rules.yml")]})
        )

    def query(self, expr: str) -> list[dict[str, Any]]:
        """The instant vector ``expr`` evaluates to now."""
        params = urllib.parse.urlencode({"query": expr})
        answer = _http(f"{self.url}/api/v1/query?{params}")
        result: list[dict[str, Any]] = answer["data"]["result"]
        return result

    def value(self, expr: str) -> float | None:
        """The value of ``expr``, which selects at most one series; None while it has none."""
        result = self.query(expr)
        if len(result) > 1:
            raise AssertionError(f"{expr} selects {len(result)} series, expected at most one")
        return float(result[0]["value"][1]) if result else None

    def by_label(self, expr: str, label: str) -> dict[str, float]:
        """The series of ``expr`` as ``{value of label: sample value}``."""
        return {series["metric"][label]: float(series["value"][1]) for series in self.query(expr)}

    def alerts(self, name: str | None = None) -> list[dict[str, Any]]:
        """Active (pending or firing) alerts; only those called ``name`` when given."""
        alerts: list[dict[str, Any]] = _http(f"{self.url}/api/v1/alerts")["data"]["alerts"]
        return [a for a in alerts if name is None or a["labels"]["alertname"] == name]

    def settles(self, what: str, read: Callable[[], object], expected: object) -> None:
        """Wait until ``read()`` returns ``expected``; at the deadline fail showing the last value.

        For exact counts: a value that overshoots never settles, and the failure says what
        was seen instead.
        """
        last: list[object] = []

        def holds() -> bool:
            last[:] = [read()]
            return last[0] == expected

        try:
            self.wait_for(holds, f"{what} == {expected!r}")
        except ComponentError as error:
            seen = repr(last[0]) if last else "nothing"
            raise AssertionError(f"{what}: expected {expected!r}, last saw {seen}") from error

    def rule_groups(self) -> list[dict[str, Any]]:
        groups: list[dict[str, Any]] = _http(f"{self.url}/api/v1/rules")["data"]["groups"]
        return groups


class Alertmanager(_Server):
    component = "alertmanager"

    def __init__(self, config: dict[str, Any]) -> None:
        binary = debian_tool("prometheus-alertmanager", "prometheus-alertmanager")
        super().__init__(
            [
                "--config.file=alertmanager.yml",
                "--storage.path=data",
                # Clustering off: a single instance that never listens for gossip.
                "--cluster.listen-address=",
            ],
            binary,
        )
        (self.dir / "alertmanager.yml").write_text(yaml.safe_dump(config))

    def post(self, alerts: list[dict[str, Any]]) -> None:
        _http(f"{self.url}/api/v2/alerts", alerts)

    def alerts(self) -> list[dict[str, Any]]:
        alerts: list[dict[str, Any]] = _http(f"{self.url}/api/v2/alerts")
        return alerts
