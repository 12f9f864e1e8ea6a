"""Benchmark: evaluating each stack's Pulumi program under mocks (no CLI, no cloud).

    uv run python -m bench.pulumi_stacks [--repeat 5]

For every committed stack (oke, aks, gke, local) prints the number of registered resources and
the wall time of one evaluation, as `pulumi up` (computed outputs known) and as the first
`pulumi preview` of a fresh stack, median of ``--repeat`` runs after one warm-up run (the
warm-up pays the provider SDK imports, reported separately). Then the growth when the workers
and the Kafka topics are multiplied by 10: resources, time, and their ratios.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

from app.core import processes
from app.core.events.topics import Topic
from devtools.testkit.pulumi_mocks import STACKS, ProgramRun, evaluate
from infra import app_names
from infra.workloads import catalog

SCALE: Final = 10
# Node pools grown with the scaled stack, so the capacity check lets it through.
SCALED_POOLS: Final[dict[str, dict[str, Any]]] = {
    # Ten times the boot disks are past the free 200 GB the storage check holds oke to.
    "oke": {"nodeCount": 2 * SCALE, "storageLimitGb": 200 * SCALE},
    "aks": {"nodeCount": 3 * SCALE, "nodeMaxCount": 5 * SCALE},
    "gke": {"nodeCount": 3 * SCALE, "nodeMaxCount": 5 * SCALE},
    "local": {"localCpuMillicores": 4000 * SCALE, "localMemoryMib": 8192 * SCALE},
}


def _copy_worker(app: catalog.App, index: int) -> catalog.App:
    consumes = tuple(
        dataclasses.replace(consumption, group=f"{consumption.group}-{index}")
        for consumption in app.consumes
    )
    return dataclasses.replace(app, key=f"{app.key}-{index}", consumes=consumes)


@contextmanager
def scaled(factor: int) -> Iterator[None]:
    """Multiply the worker apps and the Kafka topics by ``factor`` for the duration."""
    saved = (
        catalog.APPS,
        catalog.WORKERS,
        app_names.APP_IDS,
        app_names.PUBSUB_APP_IDS,
        processes.TOPICS,
    )
    workers = tuple(_copy_worker(app, i) for i in range(factor) for app in catalog.WORKERS)
    topics: tuple[Topic, ...] = tuple(
        dataclasses.replace(topic, name=f"{topic.name}-{i}")
        for i in range(factor)
        for topic in processes.TOPICS
    )
    catalog.APPS = (catalog.API, *workers)  # type: ignore[misc]
    catalog.WORKERS = workers  # type: ignore[misc]
    # The platform scopes its Dapr components to these ids (infra/app_names.py).
    app_names.APP_IDS = tuple(app.app_id for app in catalog.APPS)  # type: ignore[misc]
    app_names.PUBSUB_APP_IDS = tuple(app.app_id for app in workers)  # type: ignore[misc]
    processes.TOPICS = topics  # type: ignore[misc]  # the Kafka topics the platform creates
    try:
        yield
    finally:
        (  # type: ignore[misc]
            catalog.APPS,
            catalog.WORKERS,
            app_names.APP_IDS,
            app_names.PUBSUB_APP_IDS,
            processes.TOPICS,
        ) = saved


@dataclasses.dataclass(frozen=True)
class Measure:
    resources: int
    seconds: float


def measure(stack: str, preview: bool, repeat: int, **settings: Any) -> Measure:
    times: list[float] = []
    run: ProgramRun | None = None
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as workdir:
            started = time.perf_counter()
            run = evaluate(stack, Path(workdir), preview=preview, settings=settings or None).ok()
            times.append(time.perf_counter() - started)
    assert run is not None
    return Measure(len(run.resources), statistics.median(times))


def count(stack: str, type_: str, **settings: Any) -> int:
    with tempfile.TemporaryDirectory() as workdir:
        run = evaluate(stack, Path(workdir), preview=False, settings=settings or None).ok()
    return len(run.of_type(type_))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per figure (median)")
    repeat = parser.parse_args().repeat

    print(f"Pulumi program under mocks, median of {repeat} runs after a warm-up run")
    print(f"{'stack':6} {'warm-up':>8} {'resources':>9} {'up':>8} {'preview':>8}")
    base: dict[str, Measure] = {}
    for stack in STACKS:
        warm_up = measure(stack, False, 1)
        base[stack] = up = measure(stack, False, repeat)
        preview = measure(stack, True, repeat)
        print(
            f"{stack:6} {warm_up.seconds:7.2f}s {up.resources:9d} "
            f"{up.seconds:7.3f}s {preview.seconds:7.3f}s"
        )

    topics, deployments = (
        "kubernetes:kafka.strimzi.io/v1:KafkaTopic",
        "kubernetes:apps/v1:Deployment",
    )
    before = (count("local", topics), count("local", deployments))
    with scaled(SCALE):
        after = (
            count("local", topics, **SCALED_POOLS["local"]),
            count("local", deployments, **SCALED_POOLS["local"]),
        )
        print(
            f"\nx{SCALE} workers and topics (KafkaTopics {before[0]} -> {after[0]}, "
            f"Deployments {before[1]} -> {after[1]}; node pools grown to fit):"
        )
        print(f"{'stack':6} {'resources':>13} {'ratio':>6} {'up':>16} {'ratio':>6}")
        for stack in STACKS:
            grown = measure(stack, False, repeat, **SCALED_POOLS[stack])
            print(
                f"{stack:6} {base[stack].resources:5d} -> {grown.resources:5d} "
                f"{grown.resources / base[stack].resources:5.2f}x "
                f"{base[stack].seconds:6.3f}s -> {grown.seconds:6.3f}s "
                f"{grown.seconds / base[stack].seconds:5.2f}x"
            )


if __name__ == "__main__":
    main()
