"""Download a pinned chart archive from its repository, as ``helm pull`` would, into a cache:
the program reads the CRDs it applies from the archive (:mod:`infra.platform.crds`).

Two kinds of repository: an https chart repository (``index.yaml`` names the archive's URL and
its sha256 digest) and an OCI registry (the chart is the layer of media type
``application/vnd.cncf.helm.chart.content.v1.tar+gzip`` in the manifest tagged with the
version; anonymous pulls get a bearer token from the registry's challenge, as the OCI
distribution spec describes). Every download is checked against its digest and written
atomically, so a cached archive is always whole.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import yaml

from infra.platform.chart_archive import archive_name
from infra.platform.k8s import ChartRef

HELM_LAYER: Final = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
OCI_MANIFEST: Final = "application/vnd.oci.image.manifest.v1+json"
TIMEOUT_SECONDS: Final = 60
_CHALLENGE_PARAM = re.compile(r'(\w+)="([^"]*)"')


class ChartFetchError(RuntimeError):
    """The archive could not be downloaded or did not match its published digest."""


def default_cache() -> Path:
    """``TODO_CHART_CACHE``, else ``$XDG_CACHE_HOME/todo-platform/charts`` (~/.cache). A
    directory already holding the pinned archives (an air-gapped copy, the tests'
    ``../shared/charts``) is used as is: nothing is downloaded."""
    configured = os.environ.get("TODO_CHART_CACHE")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "todo-platform" / "charts"


def fetch_chart(ref: ChartRef, cache: Path | None = None, scheme: str = "https") -> Path:
    """The archive of ``ref`` in ``cache``, downloaded once. ``scheme`` is the OCI registry's
    (https; the tests' local registry speaks http)."""
    directory = cache or default_cache()
    target = directory / archive_name(ref)
    if target.is_file():
        return target
    data = _oci_pull(ref, scheme) if ref.oci else _repository_pull(ref)
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=directory, delete=False, suffix=".part") as part:
        part.write(data)
    Path(part.name).replace(target)
    return target


def _get(url: str, headers: Mapping[str, str] | None = None) -> bytes:
    request = urllib.request.Request(url, headers=dict(headers or {}))  # noqa: S310 (http(s) only)
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise ChartFetchError(f"refusing to fetch {url}: not http(s)")
    with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
        body: bytes = response.read()
        return body


def _verified(data: bytes, digest: str, what: str) -> bytes:
    actual = hashlib.sha256(data).hexdigest()
    if actual != digest.removeprefix("sha256:"):
        raise ChartFetchError(f"{what}: sha256 {actual} does not match the published {digest}")
    return data


def _repository_pull(ref: ChartRef) -> bytes:
    base = ref.repo.rstrip("/") + "/"
    index = yaml.safe_load(_get(urllib.parse.urljoin(base, "index.yaml")))
    entries = (index.get("entries") or {}).get(ref.chart) or []
    entry = next((e for e in entries if str(e.get("version")) == ref.version), None)
    if entry is None or not entry.get("urls"):
        raise ChartFetchError(f"{ref.repo} has no {ref.chart} {ref.version}")
    url = urllib.parse.urljoin(base, entry["urls"][0])
    data = _get(url)
    digest = entry.get("digest")
    return _verified(data, digest, url) if digest else data


def _oci_pull(ref: ChartRef, scheme: str) -> bytes:
    location = ref.repo.removeprefix("oci://").rstrip("/")
    host, _, path = location.partition("/")
    repository = f"{path}/{ref.chart}" if path else ref.chart
    registry = f"{scheme}://{host}/v2/{repository}"
    token = _bearer_token(f"{registry}/manifests/{ref.version}", scheme)
    auth = {"Authorization": f"Bearer {token}"} if token else {}
    manifest = json.loads(
        _get(f"{registry}/manifests/{ref.version}", {**auth, "Accept": OCI_MANIFEST})
    )
    layers = [layer for layer in manifest.get("layers", []) if layer["mediaType"] == HELM_LAYER]
    if len(layers) != 1:
        raise ChartFetchError(f"{ref.repo}/{ref.chart}:{ref.version} is not a Helm chart")
    digest = layers[0]["digest"]
    return _verified(_get(f"{registry}/blobs/{digest}", auth), digest, f"{ref.chart} {digest}")


def _bearer_token(url: str, scheme: str) -> str | None:
    """The anonymous pull token the registry's 401 challenge points to, or None when the
    registry answers without one."""
    request = urllib.request.Request(url, method="HEAD", headers={"Accept": OCI_MANIFEST})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS):  # noqa: S310
            return None
    except urllib.error.HTTPError as error:
        if error.code != 401:
            raise ChartFetchError(f"{url}: HTTP {error.code}") from error
        challenge = error.headers.get("WWW-Authenticate", "")
    params: dict[str, Any] = dict(_CHALLENGE_PARAM.findall(challenge))
    realm = params.pop("realm", None)
    if not challenge.lower().startswith("bearer") or realm is None:
        raise ChartFetchError(f"{url}: unsupported authentication challenge {challenge!r}")
    if urllib.parse.urlsplit(realm).scheme != scheme:
        raise ChartFetchError(f"{url}: token realm {realm} is not {scheme}")
    body = json.loads(_get(f"{realm}?{urllib.parse.urlencode(params)}"))
    token = body.get("token") or body.get("access_token")
    if not token:
        raise ChartFetchError(f"{realm} issued no token")
    return str(token)
