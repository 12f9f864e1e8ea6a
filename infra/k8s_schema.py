"""Offline validation of Kubernetes manifests against the OpenAPI schemas of a Kubernetes
release, as shipped by the ``kubernetes-validate`` package (no cluster, no network).

Strict schemas are used: an unknown field (a typo such as ``readOnlyRootFileSystem``) is an
error, not silently dropped by the API server.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any, Final

import jsonschema
from kubernetes_validate import utils as kv_utils
from pulumi.output import Unknown
from pulumi.runtime import rpc
from referencing import Registry, Resource

DEFAULT_KUBERNETES_VERSION: Final = "1.33"


class SchemaUnavailable(LookupError):
    """No schema for this kind: a custom resource, or a Kubernetes version not shipped."""


def is_unknown(value: Any) -> bool:
    """A value not known yet (a preview before the resource it comes from exists)."""
    return isinstance(value, Unknown) or value == rpc.UNKNOWN


def unwrap(value: Any) -> Any:
    """Serialized Pulumi properties as plain JSON: secret wrappers replaced by their value and
    unknown values left out (they are validated once known, on update)."""
    if rpc.is_rpc_secret(value):
        return unwrap(value["value"])
    if isinstance(value, Mapping):
        return {str(k): unwrap(v) for k, v in value.items() if not is_unknown(v)}
    if isinstance(value, list | tuple):
        return [unwrap(v) for v in value if not is_unknown(v)]
    return value


def _schema_version(kubernetes_version: str) -> str:
    wanted = tuple(int(p) for p in kv_utils.major_minor(kubernetes_version.lstrip("v")).split("."))
    shipped = [
        v
        for v in kv_utils.all_versions()
        if tuple(int(p) for p in kv_utils.major_minor(v).split(".")) <= wanted
    ]
    if not shipped:
        raise SchemaUnavailable(f"no schemas for Kubernetes {kubernetes_version}")
    newest: str = shipped[-1]
    return newest


@functools.lru_cache(maxsize=256)
def _validator(api_version: str, kind: str, kubernetes_version: str) -> jsonschema.Validator:
    version = _schema_version(kubernetes_version)
    directory = f"kubernetes-json-schema/v{version}-local-strict"
    # rbac.authorization.k8s.io/v1 -> rbac-v1, v1 -> v1 (the package's file naming).
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    try:
        schema = kv_utils.schema_contents(
            f"{directory}/{kind.lower()}-{group_version}.json", version
        )
    except FileNotFoundError:
        raise SchemaUnavailable(f"no schema for {api_version} {kind}") from None
    definitions = kv_utils.schema_contents(f"{directory}/_definitions.json", version)
    registry: Registry[Any] = Resource.from_contents(schema) @ Registry()
    registry = Resource.from_contents(definitions) @ registry
    return jsonschema.Draft202012Validator(schema, registry=registry)


def has_schema(
    manifest: Mapping[str, Any], kubernetes_version: str = DEFAULT_KUBERNETES_VERSION
) -> bool:
    try:
        _validator(str(manifest["apiVersion"]), str(manifest["kind"]), kubernetes_version)
    except SchemaUnavailable:
        return False
    return True


def schema_errors(
    manifest: Mapping[str, Any], kubernetes_version: str = DEFAULT_KUBERNETES_VERSION
) -> list[str]:
    """Every schema error of a built-in-kind manifest, each naming the field path.

    Raises :class:`SchemaUnavailable` for kinds without a shipped schema (custom resources).
    """
    document = unwrap(manifest)
    validator = _validator(str(document["apiVersion"]), str(document["kind"]), kubernetes_version)
    name = (document.get("metadata") or {}).get("name", "?")
    return [
        f"{document['kind']} {name}: {'.'.join(str(p) for p in error.absolute_path) or '<root>'}: "
        f"{error.message}"
        for error in sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    ]
