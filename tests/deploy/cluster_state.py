"""What the API server holds: the reads the deploy tests assert on (Helm releases, workloads'
readiness, objects of the stack), through the control plane's admin client."""

from __future__ import annotations

import base64
import gzip
import json
from typing import Any, Final

import yaml
from pulumi import automation

from devtools.kube import KubeApi

# Helm 3 stores each release revision as a Secret of this type, labelled with its status.
HELM_RELEASE_TYPE: Final = "helm.sh/release.v1"
WORKLOAD_KINDS: Final = {
    "deployments": "/apis/apps/v1/deployments",
    "statefulsets": "/apis/apps/v1/statefulsets",
    "daemonsets": "/apis/apps/v1/daemonsets",
}


def helm_releases(api: KubeApi) -> dict[str, dict[str, Any]]:
    """Deployed Helm releases by name: the decoded release record (chart, values, status)."""
    found = {}
    secrets = api.items(f"/api/v1/secrets?fieldSelector=type%3D{HELM_RELEASE_TYPE}")
    for secret in secrets:
        if secret["metadata"].get("labels", {}).get("status") != "deployed":
            continue
        # The release is base64 by the Secret, then base64 again of gzip by Helm.
        payload = base64.b64decode(base64.b64decode(secret["data"]["release"]))
        release = json.loads(gzip.decompress(payload))
        found[release["name"]] = release
    return found


WEBHOOK_LISTS: Final = {
    "MutatingWebhookConfiguration": (
        "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations"
    ),
    "ValidatingWebhookConfiguration": (
        "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations"
    ),
}


def webhook_configurations(api: KubeApi) -> set[tuple[str, str]]:
    """(kind, name) of every admission webhook configuration the API server stores."""
    return {
        (kind, item["metadata"]["name"])
        for kind, path in WEBHOOK_LISTS.items()
        for item in api.items(path)
    }


def released(releases: dict[str, dict[str, Any]], kinds: set[str]) -> set[tuple[str, str]]:
    """(kind, name) of the objects of ``kinds`` in the Helm releases' rendered manifests."""
    return {
        (document["kind"], document["metadata"]["name"])
        for release in releases.values()
        for document in yaml.safe_load_all(release["manifest"])
        if isinstance(document, dict) and document.get("kind") in kinds
    }


def not_ready(api: KubeApi) -> list[str]:
    """Every Deployment, StatefulSet and DaemonSet not fully Ready, as kind/namespace/name."""
    lagging = []
    for kind, path in WORKLOAD_KINDS.items():
        for item in api.items(path):
            status = item.get("status", {})
            meta = item["metadata"]
            if kind == "daemonsets":
                want, ready = status.get("desiredNumberScheduled", 0), status.get("numberReady", 0)
            else:
                want, ready = item["spec"].get("replicas", 1), status.get("readyReplicas", 0)
            if ready != want or status.get("observedGeneration") != meta.get("generation"):
                lagging.append(f"{kind}/{meta['namespace']}/{meta['name']} ({ready}/{want})")
    return lagging


# Every kind a stack (its own objects, its charts' and the operators' RBAC, webhooks, aggregated
# APIs) could leave behind, cluster-wide or in any namespace; events, endpoints and leases, which
# the control plane itself writes all the time, are not among them.
INVENTORY_LISTS: Final = {
    "namespaces": "/api/v1/namespaces",
    "customresourcedefinitions": "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
    "clusterroles": "/apis/rbac.authorization.k8s.io/v1/clusterroles",
    "clusterrolebindings": "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
    "apiservices": "/apis/apiregistration.k8s.io/v1/apiservices",
    "mutatingwebhookconfigurations": (
        "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations"
    ),
    "validatingwebhookconfigurations": (
        "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations"
    ),
    "ingressclasses": "/apis/networking.k8s.io/v1/ingressclasses",
    "priorityclasses": "/apis/scheduling.k8s.io/v1/priorityclasses",
    "services": "/api/v1/services",
    "configmaps": "/api/v1/configmaps",
    "secrets": "/api/v1/secrets",
    "serviceaccounts": "/api/v1/serviceaccounts",
    "persistentvolumeclaims": "/api/v1/persistentvolumeclaims",
    "roles": "/apis/rbac.authorization.k8s.io/v1/roles",
    "rolebindings": "/apis/rbac.authorization.k8s.io/v1/rolebindings",
    "deployments": "/apis/apps/v1/deployments",
    "statefulsets": "/apis/apps/v1/statefulsets",
    "daemonsets": "/apis/apps/v1/daemonsets",
    "jobs": "/apis/batch/v1/jobs",
}


def inventory(api: KubeApi) -> set[tuple[str, str, str]]:
    """(kind, namespace or "", name) of every object of :data:`INVENTORY_LISTS`.

    APIServices without a service are the API server's own entries for the groups it serves
    (one per CRD group and version, kept in step with the CRDs): only aggregated ones count.
    """
    return {
        (kind, item["metadata"].get("namespace", ""), item["metadata"]["name"])
        for kind, path in INVENTORY_LISTS.items()
        for item in api.items(path)
        if kind != "apiservices" or item["spec"].get("service")
    }


def namespaced_names(api: KubeApi, path: str) -> set[tuple[str, str]]:
    """(namespace, name) of every object under a list path such as /apis/apps/v1/deployments."""
    return {(i["metadata"]["namespace"], i["metadata"]["name"]) for i in api.items(path)}


def namespaces(api: KubeApi) -> set[str]:
    return {item["metadata"]["name"] for item in api.items("/api/v1/namespaces")}


def crd_groups(api: KubeApi) -> set[str]:
    """The API groups the cluster's CustomResourceDefinitions serve."""
    return {
        item["spec"]["group"]
        for item in api.items("/apis/apiextensions.k8s.io/v1/customresourcedefinitions")
    }


def custom_resources(state: automation.Deployment, groups: set[str]) -> list[dict[str, Any]]:
    """apiVersion, kind and metadata of every object of ``groups`` in a stack's state."""
    found = []
    for resource in (state.deployment or {}).get("resources", []):
        outputs = resource.get("outputs") or {}
        api_version = outputs.get("apiVersion")
        if isinstance(api_version, str) and api_version.split("/")[0] in groups:
            found.append(
                {
                    "apiVersion": api_version,
                    "kind": outputs["kind"],
                    "metadata": outputs["metadata"],
                }
            )
    return found
