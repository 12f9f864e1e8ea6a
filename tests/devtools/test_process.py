"""The shared process plumbing: ports, deadlines, clean stops, no orphans."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from devtools.process import (
    ComponentError,
    ManagedProcess,
    free_ports,
    log_tail,
    port_accepts,
    wait_until,
)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); it has exited all the same.
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _python(code: str) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(code)]


def test_free_ports_are_distinct_and_bindable() -> None:
    ports = free_ports(5)

    assert len(set(ports)) == 5
    for port in ports:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))
        assert not port_accepts(port)


def test_wait_until_returns_once_the_condition_holds() -> None:
    calls = []

    def third_time() -> bool:
        calls.append(1)
        return len(calls) == 3

    wait_until(third_time, component="demo", what="third call", timeout=5, interval=0.01)

    assert len(calls) == 3


def test_wait_until_raises_at_the_deadline_naming_component_and_condition() -> None:
    with pytest.raises(
        ComponentError, match=r"^demo: gave up after 0.2 s waiting for: never true$"
    ):
        wait_until(lambda: False, component="demo", what="never true", timeout=0.2, interval=0.01)


def test_wait_until_fails_at_once_with_the_log_when_the_process_exits(tmp_path: Path) -> None:
    log = tmp_path / "demo.log"
    process = ManagedProcess(
        "demo", _python("print('boom: bad config', flush=True); raise SystemExit(3)"), log_path=log
    )
    process.start()

    with pytest.raises(ComponentError) as caught:
        wait_until(lambda: False, component="demo", what="ready", timeout=60, process=process)

    message = str(caught.value)
    assert message.startswith("demo: exited with code 3 (while waiting for: ready)")
    assert "boom: bad config" in message
    assert caught.value.log_path == log


def test_stop_uses_the_stop_signal_first(tmp_path: Path) -> None:
    code = """
        import signal, sys, time
        signal.signal(signal.SIGINT, lambda *_: sys.exit(7))
        print('ready', flush=True)
        time.sleep(60)
    """
    process = ManagedProcess(
        "demo", _python(code), log_path=tmp_path / "log", stop_signal=signal.SIGINT
    )
    process.start()
    wait_until(
        lambda: "ready" in log_tail(process.log_path), component="demo", what="ready", timeout=30
    )

    process.stop(timeout=30)

    assert not process.running
    assert process.wait() == 7


def test_stop_escalates_to_sigkill_when_the_signal_is_ignored(tmp_path: Path) -> None:
    code = """
        import signal, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print('ready', flush=True)
        time.sleep(60)
    """
    process = ManagedProcess("demo", _python(code), log_path=tmp_path / "log")
    process.start()
    wait_until(
        lambda: "ready" in log_tail(process.log_path), component="demo", what="ready", timeout=30
    )

    process.stop(timeout=0.5)

    assert not process.running
    assert process.wait() == -signal.SIGKILL


def test_a_server_dies_with_the_process_that_started_it(tmp_path: Path) -> None:
    # The parent starts a server, prints its pid and vanishes without cleaning up (as a test
    # run killed by a CI timeout would); the server must not outlive it.
    parent = f"""
        import os, sys
        from pathlib import Path
        sys.path.insert(0, {str(Path(__file__).parents[2])!r})
        from devtools.process import ManagedProcess
        server = ManagedProcess(
            "demo", [sys.executable, "-c", "import time; time.sleep(60)"],
            log_path=Path({str(tmp_path / "server.log")!r}),
        )
        server.start()
        print(server.pid, flush=True)
        os._exit(0)
    """
    result = subprocess.run(_python(parent), capture_output=True, text=True, check=True)
    server_pid = int(result.stdout)

    wait_until(
        lambda: not _pid_alive(server_pid),
        component="demo",
        what=f"orphaned server pid {server_pid} gone",
        timeout=30,
    )


def test_starting_a_missing_program_names_it(tmp_path: Path) -> None:
    process = ManagedProcess("demo", ["/nonexistent/server"], log_path=tmp_path / "log")

    with pytest.raises(ComponentError, match=r"^demo: cannot run /nonexistent/server: "):
        process.start()
