"""Builds the Go programs the deploy tests run, once per version, into the devtools cache.

etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok, the Pulumi CLI and the
Kubernetes provider plugin are built from their Go modules through small wrapper modules kept
under ``devtools/gomod/`` (each go.mod says why it is needed), with ``-trimpath`` and stripped
symbols. A build goes to a temporary directory and is renamed into place when complete, under a
file lock, so concurrent runs build once and never see half a build. The Go module and build
caches live in a scratch directory that is deleted afterwards: they peak at about 15 GB, the
binaries keep under 1 GB.

The cache key is the component's name, version and a hash of its wrapper directory, so editing
a wrapper builds again. ``--status-dir`` makes each component report ``queued``, ``building``,
``ok`` or ``failed`` in ``<name>.json`` there (its log beside it): the test command starts the
builds in the background and the tests that need a binary wait for that file
(:func:`wait_for_component`).

Run by hand: ``python -m devtools.gobuild [component ...]`` builds what is missing and prints
each component's build time; ``python -m devtools.gobuild --list`` lists the components.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from devtools.process import (
    ComponentError,
    cache_root,
    exclusive_lock,
    remove_tree,
    run_tool,
)

COMPONENT: Final = "gobuild"
WRAPPERS: Final = Path(__file__).with_name("gomod")
BUILD_TIMEOUT_S: Final = 3600.0
_POLL_S: Final = 2.0
# The environment variable through which the test command tells the tests where the
# background build reports its progress.
STATUS_DIR_ENV: Final = "DEVTOOLS_GOBUILD_STATUS_DIR"

_K8S_VERSION: Final = "v1.35.4"
# Kubernetes' own build stamps these (hack/lib/version.sh); without them the binaries report
# v0.0.0-master, and clients that check the server version (Helm, the Pulumi provider) balk.
_K8S_LDFLAGS: Final = tuple(
    f"-X {package}.{name}={value}"
    for package in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version")
    for name, value in (
        ("gitVersion", _K8S_VERSION),
        ("gitMajor", "1"),
        ("gitMinor", "35"),
        ("gitTreeState", "clean"),
        ("buildDate", "1970-01-01T00:00:00Z"),
    )
)


@dataclass(frozen=True)
class GoComponent:
    """One wrapper module and the binaries built from it."""

    name: str
    version: str
    # binary name -> package path to build, within the wrapper module's dependency graph
    binaries: Mapping[str, str]
    ldflags: tuple[str, ...] = ()
    # Runs in the copied wrapper directory before `go build` (with the build's environment).
    prepare: Callable[[Path, Mapping[str, str], Path], None] | None = field(default=None)
    # (module, glob) pairs: files of a module kept beside the binaries in assets/ (the module
    # cache is deleted after the build).
    assets: tuple[tuple[str, str], ...] = ()

    @property
    def wrapper(self) -> Path:
        return WRAPPERS / self.name

    def fingerprint(self) -> str:
        digest = hashlib.sha256(self.version.encode())
        for path in sorted(self.wrapper.rglob("*")):
            # go.sum only records checksums; the versions built are go.mod's.
            if path.is_file() and path.name != "go.sum":
                digest.update(path.relative_to(self.wrapper).as_posix().encode())
                digest.update(path.read_bytes())
        digest.update(" ".join(self.ldflags).encode())
        digest.update(repr(self.assets).encode())
        return digest.hexdigest()[:12]

    def target(self) -> Path:
        """The directory holding this component's binaries once built."""
        return cache_root() / "go" / f"{self.name}-{self.version}-{self.fingerprint()}"

    def built(self) -> bool:
        target = self.target()
        return all((target / binary).is_file() for binary in self.binaries)


_PROVIDER_MODULE: Final = "github.com/pulumi/pulumi-kubernetes/provider/v4"
_PROVIDER_CMD: Final = "cmd/pulumi-resource-kubernetes"
# The version the engine asks for: the Python pulumi-kubernetes package pins the same.
_PROVIDER_VERSION: Final = "4.25.0"


def _module_dir(module: str, src: Path, env: Mapping[str, str]) -> Path:
    """Where the module cache holds ``module`` at the version the wrapper in ``src`` resolves."""
    listing = subprocess.run(  # noqa: S603 - argv built here
        ["go", "mod", "download", "-json", module],  # noqa: S607 - go from PATH
        cwd=src,
        env=dict(env),
        capture_output=True,
        check=False,
        text=True,
        timeout=BUILD_TIMEOUT_S,
    )
    if listing.returncode != 0:
        raise ComponentError(
            COMPONENT, f"go mod download {module} failed: {listing.stderr.strip()}"
        )
    return Path(json.loads(listing.stdout)["Dir"])


def _prepare_kubernetes_provider(src: Path, env: Mapping[str, str], log_path: Path) -> None:
    """Copy the provider's main package into the wrapper and write its two embedded files.

    The module zip ships main.go, generate.go, schema.json and terraform-mapping.json but not
    the JSON files main.go embeds; generate.go derives them from those two (no download).
    """
    module_dir = _module_dir(_PROVIDER_MODULE, src, env)
    for source in (module_dir / _PROVIDER_CMD).iterdir():
        if source.is_file():
            shutil.copyfile(source, src / source.name)
    # generate.go (build-tagged `ignore`) needs go.sum entries for what it imports; tidy first.
    for argv in (["go", "mod", "tidy"], ["go", "run", "generate.go"]):
        run_tool(
            COMPONENT,
            argv,
            log_path=log_path,
            timeout=BUILD_TIMEOUT_S,
            env={**env, "VERSION": _PROVIDER_VERSION},
            cwd=src,
        )


COMPONENTS: Final[Mapping[str, GoComponent]] = {
    component.name: component
    for component in (
        GoComponent("etcd", "v3.6.17", {"etcd": "."}),
        GoComponent(
            "kwok",
            "v0.8.0",
            {"kwok": "sigs.k8s.io/kwok/cmd/kwok"},
            # kwok plays no node or pod lifecycle without stages; the module ships these.
            assets=tuple(
                ("sigs.k8s.io/kwok", f"kustomize/stage/{stage}/*.yaml")
                for stage in ("node/fast", "node/heartbeat-with-lease", "pod/fast")
            ),
        ),
        GoComponent(
            "kubernetes",
            _K8S_VERSION,
            {
                name: f"k8s.io/kubernetes/cmd/{name}"
                for name in ("kube-apiserver", "kube-controller-manager", "kube-scheduler")
            },
            _K8S_LDFLAGS,
        ),
        GoComponent(
            "pulumi",
            "v3.274.1",
            {"pulumi": "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"},
            ("-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v3.274.1",),
        ),
        GoComponent(
            "pulumi-kubernetes",
            "v4.25.0",
            {"pulumi-resource-kubernetes": "."},
            ("-X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=v4.25.0",),
            _prepare_kubernetes_provider,
        ),
    )
}


class _Status:
    """The per-component progress files the tests read (nothing when no directory is given)."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        if directory is not None:
            directory.mkdir(parents=True, exist_ok=True)

    def log_path(self, component: GoComponent, scratch: Path) -> Path:
        base = self.directory if self.directory is not None else scratch
        return base / f"{component.name}.log"

    def write(self, component: GoComponent, state: str, **details: object) -> None:
        if self.directory is None:
            return
        # A later test run may have cleared the directory while this build still runs.
        self.directory.mkdir(parents=True, exist_ok=True)
        record: dict[str, object] = {
            "component": component.name,
            "version": component.version,
            "state": state,
            **details,
        }
        partial = self.directory / f"{component.name}.json.partial"
        partial.write_text(json.dumps(record))
        partial.rename(self.directory / f"{component.name}.json")


def _go_env(scratch: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "GOCACHE": str(scratch / "gocache"),
            "GOMODCACHE": str(scratch / "gomodcache"),
            # Writable module files, so the scratch directory can simply be deleted.
            "GOFLAGS": "-modcacherw -buildvcs=false",
            "GOTOOLCHAIN": "local",
            "CGO_ENABLED": "0",
            # Two cores are shared with the rest of the test run; one link at a time keeps the
            # provider's 5 GB link from meeting another.
            "GOMAXPROCS": env.get("GOMAXPROCS", "2"),
        }
    )
    return env


def _build_one(component: GoComponent, scratch: Path, status: _Status) -> float:
    """Build one component into its cache directory; returns the seconds it took."""
    started = time.monotonic()
    log_path = status.log_path(component, scratch)
    log_path.write_bytes(b"")
    status.write(component, "building", log=str(log_path))
    src = scratch / f"src-{component.name}"
    remove_tree(src)
    shutil.copytree(component.wrapper, src)
    env = _go_env(scratch)
    if component.prepare is not None:
        component.prepare(src, env, log_path)
    # Completes go.sum for the packages built; the committed go.sum entries are checked
    # against the checksum database like any download.
    run_tool(
        COMPONENT,
        ["go", "mod", "tidy"],
        log_path=log_path,
        timeout=BUILD_TIMEOUT_S,
        env=env,
        cwd=src,
    )
    target = component.target()
    staging = target.with_name(target.name + ".partial")
    remove_tree(staging)
    staging.mkdir(parents=True)
    try:
        ldflags = " ".join(("-s", "-w", *component.ldflags))
        for binary, package in component.binaries.items():
            run_tool(
                COMPONENT,
                [
                    "go",
                    "build",
                    "-trimpath",
                    f"-ldflags={ldflags}",
                    "-o",
                    str(staging / binary),
                    package,
                ],
                log_path=log_path,
                timeout=BUILD_TIMEOUT_S,
                env=env,
                cwd=src,
            )
        for module, pattern in component.assets:
            assets = staging / "assets"
            assets.mkdir(exist_ok=True)
            for path in sorted(_module_dir(module, src, env).glob(pattern)):
                shutil.copyfile(path, assets / path.name)
    except BaseException:
        # Nothing half-built may look like a build.
        remove_tree(staging)
        raise
    remove_tree(target)
    staging.rename(target)
    remove_tree(src)
    # Earlier builds of this component (other versions or wrappers) are of no further use.
    for old in target.parent.glob(f"{component.name}-v*"):
        if old != target:
            remove_tree(old)
    return time.monotonic() - started


def build(names: Iterable[str], status_dir: Path | None = None, report: bool = True) -> None:
    """Build each named component that is not cached yet, in order; one failure stops none.

    Raises :class:`ComponentError` naming every component that failed, after trying them all.
    """
    components = [_component(name) for name in names]
    status = _Status(status_dir)
    for component in components:
        if component.built():
            status.write(component, "ok", bin=str(component.target()), seconds=0.0, cached=True)
        else:
            status.write(component, "queued")
    if all(component.built() for component in components):
        return  # all cached: no need to queue behind another process's build for the lock
    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    failures: list[str] = []
    with exclusive_lock(root / "gobuild.lock"):
        scratch = root / "go-scratch"
        try:
            for component in components:
                if component.built():
                    # Cached, or built by another process while this one waited for the lock.
                    status.write(
                        component, "ok", bin=str(component.target()), seconds=0.0, cached=True
                    )
                    continue
                scratch.mkdir(parents=True, exist_ok=True)
                if report:
                    print(f"gobuild: building {component.name} {component.version}", flush=True)
                try:
                    seconds = _build_one(component, scratch, status)
                except ComponentError as exc:
                    failures.append(component.name)
                    status.write(
                        component,
                        "failed",
                        error=str(exc).splitlines()[0],
                        log=str(status.log_path(component, scratch)),
                    )
                    if report:
                        print(f"gobuild: {exc}", file=sys.stderr, flush=True)
                    continue
                status.write(component, "ok", bin=str(component.target()), seconds=seconds)
                if report:
                    print(f"gobuild: built {component.name} in {seconds:.0f} s", flush=True)
        finally:
            # The Go caches are rebuilt from the proxy next time; only the binaries stay.
            remove_tree(scratch)
    if failures:
        raise ComponentError(COMPONENT, f"failed to build: {', '.join(failures)}")


def _component(name: str) -> GoComponent:
    try:
        return COMPONENTS[name]
    except KeyError:
        raise ComponentError(
            COMPONENT, f"unknown component {name!r}; known: {', '.join(COMPONENTS)}"
        ) from None


class NotBuilt(ComponentError):
    """The component is not cached and no build of it is running (so waiting is pointless)."""


def wait_for_component(name: str, timeout: float) -> Path:
    """The directory of a component's binaries, waiting for the background build if needed.

    Raises :class:`NotBuilt` when nothing is building it, and :class:`ComponentError` (with the
    build log's tail) when its build failed or did not finish within ``timeout`` seconds.
    """
    component = _component(name)
    if component.built():
        return component.target()
    status_dir = os.environ.get(STATUS_DIR_ENV)
    status_file = Path(status_dir, f"{name}.json") if status_dir else None
    if status_file is None or not status_file.is_file():
        raise NotBuilt(
            name,
            f"{component.version} is not built; scripts/test.sh builds it in the background, "
            f"or run `python -m devtools.gobuild {name}`",
        )
    deadline = time.monotonic() + timeout
    while True:
        record = json.loads(status_file.read_text())
        log = Path(record["log"]) if "log" in record else None
        if record["state"] == "ok" and component.built():
            return component.target()
        if record["state"] == "failed":
            raise ComponentError(name, f"build failed: {record.get('error', '')}", log)
        if time.monotonic() > deadline:
            raise ComponentError(
                name, f"build still {record['state']} after waiting {timeout:.0f} s", log
            )
        time.sleep(_POLL_S)


def report(status_dir: Path) -> str:
    """One line per component of a (background) build: its state and how long it took."""
    lines = []
    for component in COMPONENTS.values():
        path = status_dir / f"{component.name}.json"
        if not path.is_file():
            lines.append(f"gobuild: {component.name} {component.version}: not started")
            continue
        record = json.loads(path.read_text())
        if record.get("cached"):
            state = "cached"
        elif record["state"] == "ok":
            state = f"built in {record['seconds']:.0f} s"
        else:
            state = f"{record['state']} (log: {record.get('log', '-')})"
        lines.append(f"gobuild: {component.name} {component.version}: {state}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("components", nargs="*", help="default: all")
    parser.add_argument("--status-dir", type=Path, help="write <component>.json progress here")
    parser.add_argument("--list", action="store_true", help="list the components and exit")
    parser.add_argument(
        "--report", type=Path, metavar="STATUS_DIR", help="summarise a build's status files"
    )
    args = parser.parse_args()
    if args.report is not None:
        print(report(args.report))
        return
    if args.list:
        for component in COMPONENTS.values():
            state = "cached" if component.built() else "not built"
            print(f"{component.name} {component.version}: {state} ({component.target()})")
        return
    try:
        build(args.components or list(COMPONENTS), args.status_dir)
    except ComponentError as exc:
        sys.exit(str(exc))


if __name__ == "__main__":
    main()
