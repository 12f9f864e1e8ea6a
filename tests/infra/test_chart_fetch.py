"""Fetching a pinned chart archive as ``helm pull`` does, from a chart repository on a local
HTTP server (``index.yaml`` with the digest) and from a local server speaking the OCI
distribution API with an anonymous bearer-token challenge, serving the real pinned archives."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from infra.platform import versions
from infra.platform.chart_archive import ChartArchive, archive_name
from infra.platform.chart_fetch import HELM_LAYER, ChartFetchError, fetch_chart
from infra.platform.k8s import ChartRef
from tests.infra.chart_checks import archive

TOKEN = "anonymous-pull-token"


class Registry:
    """What the server serves: path -> (bytes, content type), and which paths need the token."""

    def __init__(self) -> None:
        self.files: dict[str, tuple[bytes, str]] = {}
        self.protected: set[str] = set()
        self.requests: list[str] = []
        self.base = ""


@pytest.fixture
def registry() -> Iterator[Registry]:
    state = Registry()

    class Handler(BaseHTTPRequestHandler):
        def _serve(self, body: bool) -> None:
            state.requests.append(f"{self.command} {self.path}")
            path = self.path.split("?", 1)[0]
            if path in state.protected and self.headers.get("Authorization") != f"Bearer {TOKEN}":
                self.send_response(401)
                self.send_header(
                    "WWW-Authenticate",
                    f'Bearer realm="{state.base}/token",service="local",scope="pull"',
                )
                self.end_headers()
                return
            if path not in state.files:
                self.send_response(404)
                self.end_headers()
                return
            data, content_type = state.files[path]
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if body:
                self.wfile.write(data)

        def do_GET(self) -> None:
            self._serve(body=True)

        def do_HEAD(self) -> None:
            self._serve(body=False)

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.base = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_from_a_chart_repository_by_its_index(registry: Registry, tmp_path: Path) -> None:
    data = archive(versions.DAPR).path.read_bytes()
    index = {
        "apiVersion": "v1",
        "entries": {
            "dapr": [
                {"version": "1.16.8", "urls": ["dapr-1.16.8.tgz"], "digest": "0" * 64},
                {
                    "version": "1.16.9",
                    "urls": ["dapr-1.16.9.tgz"],
                    "digest": hashlib.sha256(data).hexdigest(),
                },
            ]
        },
    }
    registry.files["/charts/index.yaml"] = (yaml.safe_dump(index).encode(), "text/yaml")
    registry.files["/charts/dapr-1.16.9.tgz"] = (data, "application/gzip")
    ref = ChartRef("dapr", "1.16.9", f"{registry.base}/charts/")
    path = fetch_chart(ref, tmp_path)
    assert path == tmp_path / "dapr-1.16.9.tgz"
    assert path.read_bytes() == data
    assert len(ChartArchive(path).crds()) == 5
    # Cached: a second fetch asks the server nothing.
    asked = len(registry.requests)
    assert fetch_chart(ref, tmp_path) == path
    assert len(registry.requests) == asked
    assert [p.name for p in tmp_path.iterdir()] == ["dapr-1.16.9.tgz"]


def test_a_digest_mismatch_is_refused_and_nothing_is_cached(
    registry: Registry, tmp_path: Path
) -> None:
    index = {"entries": {"dapr": [{"version": "1.16.9", "urls": ["x.tgz"], "digest": "1" * 64}]}}
    registry.files["/charts/index.yaml"] = (yaml.safe_dump(index).encode(), "text/yaml")
    registry.files["/charts/x.tgz"] = (b"not the chart", "application/gzip")
    with pytest.raises(ChartFetchError, match="does not match the published"):
        fetch_chart(ChartRef("dapr", "1.16.9", f"{registry.base}/charts"), tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_from_an_oci_registry_with_an_anonymous_token(registry: Registry, tmp_path: Path) -> None:
    data = archive(versions.STRIMZI).path.read_bytes()
    digest = f"sha256:{hashlib.sha256(data).hexdigest()}"
    manifest = {
        "schemaVersion": 2,
        "config": {"mediaType": "application/vnd.cncf.helm.config.v1+json", "digest": "sha256:0"},
        "layers": [{"mediaType": HELM_LAYER, "digest": digest, "size": len(data)}],
    }
    repo = "/v2/strimzi-helm/strimzi-kafka-operator"
    registry.files[f"{repo}/manifests/1.0.0"] = (json.dumps(manifest).encode(), "application/json")
    registry.files[f"{repo}/blobs/{digest}"] = (data, "application/octet-stream")
    registry.files["/token"] = (json.dumps({"token": TOKEN}).encode(), "application/json")
    registry.protected |= {f"{repo}/manifests/1.0.0", f"{repo}/blobs/{digest}"}
    host = registry.base.removeprefix("http://")
    ref = ChartRef("strimzi-kafka-operator", "1.0.0", f"oci://{host}/strimzi-helm")
    path = fetch_chart(ref, tmp_path, scheme="http")
    assert path.name == archive_name(versions.STRIMZI)
    assert path.read_bytes() == data
    assert any(r.startswith("GET /token?") for r in registry.requests)
    assert {crd["spec"]["names"]["kind"] for crd in ChartArchive(path).crds()} >= {
        "Kafka",
        "KafkaNodePool",
        "KafkaTopic",
    }


def test_an_oci_artifact_that_is_no_chart_is_refused(registry: Registry, tmp_path: Path) -> None:
    manifest = {"layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": "x"}]}
    registry.files["/v2/x/app/manifests/1.0.0"] = (
        json.dumps(manifest).encode(),
        "application/json",
    )
    host = registry.base.removeprefix("http://")
    with pytest.raises(ChartFetchError, match="is not a Helm chart"):
        fetch_chart(ChartRef("app", "1.0.0", f"oci://{host}/x"), tmp_path, scheme="http")
    assert list(tmp_path.iterdir()) == []
