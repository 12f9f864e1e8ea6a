"""Plumbing shared by the real components that tests and developers start locally.

Free ports on loopback, waiting for a condition under a deadline, temporary directories (owned
by another system user where PostgreSQL needs it), and child processes that stop cleanly:
the component's own stop signal first, SIGKILL only when the deadline passes. On top of those,
the lifecycle every component shares: :class:`Component` (a ``with`` block that cleans up
after a failed start), :class:`LocalServer` (a server with its data in a temporary directory),
:class:`HttpServer` (a process ready once an HTTP path answers 200) and :func:`run_by_hand`
(the ``python -m devtools.*`` entry points).
"""

from __future__ import annotations

import argparse
import ctypes
import fcntl
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import ClassVar, Final, Self, TypedDict, TypeVar, Unpack

LOOPBACK: Final = "127.0.0.1"
LOG_TAIL_LINES: Final = 40
_PR_SET_PDEATHSIG: Final = 1


class ComponentError(RuntimeError):
    """A component could not be prepared, started or used; the message says which and why.

    When the component writes a log, its last lines are part of the message, so a failure in
    CI is diagnosable from the test report alone.
    """

    def __init__(self, component: str, message: str, log_path: Path | None = None) -> None:
        self.component = component
        self.log_path = log_path
        text = f"{component}: {message}"
        if log_path is not None:
            text += f"\n--- last lines of {log_path} ---\n{log_tail(log_path)}"
        super().__init__(text)


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    """The last ``lines`` lines of a log file, or a note saying why there are none."""
    try:
        with path.open("rb") as log:
            # Logs can grow large; only the end matters for a failure message.
            log.seek(0, os.SEEK_END)
            log.seek(max(0, log.tell() - 64 * 1024))
            text = log.read().decode("utf-8", errors="replace")
    except OSError as exc:
        return f"(log not readable: {exc})"
    tail = text.splitlines()[-lines:]
    return "\n".join(tail) if tail else "(log is empty)"


def cache_root() -> Path:
    """Where fetched jars and built binaries live: outside the repository, for every checkout."""
    override = os.environ.get("DEVTOOLS_CACHE_DIR")
    if override:
        return Path(override)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "todo-platform"


@contextmanager
def exclusive_lock(path: Path) -> Iterator[None]:
    """An exclusive lock between processes: a test run and `.ci/run` may fill the cache at once."""
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def free_ports(count: int, host: str = LOOPBACK) -> list[int]:
    """``count`` distinct TCP ports that are free on ``host`` right now.

    All sockets are held open until every port is chosen, so the ports differ from each other.
    Another process may still take one before the caller binds it; components report that as
    an "address in use" start failure naming the port.
    """
    with ExitStack() as stack:
        ports = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind((host, 0))
            ports.append(int(sock.getsockname()[1]))
        return ports


def free_port(host: str = LOOPBACK) -> int:
    """One TCP port that is free on ``host`` right now."""
    return free_ports(1, host)[0]


def port_accepts(port: int, host: str = LOOPBACK, timeout: float = 0.5) -> bool:
    """Whether something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_until(
    condition: Callable[[], bool],
    *,
    component: str,
    what: str,
    timeout: float,
    process: ManagedProcess | None = None,
    interval: float = 0.1,
) -> None:
    """Poll ``condition`` until it holds; raise :class:`ComponentError` at the deadline.

    When ``process`` is given and exits while we wait, fail at once with its log instead of
    waiting out the deadline for something that cannot happen any more.
    """
    deadline = time.monotonic() + timeout
    while not condition():
        if process is not None:
            process.check_alive(f"(while waiting for: {what})")
        if time.monotonic() >= deadline:
            log_path = process.log_path if process is not None else None
            raise ComponentError(
                component, f"gave up after {timeout:g} s waiting for: {what}", log_path
            )
        time.sleep(interval)


def run_as_user() -> str | None:
    """The system user a component that refuses root must run as, or None to run as ourselves."""
    return "postgres" if os.geteuid() == 0 else None


def make_temp_dir(prefix: str, owner: str | None = None) -> Path:
    """A fresh private directory under the system temp dir, handed to ``owner`` if given."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    if owner is not None:
        account = pwd.getpwnam(owner)
        os.chown(path, account.pw_uid, account.pw_gid)
    return path


def remove_tree(path: Path) -> None:
    """Remove a directory tree that this process created; a missing tree is fine."""
    shutil.rmtree(path, ignore_errors=True)


def _die_with_parent(sig: int) -> Callable[[], None]:
    """A ``preexec_fn`` asking Linux to send ``sig`` to the child when its parent dies.

    Without it a test run killed with SIGKILL (CI timeout, OOM) leaves a database server or a
    JVM running forever. The signal is tied to the thread that forked, so components must be
    started from a long-lived thread (the main thread, as pytest fixtures and ``main`` do).
    """

    def set_parent_death_signal() -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0)

    return set_parent_death_signal


@dataclass(frozen=True, slots=True)
class _Identity:
    """Popen's ``user``/``group``/``extra_groups``: who the child runs as (None: as we do)."""

    user: int | None = None
    group: int | None = None
    extra_groups: list[int] | None = None


def _identity(user: str | None) -> _Identity:
    """Run as ``user`` with only that user's primary group, dropping root's other groups."""
    if user is None:
        return _Identity()
    try:
        account = pwd.getpwnam(user)
    except KeyError:
        raise ComponentError(user, f"system user {user!r} does not exist") from None
    return _Identity(account.pw_uid, account.pw_gid, [])


def run_tool(
    component: str,
    argv: Sequence[str],
    *,
    log_path: Path,
    timeout: float,
    user: str | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> None:
    """Run a one-shot command to completion, its output appended to ``log_path``.

    Raises :class:`ComponentError` with the log tail when it fails or overruns ``timeout``.
    """
    identity = _identity(user)
    with log_path.open("ab") as log:
        log.write(f"$ {' '.join(argv)}\n".encode())
        log.flush()
        try:
            completed = subprocess.run(  # noqa: S603 - argv is built by devtools, never a shell
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=dict(env) if env is not None else None,
                cwd=cwd,
                timeout=timeout,
                check=False,
                user=identity.user,
                group=identity.group,
                extra_groups=identity.extra_groups,
            )
        except subprocess.TimeoutExpired:
            raise ComponentError(
                component, f"{Path(argv[0]).name} did not finish in {timeout:.0f} s", log_path
            ) from None
        except OSError as exc:
            raise ComponentError(component, f"cannot run {argv[0]}: {exc}") from exc
    if completed.returncode != 0:
        raise ComponentError(
            component, f"{Path(argv[0]).name} exited with code {completed.returncode}", log_path
        )


class ManagedProcess:
    """A long-running child process (a server) whose output goes to a log file.

    It runs in its own session, so a Ctrl-C in the terminal reaches our handler rather than the
    server directly and servers stop in a controlled order; it dies with its parent.
    """

    def __init__(
        self,
        component: str,
        argv: Sequence[str],
        *,
        log_path: Path,
        stop_signal: int = signal.SIGTERM,
        user: str | None = None,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.component = component
        self.argv = list(argv)
        self.log_path = log_path
        self.stop_signal = stop_signal
        self.user = user
        self.env = dict(env) if env is not None else None
        self.cwd = cwd
        self._popen: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """The process id while started, else None."""
        return self._popen.pid if self._popen is not None else None

    @property
    def running(self) -> bool:
        """Whether the process was started and has not exited."""
        return self._popen is not None and self._popen.poll() is None

    def start(self) -> None:
        """Start the process; its output is appended to the log so restarts keep history."""
        if self.running:
            raise ComponentError(self.component, f"already running as pid {self.pid}")
        identity = _identity(self.user)
        with self.log_path.open("ab") as log:
            try:
                self._popen = subprocess.Popen(  # noqa: S603 - argv is built by devtools
                    self.argv,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=self.env,
                    cwd=self.cwd,
                    start_new_session=True,
                    preexec_fn=_die_with_parent(self.stop_signal),
                    user=identity.user,
                    group=identity.group,
                    extra_groups=identity.extra_groups,
                )
            except OSError as exc:
                raise ComponentError(self.component, f"cannot run {self.argv[0]}: {exc}") from exc

    def check_alive(self, doing: str) -> None:
        """Raise :class:`ComponentError` with the log tail if the process has exited."""
        if self._popen is None:
            raise ComponentError(self.component, f"was never started ({doing})")
        code = self._popen.poll()
        if code is not None:
            raise ComponentError(self.component, f"exited with code {code} {doing}", self.log_path)

    def wait(self) -> int:
        """Block until the process exits; its exit code."""
        if self._popen is None:
            raise ComponentError(self.component, "was never started")
        return self._popen.wait()

    def stop(self, timeout: float) -> None:
        """Send the stop signal, then SIGKILL if it has not exited within ``timeout`` seconds."""
        popen = self._popen
        if popen is None or popen.poll() is not None:
            return
        popen.send_signal(self.stop_signal)
        try:
            popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            popen.kill()
            popen.wait()


class Component(ABC):
    """Something that runs between :meth:`start` and :meth:`close`, usable as a ``with`` block.

    A start that fails part-way closes what it did start, so no process or temporary directory
    outlives a ``with`` statement whose start raised (or was interrupted with Ctrl-C).
    """

    @abstractmethod
    def start(self) -> None:
        """Start and wait until usable; raise :class:`ComponentError` when that cannot happen."""

    @abstractmethod
    def close(self) -> None:
        """Stop and release everything :meth:`start` took; safe to call more than once."""

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class ServerOptions(TypedDict, total=False):
    """What every :class:`LocalServer` takes: its client port (None or absent: a free one), the
    directory its log outlives it in, and how long its start may take (60 s)."""

    port: int | None
    log_dir: Path | None
    startup_timeout: float


class LocalServer(Component):
    """A server of ours on a loopback port, with its data in a temporary directory.

    The first :meth:`start` prepares the directory (:meth:`_initialise`); :meth:`stop` then
    :meth:`start` reuse the same port and data, which fault tests rely on; :meth:`close` stops the
    server and deletes the directory. The log goes to ``log_dir/<component>.log`` when ``log_dir``
    is given (so it outlives the server, for debugging), else into the temporary directory.
    """

    component: ClassVar[str]
    stop_timeout: ClassVar[float]
    probe_interval: ClassVar[float] = 0.1

    host: str
    port: int

    def __init__(self, **options: Unpack[ServerOptions]) -> None:
        port = options.get("port")
        self.host = LOOPBACK
        self.port = port if port is not None else free_port()
        self.startup_timeout = options.get("startup_timeout", 60.0)
        self._log_dir = options.get("log_dir")
        self._root: Path | None = None
        self.process: ManagedProcess | None = None

    @property
    def log_path(self) -> Path | None:
        """The server log, once the server was first started."""
        return self.process.log_path if self.process is not None else None

    @property
    def running(self) -> bool:
        """Whether the server process is up."""
        return self.process is not None and self.process.running

    @property
    @abstractmethod
    def serving_what(self) -> str:
        """What :meth:`start` waits for, as its deadline error names it."""

    @abstractmethod
    def _serving(self) -> bool:
        """Whether the started server answers its clients yet."""

    @abstractmethod
    def _initialise(self) -> ManagedProcess:
        """Prepare the data directory (see :meth:`_make_dirs`); the server process to run."""

    def start(self) -> None:
        """Start the server (initialising its data the first time) and wait until it serves."""
        if self.process is None:
            self.process = self._initialise()
        self.process.start()
        wait_until(
            self._serving,
            component=self.component,
            what=self.serving_what,
            timeout=self.startup_timeout,
            process=self.process,
            interval=self.probe_interval,
        )

    def stop(self) -> None:
        """Stop the server with its own stop signal; the port and the data stay."""
        if self.process is not None:
            self.process.stop(self.stop_timeout)

    def close(self) -> None:
        """Stop the server and delete its data directory."""
        self.stop()
        if self._root is not None:
            remove_tree(self._root)
            self._root = None
        self.process = None

    def serve_until_interrupted(self) -> None:
        """Say where the log is, then block until Ctrl-C (or SIGTERM, see :func:`run_by_hand`).

        Raises :class:`ComponentError` with the log tail if the server dies on its own first.
        """
        if self.process is None:
            raise ComponentError(self.component, "was never started")
        try:
            # Inside the try: an interrupt right after the line is printed is a normal stop.
            print(f"# log: {self.log_path}  (Ctrl-C stops and deletes the data)", flush=True)
            self.process.wait()
        except KeyboardInterrupt:
            return
        self.process.check_alive("on its own")

    def _make_dirs(self, owner: str | None = None) -> tuple[Path, Path]:
        """A fresh temporary directory (handed to ``owner`` if given) and an empty log file."""
        root = make_temp_dir(f"todo-{self.component}-", owner=owner)
        self._root = root
        log_dir = self._log_dir if self._log_dir is not None else root
        log_dir.mkdir(parents=True, exist_ok=True)
        log_path = log_dir / f"{self.component}.log"
        log_path.write_bytes(b"")
        return root, log_path


def answers_200(url: str) -> bool:
    """Whether GET ``url`` answers 200 right now."""
    try:
        with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - loopback URLs
            return bool(response.status == 200)
    except OSError:
        return False


class HttpServer(Component):
    """A server process answering HTTP on a loopback port; ready once GET ``ready_path`` is 200.

    ``argv`` must make the server listen on ``port`` (callers take one from :func:`free_port`).
    Its output goes to ``log_path``, which this class never deletes.
    """

    def __init__(
        self,
        component: str,
        argv: Sequence[str],
        *,
        port: int,
        ready_path: str,
        log_path: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        start_timeout: float = 30.0,
        stop_timeout: float = 10.0,
    ) -> None:
        self.port = port
        self.url = f"http://{LOOPBACK}:{port}"
        self.ready_url = f"{self.url}{ready_path}"
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.process = ManagedProcess(component, argv, log_path=log_path, env=env, cwd=cwd)

    @property
    def log_path(self) -> Path:
        return self.process.log_path

    def start(self) -> None:
        """Start the process and wait until it answers ``ready_path`` with 200."""
        self.process.start()
        self.wait_for(lambda: answers_200(self.ready_url), f"GET {self.ready_url}")

    def wait_for(
        self, condition: Callable[[], bool], what: str, timeout: float | None = None
    ) -> None:
        """Poll ``condition`` (default deadline: the start timeout); fail with the server's log."""
        wait_until(
            condition,
            component=self.process.component,
            what=what,
            timeout=self.start_timeout if timeout is None else timeout,
            process=self.process,
        )

    def stop(self) -> None:
        """Stop the process (its stop signal, then SIGKILL after the stop timeout)."""
        self.process.stop(self.stop_timeout)

    def close(self) -> None:
        """Stop the process; its log stays."""
        self.stop()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def run_by_hand(serve: Callable[[], None]) -> None:
    """Run a ``python -m devtools.*`` command: ``serve`` until Ctrl-C or SIGTERM.

    SIGTERM raises KeyboardInterrupt, so `kill <pid>` cleans up the way Ctrl-C does. A
    :class:`ComponentError` exits with its message; an interrupt while starting exits with 130,
    everything started being stopped already.
    """
    # Install the Ctrl-C handler explicitly: a process started from a background job of a
    # non-interactive shell (CI runners, `cmd &`) inherits SIGINT as *ignored*, and Python then
    # leaves it ignored, so Ctrl-C (or `kill -INT`) would never stop the server.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        serve()
    except ComponentError as exc:
        sys.exit(f"error: {exc}")
    except KeyboardInterrupt:
        sys.exit(130)


Server = TypeVar("Server", bound=LocalServer)


def command_line(module: str, description: str, *, port_help: str) -> argparse.ArgumentParser:
    """The argument parser of ``python -m <module>`` serving a :class:`LocalServer`, with its
    ``--port`` (a free one when not given)."""
    parser = argparse.ArgumentParser(prog=f"python -m {module}", description=description)
    parser.add_argument("--port", type=int, default=None, help=port_help)
    return parser


def serve_by_hand(start: Callable[[], Server], ready: Callable[[Server], Iterable[str]]) -> None:
    """Serve a :class:`LocalServer` by hand (see :func:`run_by_hand`): ``start`` it, let
    ``ready`` prepare it and give the lines to print (what a developer exports to use it), then
    serve until Ctrl-C or SIGTERM; leaving stops it and deletes its data."""

    def serve() -> None:
        with start() as server:
            for line in ready(server):
                print(line, flush=True)
            server.serve_until_interrupted()

    run_by_hand(serve)
