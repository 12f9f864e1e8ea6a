"""A real Kubernetes control plane with simulated nodes, on loopback, for tests and local runs.

etcd, kube-apiserver, kube-controller-manager and kube-scheduler (built by
:mod:`devtools.gobuild`) run as child processes in a temporary directory; kwok plays the nodes'
kubelets: it marks the fake nodes Ready and the pods the real scheduler places on them Running
and Ready (Job pods Succeeded), without running any container. So Deployments, Jobs,
StatefulSets, PodDisruptionBudgets, CRDs, RBAC and Pod Security admission behave as on a
cluster, while no image is pulled.

Per run: a CA, the API server's serving certificate, client certificates for the admin (the
only kubeconfig handed out), the controller manager and the scheduler, and the service-account
signing key are generated (short-lived, EC P-256). The API server enforces Pod Security
admission (namespaces choose their level with labels) and RBAC.

What is simulated, and why: admission webhooks are switched off (``MutatingAdmissionWebhook``,
``ValidatingAdmissionWebhook``): the operators that serve them never run on kwok nodes, so every
call to them would fail. An aggregated API (an APIService with a service) is likewise never
available.

Run by hand: ``python -m devtools.kube`` builds what is missing, starts the cluster, prints a
KUBECONFIG and serves until Ctrl-C.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import ipaddress
import json
import os
import ssl
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from devtools import gobuild
from devtools.process import (
    LOOPBACK,
    Component,
    ComponentError,
    ManagedProcess,
    free_ports,
    make_temp_dir,
    remove_tree,
    run_by_hand,
    wait_until,
)

COMPONENT: Final = "kube"
SERVICE_CIDR: Final = "10.96.0.0/16"
# The first address of the service range: the `kubernetes` Service's cluster IP.
API_SERVICE_IP: Final = str(ipaddress.ip_network(SERVICE_CIDR)[1])
POD_CIDR: Final = "10.244.0.0/16"
KWOK_NODE_ANNOTATION: Final = "kwok.x-k8s.io/node"
# The kubelet's default node lease (pkg/kubelet/apis/config/v1beta1/defaults.go). kwok renews a
# Lease of this duration per node in kube-node-lease; its `node-heartbeat-with-lease` stage
# (the one the kwok module ships) patches the node's status only every 10-20 minutes and counts
# on that Lease for liveness, as kwokctl pairs them (pkg/kwokctl/runtime/cluster.go,
# getDefaultNodeStages). Without the Lease the node lifecycle controller sees no heartbeat for
# its grace period (50 s), marks the node NotReady and every pod on it not Ready.
NODE_LEASE_SECONDS: Final = 40
CONTEXT: Final = "todo-kwok"
STOP_TIMEOUT_S: Final = 15.0
# Waiting for the background build: the whole set takes about an hour on a fresh machine.
BUILD_WAIT_S: Final = float(os.environ.get("DEVTOOLS_GOBUILD_WAIT_S", "5400"))
_CERT_LIFETIME: Final = datetime.timedelta(days=1)


@dataclass(frozen=True)
class FakeNode:
    """A kwok node: its name and what it offers pods."""

    name: str
    cpu_millicores: int
    memory_mib: int
    arch: str = "amd64"
    max_pods: int = 110


@dataclass(frozen=True)
class Binaries:
    etcd: Path
    kube_apiserver: Path
    kube_controller_manager: Path
    kube_scheduler: Path
    kwok: Path
    kwok_stages: tuple[Path, ...]


def find_binaries(timeout: float = BUILD_WAIT_S) -> Binaries:
    """The built control-plane binaries, waiting for the background build up to ``timeout``."""
    etcd = gobuild.wait_for_component("etcd", timeout)
    kubernetes = gobuild.wait_for_component("kubernetes", timeout)
    kwok = gobuild.wait_for_component("kwok", timeout)
    stages = tuple(
        path
        for path in sorted((kwok / "assets").glob("*.yaml"))
        if path.name != "kustomization.yaml"
    )
    if not stages:
        raise ComponentError(COMPONENT, f"no kwok stage files in {kwok / 'assets'}")
    return Binaries(
        etcd=etcd / "etcd",
        kube_apiserver=kubernetes / "kube-apiserver",
        kube_controller_manager=kubernetes / "kube-controller-manager",
        kube_scheduler=kubernetes / "kube-scheduler",
        kwok=kwok / "kwok",
        kwok_stages=stages,
    )


# --- certificates ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _KeyPair:
    cert_pem: bytes
    key_pem: bytes


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _certificate(
    subject: x509.Name, issuer: x509.Name, key: ec.EllipticCurvePublicKey, ca: bool
) -> x509.CertificateBuilder:
    """What the CA and its leaves have alike: names, key, serial, a day's validity (from five
    minutes back, for clocks a little behind) and whether the certificate may sign others."""
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + _CERT_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=0 if ca else None), critical=True)
    )


def _name(common_name: str, organization: str | None = None) -> x509.Name:
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organization is not None:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    return x509.Name(attributes)


# The nine bits of RFC 5280's key usage (section 4.2.1.3), each an argument of x509.KeyUsage.
_KEY_USAGE_BITS: Final = (
    "digital_signature",
    "content_commitment",
    "key_encipherment",
    "data_encipherment",
    "key_agreement",
    "key_cert_sign",
    "crl_sign",
    "encipher_only",
    "decipher_only",
)


def _key_usage(*allowed: str) -> x509.KeyUsage:
    """A key usage extension with exactly the ``allowed`` bits set."""
    unknown = set(allowed) - set(_KEY_USAGE_BITS)
    if unknown:
        raise ValueError(f"not key usage bits: {sorted(unknown)}")
    return x509.KeyUsage(**{bit: bit in allowed for bit in _KEY_USAGE_BITS})


class _Authority:
    """A throwaway certificate authority for one cluster run."""

    def __init__(self) -> None:
        self._key = _new_key()
        self._subject = _name("todo-kwok-ca")
        self.cert = (
            _certificate(self._subject, self._subject, self._key.public_key(), ca=True)
            .add_extension(_key_usage("digital_signature", "key_cert_sign", "crl_sign"), True)
            .sign(self._key, hashes.SHA256())
        )
        self.cert_pem = self.cert.public_bytes(serialization.Encoding.PEM)

    def issue(
        self,
        common_name: str,
        *,
        organization: str | None = None,
        server_names: Sequence[str] = (),
        server_ips: Sequence[str] = (),
    ) -> _KeyPair:
        """A leaf certificate: for a server when names or IPs are given, else for a client."""
        key = _new_key()
        server = bool(server_names or server_ips)
        subject = _name(common_name, organization)
        usage = (
            x509.ExtendedKeyUsageOID.SERVER_AUTH if server else x509.ExtendedKeyUsageOID.CLIENT_AUTH
        )
        builder = _certificate(subject, self._subject, key.public_key(), ca=False).add_extension(
            x509.ExtendedKeyUsage([usage]), critical=False
        )
        if server:
            alternative_names: list[x509.GeneralName] = [
                x509.DNSName(name) for name in server_names
            ]
            alternative_names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in server_ips]
            builder = builder.add_extension(
                x509.SubjectAlternativeName(alternative_names), critical=False
            )
        cert = builder.sign(self._key, hashes.SHA256())
        return _KeyPair(cert.public_bytes(serialization.Encoding.PEM), _key_pem(key))


def _write_private(path: Path, data: bytes) -> Path:
    """Write key material readable by the owner only."""
    path.touch(mode=0o600)
    path.write_bytes(data)
    return path


def kubeconfig_document(server: str, ca_pem: bytes, client: _KeyPair, context: str) -> str:
    """A kubeconfig with everything embedded (JSON is valid YAML, which kubeconfig files are)."""

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode()

    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": context,
                    "cluster": {"server": server, "certificate-authority-data": b64(ca_pem)},
                }
            ],
            "users": [
                {
                    "name": context,
                    "user": {
                        "client-certificate-data": b64(client.cert_pem),
                        "client-key-data": b64(client.key_pem),
                    },
                }
            ],
            "contexts": [{"name": context, "context": {"cluster": context, "user": context}}],
            "current-context": context,
        },
        indent=1,
    )


# --- the cluster ----------------------------------------------------------------------------


class KubeApi:
    """A small HTTPS client of the API server, authenticated as the cluster admin."""

    def __init__(self, server: str, ca: Path, cert: Path, key: Path) -> None:
        self.server = server
        context = ssl.create_default_context(cafile=str(ca))
        context.load_cert_chain(str(cert), str(key))
        self._client = httpx.Client(base_url=server, verify=context, timeout=30.0)

    def close(self) -> None:
        self._client.close()

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self._client.request(method, path, **kwargs)

    def get(self, path: str) -> dict[str, Any]:
        response = self.request("GET", path)
        response.raise_for_status()
        document: dict[str, Any] = response.json()
        return document

    def exists(self, path: str) -> bool:
        response = self.request("GET", path)
        if response.status_code == 404:
            return False
        response.raise_for_status()
        return True

    def create(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        response = self.request("POST", path, json=dict(body))
        if response.is_error:
            raise ComponentError(
                COMPONENT, f"POST {path}: {response.status_code} {response.text.strip()}"
            )
        document: dict[str, Any] = response.json()
        return document

    def items(self, path: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.get(path)["items"]
        return items


class ControlPlane(Component):
    """etcd + kube-apiserver + kube-controller-manager + kube-scheduler + kwok with fake nodes.

    ``kubeconfig`` (a file) and ``api`` are usable once :meth:`start` returns, which is when
    every fake node is Ready and the controller manager has created the default service account.
    """

    def __init__(
        self,
        binaries: Binaries,
        nodes: Sequence[FakeNode],
        *,
        log_dir: Path | None = None,
        startup_timeout: float = 60.0,
    ) -> None:
        if not nodes:
            raise ValueError("a cluster needs at least one node")
        self.binaries = binaries
        self.nodes = tuple(nodes)
        self.startup_timeout = startup_timeout
        self._log_dir = log_dir
        self._root: Path | None = None
        self._processes: list[ManagedProcess] = []
        self._api: KubeApi | None = None
        self.kubeconfig: Path | None = None
        self.server = ""
        self.startup_seconds = 0.0

    @property
    def api(self) -> KubeApi:
        if self._api is None:
            raise ComponentError(COMPONENT, "the control plane is not started")
        return self._api

    @property
    def log_path(self) -> Path | None:
        return self._processes[0].log_path if self._processes else None

    def logs(self) -> list[Path]:
        return [process.log_path for process in self._processes]

    def start(self) -> None:
        started = time.monotonic()
        root = make_temp_dir("todo-kube-")
        self._root = root
        log_dir = self._log_dir if self._log_dir is not None else root
        log_dir.mkdir(parents=True, exist_ok=True)
        etcd_client, etcd_peer, api_port, cm_port, sched_port, kwok_port = free_ports(6)
        self.server = f"https://{LOOPBACK}:{api_port}"
        pki = self._write_pki(root)

        self._run(
            "etcd",
            [
                str(self.binaries.etcd),
                "--name=default",
                f"--data-dir={root / 'etcd'}",
                f"--listen-client-urls=http://{LOOPBACK}:{etcd_client}",
                f"--advertise-client-urls=http://{LOOPBACK}:{etcd_client}",
                f"--listen-peer-urls=http://{LOOPBACK}:{etcd_peer}",
                f"--initial-advertise-peer-urls=http://{LOOPBACK}:{etcd_peer}",
                f"--initial-cluster=default=http://{LOOPBACK}:{etcd_peer}",
                # A test cluster's data is thrown away: durability only costs time here.
                "--unsafe-no-fsync",
                "--log-level=warn",
            ],
            log_dir,
        )
        self._wait(
            "etcd",
            lambda: _answers(f"http://{LOOPBACK}:{etcd_client}/health"),
            "etcd /health",
        )
        self._run(
            "kube-apiserver",
            [
                str(self.binaries.kube_apiserver),
                f"--etcd-servers=http://{LOOPBACK}:{etcd_client}",
                f"--bind-address={LOOPBACK}",
                f"--advertise-address={LOOPBACK}",
                f"--secure-port={api_port}",
                f"--cert-dir={root / 'apiserver-certs'}",
                f"--tls-cert-file={pki['apiserver.crt']}",
                f"--tls-private-key-file={pki['apiserver.key']}",
                f"--client-ca-file={pki['ca.crt']}",
                f"--service-account-key-file={pki['sa.pub']}",
                f"--service-account-signing-key-file={pki['sa.key']}",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                "--authorization-mode=RBAC",
                # Privileged pods must reach Pod Security admission, which decides per namespace;
                # without this flag the API server refuses them before Pod Security sees them.
                "--allow-privileged=true",
                # Only one API server, on loopback: the `kubernetes` Service's endpoints would
                # point pods at 127.0.0.1, which means nothing on a kwok node.
                "--endpoint-reconciler-type=none",
                # The operators serving webhooks never run on kwok nodes (see module docstring).
                "--disable-admission-plugins=MutatingAdmissionWebhook,ValidatingAdmissionWebhook",
                "--profiling=false",
            ],
            log_dir,
        )
        self._api = KubeApi(self.server, pki["ca.crt"], pki["admin.crt"], pki["admin.key"])
        self._wait("kube-apiserver", self._api_ready, "kube-apiserver /readyz")

        for name, port, extra in (
            (
                "kube-controller-manager",
                cm_port,
                [
                    f"--service-account-private-key-file={pki['sa.key']}",
                    f"--root-ca-file={pki['ca.crt']}",
                    "--use-service-account-credentials=true",
                    f"--cluster-cidr={POD_CIDR}",
                    f"--service-cluster-ip-range={SERVICE_CIDR}",
                ],
            ),
            ("kube-scheduler", sched_port, []),
        ):
            kubeconfig = pki[f"{name}.kubeconfig"]
            binary = (
                self.binaries.kube_controller_manager
                if name == "kube-controller-manager"
                else self.binaries.kube_scheduler
            )
            self._run(
                name,
                [
                    str(binary),
                    f"--kubeconfig={kubeconfig}",
                    f"--authentication-kubeconfig={kubeconfig}",
                    f"--authorization-kubeconfig={kubeconfig}",
                    f"--bind-address={LOOPBACK}",
                    f"--secure-port={port}",
                    "--leader-elect=false",
                    *extra,
                ],
                log_dir,
            )
        stages = root / "kwok-stages.yaml"
        stages.write_text("\n---\n".join(path.read_text() for path in self.binaries.kwok_stages))
        self._run(
            "kwok",
            [
                str(self.binaries.kwok),
                f"--kubeconfig={pki['admin.kubeconfig']}",
                f"--config={stages}",
                "--manage-all-nodes=false",
                f"--manage-nodes-with-annotation-selector={KWOK_NODE_ANNOTATION}=fake",
                f"--node-lease-duration-seconds={NODE_LEASE_SECONDS}",
                f"--cidr={POD_CIDR}",
                f"--node-ip={LOOPBACK}",
                f"--server-address={LOOPBACK}:{kwok_port}",
            ],
            log_dir,
        )
        for node in self.nodes:
            self.api.create("/api/v1/nodes", node_manifest(node))
        self._wait("kwok", self._nodes_ready, f"{len(self.nodes)} node(s) Ready")
        self._wait(
            "kube-controller-manager",
            lambda: self.api.exists("/api/v1/namespaces/default/serviceaccounts/default"),
            "the default service account",
        )
        self.kubeconfig = pki["admin.kubeconfig"]
        self.startup_seconds = time.monotonic() - started

    def _write_pki(self, root: Path) -> dict[str, Path]:
        pki = root / "pki"
        pki.mkdir(mode=0o700)
        authority = _Authority()
        files = {"ca.crt": _write_private(pki / "ca.crt", authority.cert_pem)}
        serving = authority.issue(
            "kube-apiserver",
            server_names=(
                "localhost",
                "kubernetes",
                "kubernetes.default",
                "kubernetes.default.svc",
                "kubernetes.default.svc.cluster.local",
            ),
            server_ips=(LOOPBACK, API_SERVICE_IP),
        )
        files["apiserver.crt"] = _write_private(pki / "apiserver.crt", serving.cert_pem)
        files["apiserver.key"] = _write_private(pki / "apiserver.key", serving.key_pem)
        signing = _new_key()
        files["sa.key"] = _write_private(pki / "sa.key", _key_pem(signing))
        files["sa.pub"] = _write_private(
            pki / "sa.pub",
            signing.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            ),
        )
        # The admin holds system:masters; the controller manager and scheduler get the users
        # the default RBAC policy binds their own roles to.
        for user, common_name, organization in (
            ("admin", "todo-kwok-admin", "system:masters"),
            ("kube-controller-manager", "system:kube-controller-manager", None),
            ("kube-scheduler", "system:kube-scheduler", None),
        ):
            client = authority.issue(common_name, organization=organization)
            if user == "admin":
                files["admin.crt"] = _write_private(pki / "admin.crt", client.cert_pem)
                files["admin.key"] = _write_private(pki / "admin.key", client.key_pem)
            files[f"{user}.kubeconfig"] = _write_private(
                pki / f"{user}.kubeconfig",
                kubeconfig_document(self.server, authority.cert_pem, client, CONTEXT).encode(),
            )
        return files

    def _run(self, name: str, argv: list[str], log_dir: Path) -> None:
        log_path = log_dir / f"{name}.log"
        log_path.write_bytes(b"")
        process = ManagedProcess(name, argv, log_path=log_path)
        self._processes.append(process)
        process.start()

    def _wait(self, name: str, condition: Callable[[], bool], what: str) -> None:
        process = next(process for process in self._processes if process.component == name)
        wait_until(
            condition,
            component=name,
            what=what,
            timeout=self.startup_timeout,
            process=process,
            interval=0.1,
        )
        # Every earlier process must still be up: a crash there explains a stalled wait.
        for other in self._processes:
            other.check_alive(f"while waiting for {what}")

    def _api_ready(self) -> bool:
        """Ready, and the admin authorised (RBAC's bootstrap policy is in place)."""
        try:
            return all(
                self.api.request("GET", path).status_code == 200
                for path in ("/readyz", "/api/v1/nodes")
            )
        except httpx.HTTPError:
            return False

    def _nodes_ready(self) -> bool:
        names = {node.name for node in self.nodes}
        ready = {
            item["metadata"]["name"]
            for item in self.api.items("/api/v1/nodes")
            if any(
                condition["type"] == "Ready" and condition["status"] == "True"
                for condition in item.get("status", {}).get("conditions", [])
            )
        }
        return names <= ready

    def close(self) -> None:
        if self._api is not None:
            self._api.close()
            self._api = None
        # Reverse order: kwok and the controllers before the API server, etcd last.
        for process in reversed(self._processes):
            process.stop(STOP_TIMEOUT_S)
        self._processes = []
        if self._root is not None:
            remove_tree(self._root)
            self._root = None

    def serve_until_interrupted(self) -> None:
        try:
            while True:
                for process in self._processes:
                    process.check_alive("on its own")
                time.sleep(1.0)
        except KeyboardInterrupt:
            return


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


def node_manifest(node: FakeNode) -> dict[str, Any]:
    """A Node object kwok takes over (by annotation), with the capacity pods are scheduled on."""
    resources = {
        "cpu": f"{node.cpu_millicores}m",
        "memory": f"{node.memory_mib}Mi",
        "pods": str(node.max_pods),
        "ephemeral-storage": "100Gi",
    }
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": node.name,
            "annotations": {KWOK_NODE_ANNOTATION: "fake"},
            "labels": {
                "kubernetes.io/arch": node.arch,
                "kubernetes.io/os": "linux",
                "kubernetes.io/hostname": node.name,
                "type": "kwok",
            },
        },
        "status": {"allocatable": resources, "capacity": resources},
    }


def _serve(nodes: int, cpu: int, memory: int) -> None:
    print("# waiting for the control-plane binaries (building them if needed)...", flush=True)
    gobuild.build(["etcd", "kubernetes", "kwok"])
    cluster = ControlPlane(
        find_binaries(),
        [FakeNode(f"kwok-node-{index}", cpu, memory) for index in range(nodes)],
    )
    with cluster:
        print(f"# cluster up in {cluster.startup_seconds:.1f} s; logs: {cluster.logs()[0].parent}")
        print(f"KUBECONFIG={cluster.kubeconfig}", flush=True)
        cluster.serve_until_interrupted()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=2)
    parser.add_argument("--node-cpu-millicores", type=int, default=2000)
    parser.add_argument("--node-memory-mib", type=int, default=8192)
    args = parser.parse_args()
    run_by_hand(lambda: _serve(args.nodes, args.node_cpu_millicores, args.node_memory_mib))


if __name__ == "__main__":
    main()
