"""What every engine offers, and the concurrency budget they share.

**Equal budgets.** Each engine decodes chunks on a pool of threads and keeps several
chunk reads in flight. The benchmarks give every engine the same budget, where the engine
lets one set it:

* compute threads: :func:`thread_budget`, the cores this process may run on (one under
  asv's ``--cpu-affinity``; every core in the realistic-size tier). zarr-python 3's
  ``threading.max_workers``, the zarrs pipeline's ``threading.max_workers`` (its Rust
  thread pool) and tensorstore's ``data_copy_concurrency``;
* I/O in flight: :func:`io_concurrency` (10, zarr-python 3's default ``async.concurrency``):
  zarr-python's ``async.concurrency``, tensorstore's ``file_io_concurrency`` and
  ``http_request_concurrency``; the zarrs pipeline reads local files on its thread pool.

zarr-python 2 reads and decodes one chunk after another: it has no such setting.
What each library would use by default is kept in ``LIBRARY_DEFAULTS`` for the record.
"""

from __future__ import annotations

import contextlib
import os
from importlib import metadata
from pathlib import Path

import numpy as np

#: overrides the compute-thread budget (default: the cores this process may run on)
COMPUTE_THREADS_ENV = "ZARR_CRYOET_ENGINE_THREADS"
#: chunk reads in flight: zarr-python 3's own default ``async.concurrency``
IO_CONCURRENCY = 10


def thread_budget() -> int:
    """Compute threads each engine gets: ``$ZARR_CRYOET_ENGINE_THREADS``, else the cores this process may use."""
    override = os.environ.get(COMPUTE_THREADS_ENV, "").strip()
    if override:
        return max(1, int(override))
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def io_concurrency() -> int:
    """Chunk reads (file or HTTP requests) each engine may keep in flight."""
    return IO_CONCURRENCY


def distribution_version(name: str) -> str | None:
    """The installed version of distribution ``name``, or None."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


class Engine:
    """A library that reads and writes Zarr stores. Subclasses fill in the four operations."""

    name: str = ""
    #: the distribution whose version identifies the engine, and the module it is imported as
    distribution: str = ""
    module: str = ""
    #: what the library would use if nothing were pinned (documentation, shown in the report)
    LIBRARY_DEFAULTS: dict = {}

    def unavailable(self, zarr_format: int | None = None, remote: bool = False) -> str | None:
        """Why this engine cannot read or write ``zarr_format`` (over HTTP with ``remote``) here; None if it can."""
        if distribution_version(self.distribution) is None:
            return f"{self.distribution} is not installed in this environment"
        return None

    def version(self) -> str:
        return distribution_version(self.distribution) or "not installed"

    def settings(self) -> dict:
        """The concurrency this engine runs with here (pinned by :meth:`session`)."""
        return {}

    def session(self) -> contextlib.AbstractContextManager:
        """Apply the pinned settings while the block runs (open, read and write inside it)."""
        return contextlib.nullcontext()

    def open(self, location: str | Path):
        """The array at ``location`` (a local store or an http(s) URL), read with ``array[selection]``."""
        raise NotImplementedError

    def write(self, path: str | Path, volume: np.ndarray, layout) -> Path:
        """Write ``volume`` to a new store at ``path`` with ``layout``; nothing is left if it fails."""
        raise NotImplementedError
