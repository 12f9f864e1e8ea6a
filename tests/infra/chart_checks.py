"""Checks of what the program sends against the pinned chart archives themselves
(``../shared/charts/`` beside the repository, see its README): every Helm value the program
sets is one the chart knows, and every custom resource validates against the
``openAPIV3Schema`` of the CRD the chart installs, as the API server would validate it."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from functools import cache
from typing import Any

import jsonschema
import pytest

from devtools.testkit.pulumi_mocks import CHARTS_DIR
from infra.platform import versions
from infra.platform.chart_archive import ChartArchive, archive_name, load_all
from infra.platform.k8s import ChartRef

PINNED: tuple[ChartRef, ...] = (
    versions.STRIMZI,
    versions.DAPR,
    versions.KEDA,
    versions.INGRESS_NGINX,
    versions.CERT_MANAGER,
    versions.CLOUDNATIVE_PG,
    versions.KUBE_PROMETHEUS_STACK,
)
# Values the charts pass through whole (``toYaml``): Kubernetes object fields and config files.
PASS_THROUGH = frozenset(
    {"resources", "annotations", "podSecurityContext", "securityContext", "grafana.ini"}
)
_TEMPLATE = re.compile(r"\{\{.*?\}\}")


@cache
def archive(ref: ChartRef) -> ChartArchive:
    """The pinned archive of ``ref``; a missing one fails the test, naming the file."""
    path = CHARTS_DIR / archive_name(ref)
    if not path.is_file():
        pytest.fail(
            f"chart archive {path} is missing: the pinned {ref.chart} {ref.version} "
            f"(infra/platform/versions.py) must be in {CHARTS_DIR} (or set TODO_CHARTS_DIR)"
        )
    return ChartArchive(path)


@cache
def template_text(ref: ChartRef) -> str:
    return "\n".join(text for _, text in archive(ref).files("") if "/templates/" in f"/{_}")


def unknown_values(ref: ChartRef, values: Mapping[str, Any]) -> list[str]:
    """Dotted paths of ``values`` the chart neither defaults nor reads in a template.

    Below a key whose default is empty (``{}``, ``""``, null) or that the chart passes through
    whole (:data:`PASS_THROUGH`) anything goes.
    """
    defaults = archive(ref).values()
    templates = template_text(ref)
    subcharts = {key for key, value in defaults.items() if isinstance(value, dict)}

    def walk(given: Mapping[str, Any], known: Any, path: tuple[str, ...]) -> Iterator[str]:
        if not isinstance(known, dict) or not known:
            return
        for key, value in given.items():
            here = (*path, key)
            if key not in known and not _read_by_template(here, subcharts, templates):
                yield ".".join(here)
            elif isinstance(value, Mapping) and key not in PASS_THROUGH:
                yield from walk(value, known.get(key), here)

    return list(walk(values, defaults, ()))


def _read_by_template(path: tuple[str, ...], subcharts: set[str], templates: str) -> bool:
    dotted = ".".join(path)
    # A subchart's templates read its values without the subchart's name in front.
    local = ".".join(path[1:]) if path[0] in subcharts and len(path) > 1 else dotted
    return f".Values.{dotted}" in templates or f".Values.{local}" in templates


def _load_crd(text: str) -> list[dict[str, Any]]:
    """CRDs from a file that may be a Helm template: template-only lines dropped, inline
    template expressions replaced by a placeholder (the schemas themselves are never templated)."""
    lines = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("{{") and stripped.endswith("}}"):
            continue
        lines.append(_TEMPLATE.sub("templated", line))
    return [
        doc
        for doc in load_all("\n".join(lines))
        if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition"
    ]


def crds_kept_on_uninstall(ref: ChartRef) -> set[str]:
    """Names of the CRDs ``ref``'s templates annotate ``helm.sh/resource-policy: keep``: Helm
    leaves them behind when it uninstalls the release."""
    return {
        crd["metadata"]["name"]
        for path, text in archive(ref).files("")
        if "/templates/" in f"/{path}" and "CustomResourceDefinition" in text
        for crd in _load_crd(text)
        if (crd["metadata"].get("annotations") or {}).get("helm.sh/resource-policy") == "keep"
    }


@cache
def crd_schemas() -> dict[tuple[str, str], dict[str, Any]]:
    """``(apiVersion, kind) -> openAPIV3Schema`` of every served version of every CRD the pinned
    charts install, from ``crds/`` or from templates."""
    schemas: dict[tuple[str, str], dict[str, Any]] = {}
    for ref in PINNED:
        for path, text in archive(ref).files(""):
            if "CustomResourceDefinition" not in text or "crd" not in str(path).lower():
                continue
            for crd in _load_crd(text):
                spec = crd["spec"]
                for version in spec["versions"]:
                    if version.get("served", True):
                        key = (f"{spec['group']}/{version['name']}", spec["names"]["kind"])
                        schemas[key] = version["schema"]["openAPIV3Schema"]
    return schemas


def schema_errors(manifest: Mapping[str, Any]) -> list[str]:
    """Why the API server would reject ``manifest`` as a custom resource of the pinned CRDs
    (an unknown apiVersion/kind is itself an error: the CRD is not installed)."""
    key = (str(manifest["apiVersion"]), str(manifest["kind"]))
    schema = crd_schemas().get(key)
    if schema is None:
        return [f"no pinned chart installs a CRD serving {key[0]} {key[1]}"]
    validator = jsonschema.Draft7Validator(_structural(schema))
    return [
        f"{'.'.join(map(str, error.absolute_path)) or '<root>'}: {error.message}"
        for error in validator.iter_errors(dict(manifest))
    ]


def _structural(schema: Any) -> Any:
    """The schema without the Kubernetes extensions jsonschema does not know, with
    ``x-kubernetes-int-or-string`` as the type union it stands for."""
    if isinstance(schema, list):
        return [_structural(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _structural(v) for k, v in schema.items() if not k.startswith("x-kubernetes")}
    if schema.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if schema.get("x-kubernetes-preserve-unknown-fields") and "type" not in schema:
        out.pop("type", None)
    # Strict like the API server for pruned fields: an unknown field would be dropped silently,
    # which is a defect of ours just the same.
    if (
        out.get("type") == "object"
        and "properties" in out
        and not schema.get("x-kubernetes-preserve-unknown-fields")
    ):
        out.setdefault("additionalProperties", False)
    return out
