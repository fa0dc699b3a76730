"""Which library reads the store: zarr-python, the zarrs codec pipeline, or tensorstore, behind one adapter.

Each engine opens a store (a local path or an http(s) URL) as an array that numpy-style
selections read, and writes a :class:`~zarr_cryoet.store.stores.Layout`:

* ``zarr-python``: zarr-python with its default codec pipeline (zarr 2.18 and 3.x);
* ``zarr-python-fused``: zarr-python >= 3.3 with its opt-in ``FusedCodecPipeline``;
* ``zarrs``: zarr-python 3 with the Rust codec pipeline of the ``zarrs`` package
  (``zarrs.ZarrsCodecPipeline``, strict: it never falls back to zarr-python's pipeline);
* ``tensorstore``: Google's tensorstore, driver ``zarr`` (format 2) or ``zarr3`` (format 3).

Every engine runs with its concurrency pinned to the same budget (:mod:`.base`), so a
comparison compares implementations, not defaults. :func:`get` looks an engine up;
``engine.unavailable(...)`` says why one cannot run here (asv: a skip with that reason).
"""

from __future__ import annotations

from zarr_cryoet.util.errors import UnknownEngineError

from .base import COMPUTE_THREADS_ENV, Engine, io_concurrency, thread_budget  # noqa: F401
from .tensorstore_engine import TensorStore
from .zarr_python import ZarrPython, ZarrPythonFused, Zarrs

#: the engines, in the order of the benchmarks' ``engine`` parameter and of every table
ENGINES: dict[str, Engine] = {engine.name: engine for engine in (ZarrPython(), ZarrPythonFused(), Zarrs(),
                                                                  TensorStore())}
ENGINE_NAMES: tuple[str, ...] = tuple(ENGINES)
#: the engine versions the benchmark environments get (``python -m zarr_cryoet.engines.install``)
PINNED = {"zarrs": "0.2.3", "tensorstore": "0.1.86"}
#: the conversion tier's writer and scheduler (benchmarks/conversion.py), where zarr >= 3 runs on Python >= 3.12:
#: ome-zarr 0.21 needs both (it brings dask and scikit-image); the zarr 3.1.6 environment (Python 3.11) skips the tier
CONVERSION_PINNED = {"ome-zarr": "0.21.0", "distributed": "2026.8.0"}
CONVERSION_MIN_PYTHON = (3, 12)


def get(name: str) -> Engine:
    """The engine called ``name``; an unknown name lists the valid ones."""
    try:
        return ENGINES[name]
    except (KeyError, TypeError):
        raise UnknownEngineError(f"unknown engine {name!r}; choose one of: {', '.join(ENGINE_NAMES)}") from None


def preload() -> list[str]:
    """Import every installed engine's library now; the names imported.

    The benchmark suite calls this when asv's forkserver imports it, so that every benchmark
    process starts with the same libraries loaded: no process pays an engine's import (0.3 s
    each here), and peak memory starts from the same baseline whichever engine a benchmark uses.
    Neither library starts a thread on import (checked: numpy's thread is the only one).
    """
    import importlib

    loaded = []
    for name, engine in ENGINES.items():
        if engine.module != "zarr" and engine.unavailable() is None:
            importlib.import_module(engine.module)
            loaded.append(name)
    return loaded


def describe() -> dict:
    """Every engine's version (or why it is unavailable) and pinned settings here, for the record."""
    out = {}
    for name, engine in ENGINES.items():
        reason = engine.unavailable()
        out[name] = {"available": reason is None, "reason": reason,
                     "version": engine.version() if reason is None else None,
                     "settings": engine.settings() if reason is None else None,
                     "library_defaults": engine.LIBRARY_DEFAULTS}
    return out
