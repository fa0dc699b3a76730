"""Which library should read it? zarr-python, the zarrs codec pipeline and tensorstore on the same stores.

Every benchmark here has an ``engine`` parameter (:mod:`zarr_cryoet.engines`): the same
reference stores, the same selections and the same checks as the rest of the suite, read
and written through each engine with its concurrency pinned to an equal budget
(``zarr_cryoet/engines/base.py``). Each engine is its own series on the dashboard.

* ``Write`` / ``Read``: a write; full read, the middle XY/XZ/YZ planes and the 32³ particle
  boxes, as in :mod:`chunking`;
* ``Memory``: peak memory (asv ``peakmem_``) of the process after set-up alone
  (``peakmem_open``), after a full read and after a write: what a read of many small
  chunks costs in memory;
* ``Requests`` / ``RemoteRead``: GET requests and bytes over HTTP on 127.0.0.1 for the
  ``xy`` and ``box32`` patterns, and the same reads with 20 ms added to every answer
  (tensorstore through its ``http`` kvstore, zarr-python through fsspec);
* ``Interop``: the voxels that differ when each engine reads what each engine wrote
  (0: bit-exact).

zarrs and tensorstore are installed in the zarr >= 3.1 environments only
(``zarr_cryoet/engines/install.py``); elsewhere their cases are skipped with the reason
(asv: NaN). The zarrs pipeline is skipped over HTTP: it deadlocks there (``Zarrs.unavailable``).

Default grid: 16³, 64³ and 128³ chunks on format 2 and 32³ chunks in 128³ shards (format 3);
over HTTP 64³ chunks and the shards. ``ZARR_CRYOET_FULL=1`` adds 32³ and (16, 128, 128) chunks
and more shards, every layout on both formats.
"""

import os
import shutil
import tempfile
from pathlib import Path

from zarr_cryoet import engines
from zarr_cryoet.data import provenance, sources
from zarr_cryoet.engines import interop
from zarr_cryoet.store import compat

from . import common
from .suite import (FULL_VOLUME, InSession, LayoutSuite, _Benchmark, ReadBenchmark, ServedRead, StorageBenchmark, WriteBenchmark,
                    access_pattern, middle_plane, plain_v2_sharded_v3)

ENGINES = list(engines.ENGINE_NAMES)
#: every installed engine's library, imported once in asv's forkserver (zarr_cryoet.engines.preload)
PRELOADED = engines.preload()
DEFAULT_CHUNKINGS = ["16x16x16", "64x64x64", "128x128x128", "32x32x32/128x128x128"]
CHUNKINGS = common.grid(default=DEFAULT_CHUNKINGS,
                        full=["16x16x16", "32x32x32", "64x64x64", "128x128x128", "16x128x128",
                              "32x32x32/128x128x128", "64x64x64/128x128x128", "16x128x128/128x128x128"])


#: the default grid: plain chunks on format 2 (the portal's), shards on format 3; the full grid: both formats
MEASURED = None if common.FULL else plain_v2_sharded_v3
suite = LayoutSuite({"chunks": CHUNKINGS, "zarr_format": [2, 3], "engine": ENGINES}, codec="blosc-zstd",
                    measured=MEASURED)
LAYOUTS = suite.layouts  # built by the shared setup cache (common.LAYOUT_MODULES)

REMOTE_PATTERNS = ["xy", "box32"]
REMOTE_CHUNKINGS = common.grid(default=["64x64x64", "32x32x32/128x128x128"], full=CHUNKINGS)
LATENCIES_MS = [20]
remote_suite = LayoutSuite({"chunks": REMOTE_CHUNKINGS, "zarr_format": [2, 3], "pattern": REMOTE_PATTERNS,
                            "engine": ENGINES}, codec="blosc-zstd", measured=MEASURED)
#: the reads over slow HTTP: in the default grid tensorstore only. zarr-python's are the same reads as
#: access.RemoteRead's (same layouts, patterns and latency), which the report uses for its column;
#: zarrs cannot read over HTTP. The full grid times every engine here.
REMOTE_ENGINES = common.grid(default=["tensorstore"], full=ENGINES)
latency_suite = LayoutSuite({"chunks": REMOTE_CHUNKINGS, "zarr_format": [2, 3], "pattern": REMOTE_PATTERNS,
                             "engine": REMOTE_ENGINES}, codec="blosc-zstd", measured=MEASURED)


class _Engine(InSession):
    """Enters the ``engine`` parameter's session in ``setup`` (a skip where it cannot run) and leaves it
    in ``teardown``; opened arrays are kept per process, as in the rest of the suite."""

    remote = False
    _opened: dict = {}

    def enter_engine(self, named: dict, layout):
        self.engine = engines.get(named["engine"])
        reason = self.engine.unavailable(layout.zarr_format, remote=self.remote)
        if reason:
            raise NotImplementedError(reason)
        self.enter_session(self.engine.session())
        return self.engine

    def open_engine_array(self, path):
        key = (self.engine.name, path)
        if key not in _Engine._opened:
            _Engine._opened[key] = self.engine.open(path)
        return _Engine._opened[key]



class _EngineRead(_Engine, ReadBenchmark):
    def open(self, cache, layout, params):
        self.enter_engine(params, layout)
        return self.open_engine_array(common.reference_store(cache, layout))


class _EngineWrite(_Engine, WriteBenchmark):
    def setup(self, cache, *params):
        named = self._params(params)
        self.enter_engine(named, self.suite.layout(named))
        super().setup(cache, *params)

    def write(self):
        self.engine.write(self.target, self.volume, self.layout)
        self.written = True

    def read_back(self):
        return self.engine.open(self.target)[...]


class _EngineServedRead(_Engine, ServedRead):
    remote = True

    def opener(self, params):
        return self.engine.open

    def open(self, cache, layout, params):
        self.enter_engine(params, layout)
        return super().open(cache, layout, params)


#: writes of 16³ chunks take ~0.5 s on zarr 3: sampled as the suite's slow operations
Write = suite.write_class(common.SLOW, base=_EngineWrite)
Read = suite.read_class(base=_EngineRead, time_read_full=FULL_VOLUME, time_read_slice_xy=middle_plane("xy"),
                        time_read_slice_xz=middle_plane("xz"), time_read_slice_yz=middle_plane("yz"),
                        time_read_particle_boxes=access_pattern("box32"))
RemoteRead = latency_suite.read_class(common.SLOW, name="RemoteRead", base=_EngineServedRead,
                                     params={"latency_ms": LATENCIES_MS}, time_read=access_pattern())


class Requests(_Engine, StorageBenchmark):
    """GET requests and bytes of each engine's reads over HTTP on 127.0.0.1 (deterministic: counted once)."""

    suite = remote_suite
    params, param_names = remote_suite.params, remote_suite.param_names
    remote = True

    def setup(self, cache, data, chunks, zarr_format, pattern, engine):
        named = {"chunks": chunks, "zarr_format": zarr_format, "engine": engine}
        layout = remote_suite.layout(named)
        try:
            self.enter_engine(named, layout)
            self.count = common.counted_requests(cache, layout, pattern, engine=self.engine)
        finally:
            self.leave_session()

    def track_get_requests(self, cache, data, chunks, zarr_format, pattern, engine):
        return self.count["data_gets"]

    track_get_requests.unit = "requests"

    def track_bytes_fetched(self, cache, data, chunks, zarr_format, pattern, engine):
        return self.count["data_bytes"]

    track_bytes_fetched.unit = "bytes"


class Memory(_Engine, _Benchmark):
    """Peak resident memory of the benchmark process (asv ``peakmem_``): after set-up alone, after a
    full read, after a write. Every process starts with every engine's library loaded
    (:data:`PRELOADED`), and set-up loads the volume and opens the store in every case, so the
    differences to ``peakmem_open`` are what the read or the write costs. The read and the write
    are checked in ``teardown``, after the measurement."""

    suite = suite
    params, param_names = suite.params, suite.param_names

    def setup(self, cache, *params):
        self.workdir, self.result, self.written = None, None, False
        named = self._params(params)
        self.layout = suite.layout(named)
        self.enter_engine(named, self.layout)
        self.volume = common.reference_volume(cache)
        self.array = self.engine.open(common.reference_store(cache, self.layout))
        self.workdir = tempfile.mkdtemp(prefix="zarr-cryoet-peakmem-")
        self.target = Path(self.workdir, "store.zarr")

    def peakmem_open(self, cache, *params):
        pass

    def peakmem_read_full(self, cache, *params):
        self.result = self.array[...]

    def peakmem_write(self, cache, *params):
        self.engine.write(self.target, self.volume, self.layout)
        self.written = True

    def teardown(self, cache, *params):
        try:
            if self.result is not None:
                common.check_read(self.result, self.volume, f"{self.engine.name} full read")
            if self.written:
                common.check_read(self.engine.open(self.target)[...], self.volume, f"{self.engine.name} write")
        finally:
            if self.workdir:
                shutil.rmtree(self.workdir, ignore_errors=True)
            self.leave_session()


@common.built_once
def interop_cache():
    """Every engine writes every layout, every engine reads every store back (once per environment).

    Also records what the engines are here (versions, pinned concurrency, library defaults) and the
    table with each failure's message, next to asv's results (the report's ``engines/`` tables).
    """
    request = sources.SourceRequest.from_env()
    loaded = sources.load(request)
    workdir = Path.cwd() / "interop"
    try:
        found = interop.check(loaded.volume, LAYOUTS, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    table = [row.as_dict() for row in found]
    provenance.record({"identity": engines_record_identity(request.identity()), "data": request.identity(),
                       "zarr": compat.ZARR_VERSION, "thread_budget": engines.thread_budget(),
                       "cpu_affinity": sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
                       "engines": engines.describe(), "interop": table})
    return {(row["chunks"], row["zarr_format"], row["writer"], row["reader"]): row for row in table}



def engines_record_identity(data: str) -> str:
    """The name of this environment's engine record next to the results (one per zarr version and data)."""
    return f"engines zarr {compat.ZARR_VERSION} {data}"


class Interop(StorageBenchmark):
    """Voxels that differ when ``reader`` reads the store ``writer`` wrote (0: bit-exact; deterministic).

    A store one engine cannot write or another cannot read fails the benchmark with the
    engine's message: an incompatibility shows on the dashboard and in the nightly job.
    """

    suite = suite
    _grid = {**{k: v for k, v in suite.grid.items() if k != "engine"}, "writer": ENGINES, "reader": ENGINES}
    params, param_names = tuple(_grid.values()), list(_grid)
    setup_cache = staticmethod(interop_cache)

    def setup(self, cache, data, chunks, zarr_format, writer, reader):
        layout = suite.layout({"chunks": chunks, "zarr_format": zarr_format})
        row = cache.get((layout.spec, layout.zarr_format, writer, reader))
        if row is None:
            raise NotImplementedError(f"{layout.spec} on format {zarr_format} is not in this grid")
        if row["status"] == "skipped":
            raise NotImplementedError(row["detail"])
        if row["status"] in ("unwritable", "unreadable"):
            raise AssertionError(f"{writer} -> {reader}, {layout.spec} format {zarr_format}: {row['status']}: "
                                 f"{row['detail']}")
        self.row = row

    def track_mismatched_voxels(self, cache, data, chunks, zarr_format, writer, reader):
        return self.row["mismatched_voxels"]

    track_mismatched_voxels.unit = "voxels"
