"""Server-side dry-run apply: the API server validates and admits an object (schema, CRD schema,
Pod Security, RBAC of the object itself) without storing it."""

from __future__ import annotations

from functools import cache
from typing import Any, Final

import httpx

from devtools.kube import KubeApi

FIELD_MANAGER: Final = "todo-platform-deploy-tests"
# Workload kinds and where their pod template sits.
POD_TEMPLATES: Final = {
    "Deployment": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
}


@cache
def _discovery(api: KubeApi, group_version: str) -> dict[str, tuple[str, bool]]:
    """kind -> (plural, namespaced) served under ``group_version``; empty when not served."""
    path = f"/api/{group_version}" if group_version == "v1" else f"/apis/{group_version}"
    response = api.request("GET", path)
    if response.status_code == 404:
        return {}
    response.raise_for_status()
    return {
        resource["kind"]: (resource["name"], resource["namespaced"])
        for resource in response.json()["resources"]
        if "/" not in resource["name"]
    }


def served(api: KubeApi, manifest: dict[str, Any]) -> bool:
    return manifest["kind"] in _discovery(api, manifest["apiVersion"])


def collection_path(api: KubeApi, manifest: dict[str, Any]) -> str:
    """The API path of the collection ``manifest``'s object belongs to (its kind served)."""
    group_version, kind = manifest["apiVersion"], manifest["kind"]
    plural, namespaced = _discovery(api, group_version)[kind]
    base = f"/api/{group_version}" if group_version == "v1" else f"/apis/{group_version}"
    if namespaced:
        namespace = manifest["metadata"].get("namespace", "default")
        return f"{base}/namespaces/{namespace}/{plural}"
    return f"{base}/{plural}"


def object_path(api: KubeApi, manifest: dict[str, Any]) -> str:
    """The API path of the object ``manifest`` names (its kind must be served)."""
    return f"{collection_path(api, manifest)}/{manifest['metadata']['name']}"


def create(api: KubeApi, manifest: dict[str, Any]) -> httpx.Response:
    """Dry-run creation of ``manifest`` as a new object: validated whole, merged with nothing."""
    return api.request(
        "POST",
        collection_path(api, manifest),
        params={"fieldManager": FIELD_MANAGER, "dryRun": "All"},
        json=manifest,
    )


def renamed(manifest: dict[str, Any], suffix: str) -> dict[str, Any]:
    """``manifest`` under ``<name>-<suffix>``: a new object beside one of the same name."""
    metadata = {**manifest["metadata"], "name": f"{manifest['metadata']['name']}-{suffix}"}
    return {**manifest, "metadata": metadata}


def apply(api: KubeApi, manifest: dict[str, Any], dry_run: bool = True) -> httpx.Response:
    """Server-side apply of ``manifest`` (dry run unless told otherwise)."""
    path = object_path(api, manifest)
    params = {"fieldManager": FIELD_MANAGER, "force": "true"}
    if dry_run:
        params["dryRun"] = "All"
    return api.request(
        "PATCH",
        path,
        params=params,
        json=manifest,
        headers={"Content-Type": "application/apply-patch+yaml"},
    )


def pod_from(manifest: dict[str, Any]) -> dict[str, Any] | None:
    """A Pod as the workload's controller would create it from its template (None if none)."""
    path = POD_TEMPLATES.get(manifest["kind"])
    if path is None:
        return None
    template: dict[str, Any] = manifest
    for key in path:
        template = template[key]
    metadata = dict(template.get("metadata") or {})
    metadata["name"] = f"{manifest['metadata']['name']}-dry-run"
    metadata["namespace"] = manifest["metadata"].get("namespace", "default")
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": template["spec"]}
