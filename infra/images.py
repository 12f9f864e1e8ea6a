"""The app image, built from the repository's Dockerfile and pushed by the program itself.

Only registered when ``imagesBuild`` is true; otherwise the image is built and pushed outside
Pulumi and the workloads pull ``<registry>/todo-platform:<imageTag>``. When built here, the
workloads use the pushed ``tag@digest`` (:attr:`AppImage.ref`), so a rebuilt image under the
same tag still rolls the Deployments out.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import pulumi
import pulumi_docker_build as docker_build

from infra.app_names import image_ref
from infra.cloud.base import RegistryAccess
from infra.cloud.shapes import NodeArch
from infra.components import Component, Outputs, child_opts

REPO_ROOT: Final = Path(__file__).resolve().parents[1]
DOCKERFILE: Final = REPO_ROOT / "Dockerfile"
# Layers cached in the image's own repository, so every registry the stack creates can hold it.
CACHE_TAG: Final = "buildcache"


@dataclass(frozen=True)
class AppImageArgs:
    # The stack's registry (host[/path]) and, where the cloud hands one out (OCIR's auth token),
    # a login for the push; elsewhere the builder uses the Docker credentials of the machine
    # running Pulumi (`az acr login`, `gcloud auth configure-docker`).
    registry: RegistryAccess
    tag: str  # already validated: pinned, never "latest"
    node_arch: NodeArch


def registry_host(registry: str) -> str:
    """The host part of ``host[:port][/path]``: what a registry login is for."""
    return registry.split("/", 1)[0]


def _relative(path: Path) -> str:
    # Relative to the directory Pulumi runs the program in (the project root): the state then
    # holds the same build context on every machine, so a checkout elsewhere is no change.
    return os.path.relpath(path)


class AppImage(Component[AppImageArgs]):
    """One ``docker-build:index:Image``, pushed."""

    TYPE = "todo:images:AppImage"

    ref: pulumi.Output[str]
    image: docker_build.Image

    def _build(self, name: str, args: AppImageArgs, after: list[pulumi.Resource]) -> Outputs:
        cache = image_ref(args.registry.server, CACHE_TAG)
        self.image = docker_build.Image(
            name,
            context=docker_build.BuildContextArgs(location=_relative(REPO_ROOT)),
            dockerfile=docker_build.DockerfileArgs(location=_relative(DOCKERFILE)),
            # Only the nodes' architecture: OKE's A1 nodes are arm64, the other defaults amd64.
            platforms=[docker_build.Platform(f"linux/{args.node_arch}")],
            tags=[image_ref(args.registry.server, args.tag)],
            push=True,
            # A preview (also the one CI runs on pull requests) needs no builder; `pulumi up`
            # builds and pushes.
            build_on_preview=False,
            registries=self._registries(args),
            cache_from=[
                docker_build.CacheFromArgs(
                    registry=docker_build.CacheFromRegistryArgs(ref=cache),
                )
            ],
            cache_to=[
                docker_build.CacheToArgs(
                    registry=docker_build.CacheToRegistryArgs(
                        ref=cache,
                        mode=docker_build.CacheMode.MAX,
                        # An image manifest with OCI media types: what OCIR, ACR and Artifact
                        # Registry all accept. A rejected cache must not fail the build.
                        image_manifest=True,
                        oci_media_types=True,
                        ignore_error=True,
                    )
                )
            ],
            opts=child_opts(self),
        )
        self.ref = self.image.ref
        return {"ref": self.ref}

    @staticmethod
    def _registries(args: AppImageArgs) -> list[docker_build.RegistryArgs] | None:
        registry = args.registry
        if registry.username is None or registry.password is None:
            return None
        return [
            docker_build.RegistryArgs(
                address=registry.server.apply(registry_host),
                username=registry.username,
                password=pulumi.Output.secret(registry.password),
            )
        ]
