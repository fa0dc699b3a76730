"""The allocator's state, pinned: the same timing whatever the process allocated before.

glibc's malloc serves large blocks (>= 128 KiB at first) with fresh ``mmap``s and raises that
threshold dynamically once such a block is freed. A process that has only loaded a volume
therefore decodes every 1 MiB chunk into newly mapped pages (a page fault per 4 KiB), while
one that wrote a store first reuses warm heap memory: the middle XY plane of the 128³ phantom
in 64³ chunks reads in 4.7 ms in the first process and 1.65 ms in the second (zarr 2.18.7).
Which state a benchmark process is in depends on its history, so such numbers are not
comparable between zarr versions or runs.

:func:`pin` fixes the state for the whole process, as ``MALLOC_MMAP_THRESHOLD_`` does: blocks
below :data:`MMAP_THRESHOLD` come from the heap and the dynamic adjustment is off; freed heap
memory is kept up to :data:`TRIM_THRESHOLD` rather than returned to the kernel, and every
thread allocates from one arena (:data:`ARENA_MAX`). The benchmark
suite pins its processes when it is imported (``benchmarks/__init__.py``); ``zarr-cryoet
crosscheck`` measures both states in fresh processes outside asv.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import resource
import sys

#: glibc's mallopt parameters
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, M_ARENA_MAX = -1, -3, -8
#: the largest block served from the heap: 32 MiB (a 256³ float32 chunk); larger ones are mmapped
MMAP_THRESHOLD = 32 * 1024 * 1024
#: free heap memory kept mapped instead of trimmed (256 MiB)
TRIM_THRESHOLD = 256 * 1024 * 1024
#: one arena for every thread: zarr 3 decodes in worker threads, whose private arenas would
#: otherwise start cold (and trim themselves) whatever the main arena's state
ARENA_MAX = 1
#: the environment that gives a fresh process the pinned state (what :func:`pin` sets at run time)
PINNED_ENVIRONMENT = {"MALLOC_MMAP_THRESHOLD_": str(MMAP_THRESHOLD), "MALLOC_TRIM_THRESHOLD_": str(TRIM_THRESHOLD),
                      "MALLOC_ARENA_MAX": str(ARENA_MAX)}

_pinned = False


def _mallopt():
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return None


def pin() -> bool:
    """Fix malloc's mmap and trim thresholds for this process; False where that is impossible (not glibc)."""
    global _pinned
    mallopt = _mallopt()
    if mallopt is None:
        return False
    _pinned = all([mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD), mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD),
                   mallopt(M_ARENA_MAX, ARENA_MAX)])
    return _pinned


def is_pinned() -> bool:
    """Whether :func:`pin` succeeded in this process."""
    return _pinned


def state() -> str:
    """``"pinned"`` or ``"glibc default"`` (history-dependent), for labelling results."""
    return "pinned" if _pinned else "glibc default"


def minor_faults() -> int:
    """Minor page faults of this process so far, all threads together (``getrusage``)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
