"""The capacity check: the default oke stack fits its free-tier pool; too much is refused."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from devtools.testkit.pulumi_mocks import STACKS, ProgramRun, load_config
from infra.capacity import Requests, platform_volumes, requests
from infra.cloud.base import Allocatable
from stacks.capacity import CapacityError, check_capacity, check_storage, sizing_plan
from stacks.cluster import MIN_VOLUME_GB, boot_disks, planned_allocatable
from stacks.config import StackConfig


def requested(cfg: StackConfig) -> Requests:
    return requests(sizing_plan(cfg))


def test_fitting_requests_return_the_report() -> None:
    report = check_capacity(Requests(1000, 2048), Allocatable(1000, 2048), "pool")
    assert report.fits
    assert report.summary() == (
        "requests 1000m CPU / 2048 MiB memory; allocatable 1000m CPU / 2048 MiB memory"
    )


@pytest.mark.parametrize(
    ("requests", "allocatable"),
    [(Requests(1001, 100), Allocatable(1000, 2048)), (Requests(10, 2049), Allocatable(1000, 2048))],
    ids=["cpu", "memory"],
)
def test_either_resource_short_is_refused_with_both_figures(
    requests: Requests, allocatable: Allocatable
) -> None:
    with pytest.raises(CapacityError) as raised:
        check_capacity(requests, allocatable, "2 x small")
    message = str(raised.value)
    assert "does not fit 2 x small" in message
    assert f"requests {requests.cpu_millicores}m CPU / {requests.memory_mib} MiB" in message
    assert (
        f"allocatable {allocatable.cpu_millicores}m CPU / {allocatable.memory_mib} MiB" in message
    )


@pytest.mark.parametrize("stack", STACKS)
def test_every_committed_stack_fits(tmp_path: Path, stack: str) -> None:
    cfg = load_config(stack, tmp_path)
    assert check_capacity(requested(cfg), planned_allocatable(cfg), stack).fits


def test_default_oke_stack_fits_the_always_free_pool(tmp_path: Path) -> None:
    cfg = load_config("oke", tmp_path)
    assert planned_allocatable(cfg) == Allocatable(3560, 19370)
    need = requested(cfg)
    assert need.cpu_millicores <= 3560
    assert need.memory_mib <= 19370


@pytest.mark.parametrize(
    ("stack", "settings"),
    [
        ("oke", {"kafkaReplicas": 9, "apiReplicas": 50, "apiMaxReplicas": 50}),
        ("oke", {"nodeCount": 1, "nodeOcpus": 1, "nodeMemoryGb": 6}),
        ("local", {"localCpuMillicores": 500, "localMemoryMib": 1024}),
    ],
    ids=["oke-too-many-replicas", "oke-too-small-pool", "local-too-small"],
)
def test_oversized_stack_is_refused_before_any_resource(
    run_stack: Callable[..., ProgramRun],
    tmp_path: Path,
    stack: str,
    settings: dict[str, Any],
) -> None:
    cfg = load_config(stack, tmp_path, settings)
    need, have = requested(cfg), planned_allocatable(cfg)
    run = run_stack(stack, settings=settings)
    assert isinstance(run.error, CapacityError), run.error
    message = str(run.error)
    assert f"requests {need.cpu_millicores}m CPU / {need.memory_mib} MiB memory" in message
    assert f"allocatable {have.cpu_millicores}m CPU / {have.memory_mib} MiB memory" in message
    assert run.resources == []


def test_oke_defaults_fit_the_always_free_block_storage(tmp_path: Path) -> None:
    """OCI provisions every volume at 50 GB at least: the 10 GiB Prometheus claim costs 50 GB."""
    cfg = load_config("oke", tmp_path)
    plan = sizing_plan(cfg)
    assert plan.node_count == 2
    report = check_storage(
        [*platform_volumes(plan), *boot_disks(cfg)], MIN_VOLUME_GB["oke"], cfg.storage_limit_gb
    )
    assert report.summary() == (
        "Kafka broker 1 x 50 GB, Prometheus 1 x 50 GB (10 GB asked), node boot disk 2 x 50 GB"
        " = 200 GB of 200 GB"
    )


@pytest.mark.parametrize("stack", STACKS)
def test_node_exporter_is_counted_once_per_node(tmp_path: Path, stack: str) -> None:
    cfg = load_config(stack, tmp_path)
    expected = {"oke": 2, "aks": 3, "gke": 3, "local": 1}[stack]
    assert sizing_plan(cfg).node_count == expected


def test_storage_over_the_limit_is_refused_before_any_resource(
    run_stack: Callable[..., ProgramRun],
) -> None:
    """In-cluster PostgreSQL adds a third 50 GB volume: 250 GB of the free 200."""
    settings = {"databaseMode": "incluster", "databaseStorageGi": 50}
    run = run_stack("oke", settings=settings)
    assert isinstance(run.error, CapacityError), run.error
    assert str(run.error) == (
        "the stack's block storage exceeds storageLimitGb: Kafka broker 1 x 50 GB, Prometheus "
        "1 x 50 GB (10 GB asked), PostgreSQL 1 x 50 GB, node boot disk 2 x 50 GB = 250 GB of "
        "200 GB (every disk is at least 50 GB here). Use smaller or fewer volumes "
        "(kafkaStorageGi, kafkaReplicas, databaseStorageGi, nodeDiskGb, nodeCount) or raise "
        "storageLimitGb."
    )
    assert run.resources == []


def test_a_raised_storage_limit_admits_a_paid_tenancys_volumes(tmp_path: Path) -> None:
    cfg = load_config(
        "oke",
        tmp_path,
        {"databaseMode": "incluster", "databaseStorageGi": 50, "storageLimitGb": 250},
    )
    volumes = [*platform_volumes(sizing_plan(cfg)), *boot_disks(cfg)]
    assert check_storage(volumes, MIN_VOLUME_GB["oke"], cfg.storage_limit_gb).total_gb == 250


@pytest.mark.parametrize(("stack", "minimum"), [("aks", 4), ("gke", 10), ("local", 1)])
def test_other_stacks_round_to_their_minimum_and_are_unlimited(
    tmp_path: Path, stack: str, minimum: int
) -> None:
    cfg = load_config(stack, tmp_path)
    assert cfg.storage_limit_gb is None
    assert MIN_VOLUME_GB[stack] == minimum
    report = check_storage([*platform_volumes(sizing_plan(cfg)), *boot_disks(cfg)], minimum, None)
    assert report.fits
