"""`imagesBuild`: the program builds the app image (pulumi-docker-build) and deploys its digest."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

import pytest
from pulumi.output import Unknown
from pulumi.runtime.mocks import MockResourceArgs

from devtools.testkit.pulumi_mocks import (
    MOCK_OCI_NAMESPACE,
    MOCK_OCIR_TOKEN,
    ROOT,
    STACKS,
    ProgramRun,
    evaluate,
)
from infra.images import REPO_ROOT
from stacks.config import StackConfigError
from tests.fixtures.pulumi_stacks import StackRuns

IMAGE: Final = "docker-build:index:Image"
COMPONENT: Final = "todo:images:AppImage"
DIGEST: Final = "sha256:" + "ab" * 32
# What a deployer sets besides the flag: local pushes to a registry of its own.
BUILD_SETTINGS: Final[dict[str, dict[str, Any]]] = {
    "oke": {"imagesBuild": True},
    "aks": {"imagesBuild": True},
    "gke": {"imagesBuild": True},
    "local": {"imagesBuild": True, "registryServer": "localhost:5001"},
}
# OKE's default A1 nodes are arm64; the others' defaults (and the local stack's) amd64.
PLATFORMS: Final = {
    "oke": "linux/arm64",
    "aks": "linux/amd64",
    "gke": "linux/amd64",
    "local": "linux/amd64",
}


def _pushed(args: MockResourceArgs) -> dict[str, Any]:
    """What the provider reports after a push: the digest, and the first tag pinned to it."""
    return {"digest": DIGEST, "ref": f"{args.inputs['tags'][0]}@{DIGEST}"}


RunBuild = Callable[..., ProgramRun]


@pytest.fixture
def run_build(tmp_path: Path) -> RunBuild:
    def run(stack: str, *, preview: bool = False, **settings: Any) -> ProgramRun:
        return evaluate(
            stack,
            tmp_path,
            preview=preview,
            settings={**BUILD_SETTINGS[stack], **settings},
            extra_outputs={IMAGE: _pushed},
        )

    return run


def _app_containers(run: ProgramRun) -> list[dict[str, Any]]:
    """Containers of the app's Deployments and migration Job (sidecars are Dapr's)."""
    pods = [
        *run.of_type("kubernetes:apps/v1:Deployment"),
        *run.of_type("kubernetes:batch/v1:Job"),
    ]
    return [
        container
        for resource in pods
        if resource.input("metadata.namespace") == "todo-app"
        for container in resource.input("spec.template.spec.containers")
        if not container["name"].startswith("daprd")
    ]


@pytest.mark.parametrize("stack", STACKS)
def test_without_images_build_nothing_is_built(committed_run: StackRuns, stack: str) -> None:
    run = committed_run(stack, False).ok()
    assert run.types()[IMAGE] == 0
    assert run.types()[COMPONENT] == 0


@pytest.mark.parametrize("stack", STACKS)
def test_the_image_is_built_for_the_nodes_and_pushed_with_the_configured_tag(
    run_build: RunBuild, stack: str
) -> None:
    run = run_build(stack).ok()
    registry = run.outputs["registry_server"].value
    image = run.one(IMAGE)
    component = run.one(COMPONENT)
    assert image.parent == component.urn
    assert component.urn in run.completed
    assert image.inputs["tags"] == [f"{registry}/todo-platform:0.1.0"]
    assert image.inputs["push"] is True
    assert image.inputs["buildOnPreview"] is False
    assert image.inputs["platforms"] == [PLATFORMS[stack]]
    assert Path(image.input("context.location")).resolve() == REPO_ROOT == ROOT
    dockerfile = Path(image.input("dockerfile.location")).resolve()
    assert dockerfile == ROOT / "Dockerfile"
    assert dockerfile.is_file()
    cache = f"{registry}/todo-platform:buildcache"
    assert image.inputs["cacheFrom"] == [{"registry": {"ref": cache}}]
    [cache_to] = image.inputs["cacheTo"]
    assert cache_to["registry"]["ref"] == cache
    assert cache_to["registry"]["ignoreError"] is True


@pytest.mark.parametrize("stack", STACKS)
def test_workloads_run_the_pushed_digest_after_the_build(run_build: RunBuild, stack: str) -> None:
    run = run_build(stack).ok()
    registry = run.outputs["registry_server"].value
    built_ref = f"{registry}/todo-platform:0.1.0@{DIGEST}"
    containers = _app_containers(run)
    assert len(containers) == 6  # five Deployments and the migration Job
    assert {container["image"] for container in containers} == {built_ref}
    image = run.one(IMAGE).urn
    for deployment in run.of_type("kubernetes:apps/v1:Deployment"):
        if deployment.input("metadata.namespace") == "todo-app":
            assert image in deployment.dependencies, deployment.name


def test_oke_pushes_with_the_ocir_token_as_a_secret(run_build: RunBuild) -> None:
    run = run_build("oke").ok()
    image = run.one(IMAGE)
    assert image.inputs["registries"] == [
        {
            "address": "eu-frankfurt-1.ocir.io",
            "username": f"{MOCK_OCI_NAMESPACE}/deployer@example.com",
            "password": MOCK_OCIR_TOKEN,
        }
    ]
    assert image.secret_inputs == {"registries"}


@pytest.mark.parametrize("stack", ["aks", "gke", "local"])
def test_without_registry_credentials_the_builder_uses_its_own_login(
    run_build: RunBuild, stack: str
) -> None:
    image = run_build(stack).ok().one(IMAGE)
    assert "registries" not in image.inputs
    assert image.secret_inputs == set()


@pytest.mark.parametrize("stack", ["oke", "gke"])
def test_first_preview_registers_the_build_before_anything_is_known(
    run_build: RunBuild, stack: str
) -> None:
    run = run_build(stack, preview=True).ok()
    image = run.one(IMAGE)
    assert image.inputs["push"] is True
    assert image.inputs["platforms"] == [PLATFORMS[stack]]
    # The digest exists only after a push: the pods' image is unknown until then.
    containers = _app_containers(run)
    assert len(containers) == 6
    assert all(isinstance(container["image"], Unknown) for container in containers)
    assert run.loose_errors == []


@pytest.mark.parametrize("value", ["yes", "1", "on"])
def test_a_non_boolean_images_build_is_refused_before_any_resource(
    tmp_path: Path, value: str
) -> None:
    run = evaluate("oke", tmp_path, preview=False, settings={"imagesBuild": value})
    assert isinstance(run.error, StackConfigError)
    assert [(p.key, p.message) for p in run.error.problems] == [
        ("imagesBuild", f"must be true or false, got {value!r}")
    ]
    assert run.resources == []


def test_local_build_needs_a_registry_to_push_to(tmp_path: Path) -> None:
    run = evaluate("local", tmp_path, preview=False, settings={"imagesBuild": True})
    assert isinstance(run.error, StackConfigError)
    [problem] = run.error.problems
    assert problem.key == "registryServer"
    assert "required on local when imagesBuild is true" in problem.message
    assert run.resources == []
