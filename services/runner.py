"""The runner: any set of the catalogue's workers, in one process or one process each.

    python -m services.runner relay audit          # both in this process (one HTTP port)
    python -m services.runner --each relay audit   # each as its own process, supervised
    python -m services.runner --all [--each]       # every worker of the catalogue

In one process the workers share a database pool, a metrics registry and one HTTP server
(``/healthz``, ``/readyz``, ``/metrics`` for all of them). With ``--each`` every worker runs
its catalogue command (``python -m services.<name>``) with this environment; SIGTERM or SIGINT
is passed on to all of them, and when one exits the others are stopped too and the runner exits
with the first failure's code (0 when all stopped cleanly). The per-process ``HTTP_PORT`` is the
given one plus the worker's position in the list, so their probes do not collide.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from types import FrameType
from typing import Any, Final

from services.catalogue import WORKER_NAMES, workers
from services.common.process import run
from services.common.worker import Worker

# After SIGTERM, how long the children get to finish their batches before they are killed.
CHILD_GRACE_S: Final = 30.0


def run_each(chosen: Sequence[Worker[Any]], environ: dict[str, str]) -> int:
    """Start every worker as its own process (its catalogue command) and supervise them."""
    base_port = int(environ.get("HTTP_PORT", "8080"))
    children: dict[str, subprocess.Popen[bytes]] = {}

    def stop_all(signum: int, _frame: FrameType | None = None) -> None:
        for child in children.values():
            if child.poll() is None:
                child.send_signal(signum)

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, stop_all)
    for position, worker in enumerate(chosen):
        command = worker.process.command
        env = {**environ, "HTTP_PORT": str(base_port + position)}
        # The catalogue's "python" is the image's interpreter; here it is this one.
        argv = [sys.executable, *command[1:]] if command[0] == "python" else list(command)
        children[worker.name] = subprocess.Popen(argv, env=env)  # noqa: S603 - the catalogue's
    # Until the first child exits (a signal passed on makes them all exit); WNOWAIT leaves it
    # to Popen to collect, so its exit code is not lost.
    os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOWAIT)
    stop_all(signal.SIGTERM)
    deadline = time.monotonic() + CHILD_GRACE_S
    failure = 0
    for name, child in children.items():
        try:
            code = child.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            code = child.wait()
        if code != 0 and failure == 0:
            print(f"runner: {name} exited with {code}", file=sys.stderr)
            failure = code if code > 0 else 1
    return failure


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("names", nargs="*", metavar="WORKER", help=", ".join(WORKER_NAMES))
    parser.add_argument("--all", action="store_true", help="every worker of the catalogue")
    parser.add_argument("--each", action="store_true", help="one process per worker")
    args = parser.parse_args(argv)
    names = list(WORKER_NAMES) if args.all else args.names
    if not names or (args.all and args.names):
        parser.error("name the workers, or give --all alone")
    if len(set(names)) != len(names):
        parser.error("a worker is named twice")
    try:
        chosen = workers(names)
    except LookupError as exc:
        parser.error(str(exc))
    if args.each:
        raise SystemExit(run_each(chosen, dict(os.environ)))
    run(*chosen)


if __name__ == "__main__":
    main()
