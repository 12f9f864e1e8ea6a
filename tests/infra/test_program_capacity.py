"""The capacity check: the default oke stack fits its free-tier pool; too much is refused."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from infra.capacity import Requests, platform_requests, workloads_requests
from infra.cloud.base import Allocatable
from stacks.capacity import CapacityError, check_capacity
from stacks.cluster import planned_allocatable
from stacks.config import StackConfig
from stacks.program import platform_plan, workloads_plan
from tests.infra.mocks import STACKS, ProgramRun, load_config


def requested(cfg: StackConfig) -> Requests:
    return platform_requests(platform_plan(cfg)) + workloads_requests(workloads_plan(cfg))


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
