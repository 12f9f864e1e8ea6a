"""Where the Helm charts come from (repositories, or a directory of pinned archives) and the
operator waits (on by default; off only for the deploy tests' kwok nodes)."""

from __future__ import annotations

from pathlib import Path

import pytest

from devtools.testkit.pulumi_mocks import CHARTS_DIR
from infra.platform import versions
from infra.platform.k8s import ChartSource
from tests.infra._platform_mocks import Run, stack

RELEASE = "kubernetes:helm.sh/v3:Release"
WAITED = {
    "kubernetes:kafka.strimzi.io/v1:Kafka",
    "kubernetes:kafka.strimzi.io/v1:KafkaTopic",
    "kubernetes:postgresql.cnpg.io/v1:Cluster",
}


def _archives(directory: Path) -> Path:
    """A chart directory of the pinned archives (links to the tests' copies: the program reads
    the operators' CRDs out of them)."""
    for ref in versions.CHARTS:
        name = f"{ref.chart}-{ref.version}.tgz"
        (directory / name).symlink_to(CHARTS_DIR / name)
    return directory


def test_releases_come_from_their_repositories_by_default() -> None:
    run = stack()
    releases = {release.manifest["name"]: release.manifest for release in run.of_type(RELEASE)}
    assert len(releases) == 7
    for manifest in releases.values():
        assert manifest["version"]
        if manifest["chart"].startswith("oci://"):
            # An OCI chart is named by its whole reference and has no repository to add.
            assert "repositoryOpts" not in manifest
        else:
            assert manifest["repositoryOpts"]["repo"].startswith("https://")
            assert "/" not in manifest["chart"]
    assert sorted(m["chart"] for m in releases.values() if m["chart"].startswith("oci://")) == [
        f"{versions.STRIMZI.repo}/{versions.STRIMZI.chart}"
    ]


def test_releases_come_from_the_chart_directory_when_set(tmp_path: Path) -> None:
    charts = _archives(tmp_path)
    run = stack(platform={"charts": ChartSource(charts)})
    installed = {
        release.manifest["chart"]
        for release in run.of_type(RELEASE)
        if "repositoryOpts" not in release.manifest and "version" not in release.manifest
    }
    assert installed == {str(charts / f"{ref.chart}-{ref.version}.tgz") for ref in versions.CHARTS}


def test_a_missing_archive_is_named_before_the_platform_registers_anything(
    tmp_path: Path,
) -> None:
    charts = _archives(tmp_path)
    (charts / "keda-2.18.0.tgz").unlink()
    with pytest.raises(AssertionError, match="program failed") as failed:
        stack(platform={"charts": ChartSource(charts)})
    assert isinstance(failed.value.__cause__, ValueError)
    assert str(failed.value.__cause__) == f"chart archives missing in {charts}: ['keda-2.18.0.tgz']"


def _wait_annotations(run: Run) -> dict[str, set[str | None]]:
    return {
        type_: {
            (r.manifest["metadata"].get("annotations") or {}).get("pulumi.com/waitFor")
            for r in run.of_type(type_)
        }
        for type_ in WAITED
    }


def test_operator_resources_are_awaited_by_default() -> None:
    assert _wait_annotations(stack()) == {type_: {"condition=Ready"} for type_ in WAITED}


def test_operator_waits_can_be_switched_off() -> None:
    run = stack(platform={"await_operators": False})
    assert _wait_annotations(run) == {type_: {None} for type_ in WAITED}


@pytest.mark.parametrize(("wait", "skip"), [(True, None), (False, "true")])
def test_the_api_ingress_status_wait_follows_the_setting(wait: bool, skip: str | None) -> None:
    run = stack(workloads={"await_ingress_status": wait})
    ingress = run.one("kubernetes:networking.k8s.io/v1:Ingress", "todo-api")
    assert ingress.manifest["metadata"]["annotations"].get("pulumi.com/skipAwait") == skip
