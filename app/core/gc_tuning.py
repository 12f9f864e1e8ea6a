"""Garbage-collector and allocator settings for the long-running processes (API and workers).

Measured under load (bench/api.py with a GC probe): with CPython's defaults the API ran a
full (generation 2) collection about once a second, each scanning every object the process
built at start-up -- modules, SQLAlchemy and pydantic metadata -- for 60-90 ms, 1.9 s of CPU in
25 s and the largest pauses in the latency tail. Freezing what exists once start-up is done
moves it out of the collector's sight (it lives as long as the process anyway), and larger
thresholds make young collections rarer, since request garbage is mostly freed by reference
counting; together: full collections 1.9 s → 0.06 s and CPU per created task 1.48 → 1.26 ms.

glibc's malloc serves a large block from its own mapping and unmaps it on free, but after the
first such free it raises that size limit to the block's size, so later blocks of that size come
from the heap and stay resident. Each password hash takes 19 MiB (argon2id, OWASP's minimum), so
the API kept about 19 MiB it did not use after its first logins (bench: 160 MiB resident after
one sign-up and login, 140 MiB with the limit fixed). :func:`fixed_mmap_threshold` keeps it at
glibc's default instead.
"""

from __future__ import annotations

import ctypes
import gc

# Young-generation allocations between collections, then how many collections of each
# generation before the next older one is collected (CPython's defaults: 700, 10, 10).
THRESHOLDS = (20_000, 20, 100)


# glibc's default: a block this large or larger gets its own mapping (malloc.h: M_MMAP_THRESHOLD).
MMAP_THRESHOLD_BYTES = 128 * 1024
_M_MMAP_THRESHOLD = -3


def fixed_mmap_threshold() -> bool:
    """Fix glibc's mapping threshold (no dynamic raise); False where malloc is not glibc's."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False  # musl, macOS: no mallopt, and no such behaviour to correct
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))


def settle_after_startup() -> None:
    """Call once the process has built everything it keeps (just before serving)."""
    fixed_mmap_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
