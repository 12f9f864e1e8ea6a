"""devtools.gobuild without the hour of compiling: the cache key, the status files the tests
wait on, and a build that fails (a wrapper whose Go does not parse) reported with its log."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from devtools import gobuild
from devtools.process import ComponentError


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "cache"
    monkeypatch.setenv("DEVTOOLS_CACHE_DIR", str(cache))
    monkeypatch.delenv(gobuild.STATUS_DIR_ENV, raising=False)
    return cache


def test_every_component_has_its_wrapper_module() -> None:
    for component in gobuild.COMPONENTS.values():
        assert (component.wrapper / "go.mod").is_file(), component.name
    assert set(gobuild.COMPONENTS) == {
        "etcd",
        "kwok",
        "kubernetes",
        "pulumi",
        "pulumi-kubernetes",
    }


def test_the_kubernetes_wrapper_pins_all_31_staging_modules_at_the_release() -> None:
    go_mod = (gobuild.WRAPPERS / "kubernetes" / "go.mod").read_text()
    replaces = [line.split() for line in go_mod.splitlines() if " => " in line]
    assert len(replaces) == 31
    assert {(parts[0] == parts[2], parts[3]) for parts in replaces} == {(True, "v0.35.4")}


def test_a_cached_component_is_found_without_any_build(private_cache: Path) -> None:
    component = gobuild.COMPONENTS["etcd"]
    target = component.target()
    target.mkdir(parents=True)
    (target / "etcd").write_bytes(b"")
    assert target.is_relative_to(private_cache)
    assert gobuild.wait_for_component("etcd", timeout=0.0) == target


def test_nothing_cached_and_nothing_building_says_how_to_build() -> None:
    with pytest.raises(gobuild.NotBuilt, match=r"python -m devtools.gobuild kwok"):
        gobuild.wait_for_component("kwok", timeout=0.0)


def test_an_unknown_component_is_refused() -> None:
    with pytest.raises(ComponentError, match="unknown component 'helm'; known: etcd, kwok"):
        gobuild.wait_for_component("helm", timeout=0.0)


def _status(directory: Path, name: str, **record: object) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{name}.json").write_text(json.dumps({"component": name, **record}))


def test_a_failed_background_build_fails_the_wait_with_its_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    status = tmp_path / "status"
    log = tmp_path / "kwok.log"
    log.write_text("compile: something broke on line 7\n")
    _status(status, "kwok", state="failed", error="go build exited with code 1", log=str(log))
    monkeypatch.setenv(gobuild.STATUS_DIR_ENV, str(status))
    with pytest.raises(ComponentError) as caught:
        gobuild.wait_for_component("kwok", timeout=10.0)
    assert "build failed: go build exited with code 1" in str(caught.value)
    assert "compile: something broke on line 7" in str(caught.value)


def test_a_build_still_running_at_the_deadline_fails_the_wait(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    status = tmp_path / "status"
    _status(status, "pulumi", state="building", log=str(tmp_path / "pulumi.log"))
    (tmp_path / "pulumi.log").write_text("go: downloading ...\n")
    monkeypatch.setenv(gobuild.STATUS_DIR_ENV, str(status))
    with pytest.raises(ComponentError, match="build still building after waiting 0 s"):
        gobuild.wait_for_component("pulumi", timeout=0.0)


def test_a_broken_wrapper_fails_its_build_and_reports_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, private_cache: Path
) -> None:
    if shutil.which("go") is None:
        pytest.skip("no Go toolchain on PATH")
    wrappers = tmp_path / "gomod"
    (wrappers / "broken").mkdir(parents=True)
    (wrappers / "broken" / "go.mod").write_text("module example.com/broken\n\ngo 1.24\n")
    (wrappers / "broken" / "main.go").write_text("package main\n\nfunc main() {\n")
    broken = gobuild.GoComponent("broken", "v0.0.1", {"broken": "."})
    monkeypatch.setattr(gobuild, "WRAPPERS", wrappers)
    monkeypatch.setattr(gobuild, "COMPONENTS", {"broken": broken})
    status = tmp_path / "status"
    with pytest.raises(ComponentError, match="failed to build: broken"):
        gobuild.build(["broken"], status, report=False)
    record = json.loads((status / "broken.json").read_text())
    assert record["state"] == "failed"
    assert "main.go" in Path(record["log"]).read_text()
    assert not broken.built()
    # Nothing half-built is left, and the Go caches are gone.
    assert sorted(path.name for path in (private_cache / "go").iterdir()) == []
    assert not (private_cache / "go-scratch").exists()
    assert gobuild.report(status).splitlines() == [
        f"gobuild: broken v0.0.1: failed (log: {record['log']})"
    ]
