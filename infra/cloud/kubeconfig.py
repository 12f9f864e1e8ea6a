"""Kubeconfig documents: built for exec-plugin authentication, adjusted, inspected.

No credential is ever written into a kubeconfig built here: clusters are reached through an
exec plugin (``gke-gcloud-auth-plugin``, ``oci``, ``kubelogin``) that mints short-lived tokens
where Pulumi runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import yaml

EXEC_API_VERSION: Final = "client.authentication.k8s.io/v1beta1"


class KubeconfigError(ValueError):
    """A kubeconfig document is not what it has to be."""


@dataclass(frozen=True)
class ExecPlugin:
    """An exec credential plugin: the command kubectl (and Pulumi) runs for a token."""

    command: str
    args: Sequence[str] = ()
    install_hint: str = ""
    provide_cluster_info: bool = False
    env: Sequence[tuple[str, str]] = field(default_factory=tuple)


def exec_kubeconfig(name: str, server: str, ca_data: str, plugin: ExecPlugin) -> str:
    """A single-context kubeconfig for ``server`` whose user authenticates through ``plugin``.

    ``ca_data`` is the base64 PEM of the cluster CA, as the cloud APIs return it.
    """
    user: dict[str, Any] = {
        "apiVersion": EXEC_API_VERSION,
        "command": plugin.command,
        "args": list(plugin.args),
        "interactiveMode": "Never",
        "provideClusterInfo": plugin.provide_cluster_info,
    }
    if plugin.install_hint:
        user["installHint"] = plugin.install_hint
    if plugin.env:
        user["env"] = [{"name": key, "value": value} for key, value in plugin.env]
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": name, "cluster": {"server": server, "certificate-authority-data": ca_data}}
        ],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
        "current-context": name,
        "preferences": {},
        "users": [{"name": name, "user": {"exec": user}}],
    }
    return yaml.safe_dump(document, sort_keys=False)


def _load(kubeconfig: str) -> dict[str, Any]:
    try:
        document = yaml.safe_load(kubeconfig)
    except yaml.YAMLError as exc:
        raise KubeconfigError(f"not valid YAML: {exc}") from None
    if not isinstance(document, dict) or document.get("kind", "Config") != "Config":
        raise KubeconfigError("not a kubeconfig (expected a mapping with kind: Config)")
    return document


def context_names(kubeconfig: str) -> list[str]:
    """The context names a kubeconfig defines, in file order."""
    contexts = _load(kubeconfig).get("contexts") or []
    return [str(entry.get("name")) for entry in contexts if isinstance(entry, dict)]


def with_kubelogin_mode(kubeconfig: str, login_mode: str) -> str:
    """Switch every ``kubelogin get-token`` user to ``--login <login_mode>``.

    AKS hands out AAD kubeconfigs that log in with the interactive device-code flow, which a
    ``pulumi up`` cannot answer; ``azurecli`` reuses ``az login`` and ``workloadidentity`` the
    federated token of a CI job.
    """
    document = _load(kubeconfig)
    changed = 0
    for entry in document.get("users") or []:
        plugin = (entry.get("user") or {}).get("exec") or {}
        args = [str(arg) for arg in plugin.get("args") or []]
        if not str(plugin.get("command", "")).endswith("kubelogin") or "get-token" not in args:
            continue
        if "--login" in args:
            args[args.index("--login") + 1] = login_mode
        elif "-l" in args:
            args[args.index("-l") + 1] = login_mode
        else:
            args += ["--login", login_mode]
        plugin["args"] = args
        changed += 1
    if changed == 0:
        raise KubeconfigError("no kubelogin exec user found in the AKS user kubeconfig")
    return yaml.safe_dump(document, sort_keys=False)
