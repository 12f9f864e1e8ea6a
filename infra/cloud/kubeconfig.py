"""Kubeconfig documents: built for exec-plugin authentication, adjusted, inspected.

No credential is ever written into a kubeconfig built here: clusters are reached through an
exec plugin (``gke-gcloud-auth-plugin``, ``oci``, ``kubelogin``) that mints short-lived tokens
where Pulumi runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
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
    return _dump(document)


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


def _exec_users(document: dict[str, Any], command: str) -> list[dict[str, Any]]:
    """The ``exec`` sections of the users that run ``command`` (a name or a path ending in it)."""
    found = []
    for entry in document.get("users") or []:
        plugin = (entry.get("user") or {}).get("exec") or {}
        if str(plugin.get("command", "")).rsplit("/", 1)[-1] == command:
            plugin["args"] = [str(arg) for arg in plugin.get("args") or []]
            found.append(plugin)
    if not found:
        raise KubeconfigError(f"no user authenticating with {command} in the kubeconfig")
    return found


def _set_option(args: list[str], names: Sequence[str], value: str) -> None:
    for name in names:
        if name in args and args.index(name) + 1 < len(args):
            args[args.index(name) + 1] = value
            return
    args += [names[0], value]


def with_kubelogin_mode(kubeconfig: str, login_mode: str) -> str:
    """Switch every ``kubelogin get-token`` user to ``--login <login_mode>``.

    AKS hands out AAD kubeconfigs that log in with the interactive device-code flow, which a
    ``pulumi up`` cannot answer; ``azurecli`` reuses ``az login`` and ``workloadidentity`` the
    federated token of a CI job.
    """
    document = _load(kubeconfig)
    for plugin in _exec_users(document, "kubelogin"):
        _set_option(plugin["args"], ("--login", "-l"), login_mode)
    return _dump(document)


def _dump(document: object) -> str:
    # safe_dump returns text when no stream is given; the stubs type it as Any.
    text: str = yaml.safe_dump(document, sort_keys=False)
    return text


def with_oci_profile(kubeconfig: str, profile: str) -> str:
    """Make the ``oci ce cluster generate-token`` users use ``profile`` of ``~/.oci/config``,
    the same profile Pulumi's OCI provider authenticates with."""
    document = _load(kubeconfig)
    for plugin in _exec_users(document, "oci"):
        _set_option(plugin["args"], ("--profile",), profile)
    return _dump(document)
