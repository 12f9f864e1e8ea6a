"""A local Apache Kafka broker for tests and local runs: KRaft, one combined broker+controller.

The broker's jars come from Maven Central through ``mvn`` (``kafka-pom.xml`` beside this file)
into a cache directory outside the repository, once; later runs use the cache and start the
broker in seconds. Each broker gets a temporary directory holding its config and data, formats
its KRaft storage there and runs ``java ... kafka.Kafka`` on two free loopback ports (clients
and controller). ``stop()`` / ``start()`` reuse the same ports and data, which the fault tests
rely on; ``close()`` deletes everything.

Run by hand: ``python -m devtools.kafka`` fetches, starts, creates the platform's topics and
serves until Ctrl-C; ``python -m devtools.kafka fetch`` only fills the jar cache.

Environment: ``DEVTOOLS_KAFKA_VERSION`` (default below), ``DEVTOOLS_CACHE_DIR`` (default
``$XDG_CACHE_HOME/todo-platform`` or ``~/.cache/todo-platform``), ``JAVA_HOME``.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import re
import shutil
import uuid
from collections.abc import Callable, Coroutine, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Final, TypeVar, Unpack

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError

from app.core.events.topics import Topic
from app.core.processes import TOPICS
from devtools.process import (
    ComponentError,
    LocalServer,
    ManagedProcess,
    ServerOptions,
    cache_root,
    command_line,
    exclusive_lock,
    free_ports,
    port_accepts,
    remove_tree,
    run_by_hand,
    run_tool,
    serve_by_hand,
    wait_until,
)

COMPONENT: Final = "kafka"
DEFAULT_VERSION: Final = "4.1.1"
POM: Final = Path(__file__).with_name("kafka-pom.xml")
NODE_ID: Final = 1
STOP_TIMEOUT_S: Final = 60.0
FETCH_TIMEOUT_S: Final = 900.0
_VERSION: Final = re.compile(r"\d+\.\d+\.\d+\Z")
# Kafka's error code for "topic already exists": creating topics is meant to be idempotent.
_TOPIC_ALREADY_EXISTS: Final = 36
_PROBE_TIMEOUT_S: Final = 5.0

T = TypeVar("T")

# Broker settings for a single-node test cluster. Replication factors and ISR minimums of the
# internal topics must be 1 or they can never be created on one node; a few partitions for the
# internal topics (default 50) make the first consumer group and transaction start quickly.
_BROKER_SETTINGS: Final = {
    "process.roles": "broker,controller",
    "node.id": str(NODE_ID),
    "controller.listener.names": "CONTROLLER",
    "inter.broker.listener.name": "PLAINTEXT",
    "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
    "num.partitions": "3",
    "default.replication.factor": "1",
    "min.insync.replicas": "1",
    "offsets.topic.replication.factor": "1",
    "offsets.topic.num.partitions": "3",
    "transaction.state.log.replication.factor": "1",
    "transaction.state.log.min.isr": "1",
    "transaction.state.log.num.partitions": "3",
    "share.coordinator.state.topic.replication.factor": "1",
    "share.coordinator.state.topic.min.isr": "1",
    "group.initial.rebalance.delay.ms": "0",
    # Topics exist because someone created them (create_topics, or Strimzi in a cluster); a
    # producer with a misspelt topic name should fail, not invent a topic.
    "auto.create.topics.enable": "false",
}

# Broker log lines go to stdout, which devtools captures in the broker's log file. The request
# and state-change loggers are very chatty at INFO and say nothing a test failure needs; the
# full config dump (hundreds of lines, repeated per component) is in config/server.properties.
_LOG4J2_CONFIG: Final = """\
status = warn
appender.out.type = Console
appender.out.name = STDOUT
appender.out.target = SYSTEM_OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = STDOUT
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.state.name = state.change.logger
logger.state.level = WARN
logger.authorizer.name = kafka.authorizer.logger
logger.authorizer.level = WARN
logger.config.name = kafka.server.KafkaConfig
logger.config.level = WARN
"""


def kafka_version() -> str:
    """The Kafka version to run: $DEVTOOLS_KAFKA_VERSION or the default."""
    version = os.environ.get("DEVTOOLS_KAFKA_VERSION", DEFAULT_VERSION)
    if not _VERSION.match(version):
        raise ComponentError(
            COMPONENT, f"DEVTOOLS_KAFKA_VERSION={version!r} is not a version like 4.1.1"
        )
    return version


def fetch_jars(version: str | None = None) -> Path:
    """The directory of the broker's jars, resolved with ``mvn`` into the cache the first time.

    The cache entry is keyed on the version and the POM's content, so changing either fetches
    again; a fetch that fails half-way leaves nothing that looks complete.
    """
    version = version if version is not None else kafka_version()
    target = cache_root() / f"kafka-{version}"
    libs = target / "libs"
    stamp = target / "complete"
    fingerprint = hashlib.sha256(POM.read_bytes() + version.encode()).hexdigest()
    if stamp.is_file() and stamp.read_text() == fingerprint:
        return libs
    target.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(target / ".lock"):
        if stamp.is_file() and stamp.read_text() == fingerprint:
            return libs  # another process fetched it while we waited for the lock
        mvn = shutil.which("mvn")
        if mvn is None:
            raise ComponentError(
                COMPONENT, "mvn not found: install Maven (Debian package `maven`) to fetch Kafka"
            )
        stamp.unlink(missing_ok=True)
        staging = target / "libs.partial"
        remove_tree(staging)
        log_path = target / "fetch.log"
        log_path.write_bytes(b"")
        run_tool(
            COMPONENT,
            [
                mvn,
                "--batch-mode",
                "--no-transfer-progress",
                "--file",
                str(POM),
                "dependency:copy-dependencies",
                f"-DoutputDirectory={staging}",
                "-DincludeScope=runtime",
                f"-Dkafka.version={version}",
            ],
            log_path=log_path,
            timeout=FETCH_TIMEOUT_S,
        )
        if not any(staging.glob(f"kafka_2.13-{version}.jar")):
            raise ComponentError(COMPONENT, f"mvn fetched no kafka_2.13-{version}.jar", log_path)
        remove_tree(libs)
        staging.rename(libs)
        stamp.write_text(fingerprint)
    return libs


def find_java() -> str:
    """The ``java`` executable: $JAVA_HOME/bin/java or the one on PATH."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home and Path(java_home, "bin", "java").is_file():
        return str(Path(java_home, "bin", "java"))
    java = shutil.which("java")
    if java is None:
        raise ComponentError(
            COMPONENT, "java not found: install Java 17+ (Debian `openjdk-17-jre-headless`)"
        )
    return java


def new_cluster_id() -> str:
    """A KRaft cluster id: 16 random bytes, URL-safe base64 without padding, as Kafka makes them.

    Kafka rejects ids starting with '-' (they read as command-line options), so draw again.
    """
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


def _properties(settings: dict[str, str]) -> str:
    return "".join(f"{key}={value}\n" for key, value in settings.items())


def _run_blocking(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to completion on a private event loop in a worker thread.

    The broker's methods are synchronous but are also called from pytest-asyncio tests and
    fixtures whose loop is already running, where ``asyncio.run`` is not allowed.
    """
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="devtools-kafka") as pool:
        return pool.submit(lambda: asyncio.run(make())).result()


class KafkaBroker(LocalServer):
    """One single-node Kafka cluster in a temporary directory; stop/start keeps ports and data.

    ``stop()`` is a controlled shutdown (SIGTERM); the log is ``kafka.log`` (see
    :class:`LocalServer`).
    """

    component = COMPONENT
    stop_timeout = STOP_TIMEOUT_S
    probe_interval = 0.2

    controller_port: int
    bootstrap: str

    def __init__(
        self,
        *,
        jars_dir: Path | None = None,
        heap: str = "512m",
        **options: Unpack[ServerOptions],
    ) -> None:
        super().__init__(**options)
        self.controller_port = next(port for port in free_ports(2) if port != self.port)
        self.bootstrap = f"{self.host}:{self.port}"
        self.heap = heap
        self._jars_dir = jars_dir

    @property
    def serving_what(self) -> str:
        return f"serving clients on {self.bootstrap}"

    def restart(self) -> None:
        """Stop and start again on the same ports with the same data."""
        self.stop()
        self.start()

    def create_topics(self, topics: Iterable[Topic], timeout: float = 30.0) -> None:
        """Create the topics that do not exist yet and wait until every partition has a leader.

        A topic that already exists with another partition count is an error naming it: tests
        that rely on three partitions must not silently run on one.
        """
        wanted = {topic.name: topic for topic in topics}
        if not wanted:
            return
        try:
            _run_blocking(lambda: self._create_topics(list(wanted.values())))
        except (KafkaError, OSError, TimeoutError) as exc:
            raise ComponentError(
                COMPONENT, f"cannot create topics: {exc!r}", self.log_path
            ) from exc
        wait_until(
            lambda: self._topics_have_leaders(wanted),
            component=COMPONENT,
            what=f"leaders elected for every partition of {', '.join(sorted(wanted))}",
            timeout=timeout,
            process=self.process,
        )

    def _initialise(self) -> ManagedProcess:
        jars = self._jars_dir if self._jars_dir is not None else fetch_jars()
        java = find_java()
        root, log_path = self._make_dirs()
        config = root / "config"
        config.mkdir()
        server_properties = config / "server.properties"
        controller = f"{self.host}:{self.controller_port}"
        settings = {
            **_BROKER_SETTINGS,
            "listeners": f"PLAINTEXT://{self.bootstrap},CONTROLLER://{controller}",
            "advertised.listeners": f"PLAINTEXT://{self.bootstrap}",
            "controller.quorum.voters": f"{NODE_ID}@{controller}",
            "log.dirs": str(root / "data"),
        }
        server_properties.write_text(_properties(settings))
        log4j = config / "log4j2.properties"
        log4j.write_text(_LOG4J2_CONFIG)
        common = [f"-Dlog4j2.configurationFile={log4j}", "-cp", str(jars / "*")]
        run_tool(
            COMPONENT,
            [
                java,
                # A one-shot tool: start fast rather than run fast.
                "-Xmx256m",
                "-XX:+UseSerialGC",
                "-XX:TieredStopAtLevel=1",
                *common,
                "kafka.tools.StorageTool",
                "format",
                "--config",
                str(server_properties),
                "--cluster-id",
                new_cluster_id(),
            ],
            log_path=log_path,
            timeout=120,
        )
        argv = [
            java,
            "-Xms128m",
            f"-Xmx{self.heap}",
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-XX:+ExitOnOutOfMemoryError",
            "-Djava.awt.headless=true",
            *common,
            "kafka.Kafka",
            str(server_properties),
        ]
        return ManagedProcess(COMPONENT, argv, log_path=log_path)

    def _admin(self) -> AIOKafkaAdminClient:
        return AIOKafkaAdminClient(
            bootstrap_servers=self.bootstrap,
            request_timeout_ms=int(_PROBE_TIMEOUT_S * 1000),
            client_id="devtools",
        )

    def _serving(self) -> bool:
        # A cheap TCP check first: an admin client against a closed port waits out its timeout.
        if not port_accepts(self.port, self.host):
            return False
        return _run_blocking(self._broker_registered)

    async def _broker_registered(self) -> bool:
        """Whether the broker answers metadata requests listing itself (it is unfenced)."""
        admin = self._admin()
        try:
            await asyncio.wait_for(admin.start(), _PROBE_TIMEOUT_S)
            cluster = await asyncio.wait_for(admin.describe_cluster(), _PROBE_TIMEOUT_S)
        except (KafkaError, OSError, TimeoutError):
            return False
        finally:
            await admin.close()
        return any(broker["node_id"] == NODE_ID for broker in cluster["brokers"])

    async def _create_topics(self, topics: list[Topic]) -> None:
        admin = self._admin()
        try:
            await admin.start()
            response = await admin.create_topics(
                [
                    NewTopic(topic.name, topic.partitions, 1, topic_configs=dict(topic.config))
                    for topic in topics
                ]
            )
            existing = await admin.describe_topics([topic.name for topic in topics])
        finally:
            await admin.close()
        failures = [
            f"{name}: error {code} {message or ''}".rstrip()
            for name, code, message, *_ in response.topic_errors
            if code not in (0, _TOPIC_ALREADY_EXISTS)
        ]
        # A topic created a moment ago can still describe with no partitions while the metadata
        # propagates: that is not a mismatch (the wait for leaders checks them all afterwards).
        partitions = {entry["topic"]: len(entry["partitions"]) for entry in existing}
        failures += [
            f"{topic.name}: exists with {partitions[topic.name]} partitions, "
            f"expected {topic.partitions}"
            for topic in topics
            if partitions.get(topic.name, 0) not in (0, topic.partitions)
        ]
        if failures:
            raise ComponentError(COMPONENT, "cannot create topics: " + "; ".join(failures))

    def _topics_have_leaders(self, wanted: dict[str, Topic]) -> bool:
        return _run_blocking(lambda: self._leaders_elected(wanted))

    async def _leaders_elected(self, wanted: dict[str, Topic]) -> bool:
        admin = self._admin()
        try:
            await admin.start()
            described = await admin.describe_topics(list(wanted))
        except (KafkaError, OSError, TimeoutError):
            return False
        finally:
            await admin.close()
        ready = {
            entry["topic"]
            for entry in described
            if entry["error_code"] == 0
            and len(entry["partitions"]) == wanted[entry["topic"]].partitions
            and all(partition["leader"] >= 0 for partition in entry["partitions"])
        }
        return ready == set(wanted)


def _ready(broker: KafkaBroker) -> list[str]:
    broker.create_topics(TOPICS)
    return [
        f"KAFKA_BOOTSTRAP={broker.bootstrap}",
        f"# topics: {', '.join(topic.name for topic in TOPICS)}",
    ]


def main(argv: list[str] | None = None) -> None:
    """``fetch``: fill the jar cache and print its path; ``run`` (default): serve until Ctrl-C."""
    parser = command_line(
        "devtools.kafka",
        "Run a single-node Kafka broker on 127.0.0.1 with the platform's topics.",
        port_help="client port (default: free)",
    )
    parser.add_argument("command", nargs="?", choices=("run", "fetch"), default="run")
    args = parser.parse_args(argv)
    if args.command == "fetch":
        run_by_hand(lambda: print(fetch_jars(), flush=True))
    else:
        serve_by_hand(lambda: KafkaBroker(port=args.port), _ready)


if __name__ == "__main__":
    main()
