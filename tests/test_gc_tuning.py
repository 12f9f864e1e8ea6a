"""The garbage-collector settings: applied by a process's own entry point, never by a test's."""

from __future__ import annotations

import gc

from app.core.gc_tuning import THRESHOLDS
from app.main import create_app
from tests.api.conftest import api_settings
from tests.devtools.subprocesses import python_output


def test_settling_freezes_start_up_objects_and_raises_the_thresholds() -> None:
    probe = (
        "import gc, app.main; from app.core.gc_tuning import settle_after_startup; "
        "before = gc.get_freeze_count(); settle_after_startup(); "
        "print(before, gc.get_freeze_count() > 10_000, gc.get_threshold())"
    )
    assert python_output(probe).split(maxsplit=2) == ["0", "True", f"{THRESHOLDS}\n"]


async def test_an_app_built_with_given_settings_leaves_the_collector_alone(
    tmp_path: object,
) -> None:
    thresholds, frozen = gc.get_threshold(), gc.get_freeze_count()
    app = create_app(api_settings(f"sqlite+aiosqlite:///{tmp_path}/gc.db"))
    async with app.router.lifespan_context(app):
        pass
    assert (gc.get_threshold(), gc.get_freeze_count()) == (thresholds, frozen)


# Allocate, touch and free a hash-sized block twice through glibc, then print the resident MiB
# gained: what stays is the block glibc kept in its heap after raising its mapping threshold.
_BLOCK_PROBE = """
import ctypes
from app.core.gc_tuning import fixed_mmap_threshold
def resident():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
if FIXED:
    assert fixed_mmap_threshold()
size = 19 * 1024 * 1024
start = resident()
for _ in range(2):
    block = libc.malloc(size)
    ctypes.memset(block, 1, size)
    libc.free(block)
print(round(resident() - start))
"""


def test_a_freed_hash_sized_block_goes_back_to_the_system() -> None:
    kept_by_default = int(python_output("FIXED = False" + _BLOCK_PROBE))
    kept_when_fixed = int(python_output("FIXED = True" + _BLOCK_PROBE))
    assert kept_by_default >= 19  # glibc's dynamic threshold: the second block stays resident
    assert kept_when_fixed <= 1
