"""What a pinned chart archive (``<chart>-<version>.tgz``) holds: its default values and the
CustomResourceDefinitions Helm installs from ``crds/`` directories.

Helm applies a chart's ``crds/`` only on the first install and never upgrades them
(https://helm.sh/docs/chart_best_practices/custom_resource_definitions/ , "Method 1"), so the
program reads them from the archive and applies them as resources of their own
(:mod:`infra.platform.crds`); the tests read the same archives to check values and custom
resources against the chart itself.
"""

from __future__ import annotations

import tarfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from infra.platform.k8s import ChartRef


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader without its YAML 1.1 ``=`` "value" tag, which a bare ``=`` in a
    CRD's enum (kube-prometheus-stack's relabel actions) would otherwise trip over."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:value"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_all(text: str) -> list[Any]:
    """Every document of a YAML stream."""
    return list(yaml.load_all(text, Loader=_Loader))


def archive_name(ref: ChartRef) -> str:
    """The file name ``helm package``/``helm pull`` gives the archive of ``ref``."""
    return f"{ref.chart}-{ref.version}.tgz"


@dataclass(frozen=True)
class ChartArchive:
    """One chart archive on disk, read lazily and once."""

    path: Path

    @cached_property
    def _files(self) -> dict[PurePosixPath, str]:
        files: dict[PurePosixPath, str] = {}
        with tarfile.open(self.path, "r:gz") as archive:
            for member in archive.getmembers():
                if not member.isfile() or not member.name.endswith((".yaml", ".yml", ".tpl")):
                    continue
                handle = archive.extractfile(member)
                if handle is not None:
                    files[PurePosixPath(member.name)] = handle.read().decode()
        if not files:
            raise ValueError(f"{self.path} holds no chart")
        return files

    @property
    def root(self) -> PurePosixPath:
        """The chart's top directory inside the archive (``<chart>/``)."""
        return min((path.parents[-2] for path in self._files), key=str)

    def files(self, suffix: str) -> Iterator[tuple[PurePosixPath, str]]:
        """Every YAML or template file whose path ends with ``suffix``, in archive order."""
        for path, text in sorted(self._files.items(), key=lambda item: str(item[0])):
            if str(path).endswith(suffix):
                yield path, text

    def values(self) -> dict[str, Any]:
        """The chart's default values with each subchart's defaults under its name, as Helm
        merges them (``charts/<sub>/values.yaml`` becomes ``<sub>: ...``)."""
        merged: dict[str, Any] = {}
        root = self.root
        for path, text in self.files("values.yaml"):
            relative = path.relative_to(root).parts
            loaded = (load_all(text) or [{}])[0] or {}
            if relative == ("values.yaml",):
                _merge(merged, loaded)
            elif len(relative) == 3 and relative[0] == "charts":
                _merge(merged.setdefault(relative[1], {}), loaded)
        return merged

    def crds(self) -> list[dict[str, Any]]:
        """The CustomResourceDefinitions of the chart's and its subcharts' ``crds/``
        directories: the ones Helm never upgrades."""
        found: list[dict[str, Any]] = []
        for path, text in self.files(""):
            if path.parent.name != "crds" or "templates" in path.parts:
                continue
            found += [
                doc
                for doc in load_all(text)
                if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition"
            ]
        return found


def _merge(into: dict[str, Any], extra: Mapping[str, Any]) -> None:
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value
