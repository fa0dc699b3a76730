"""The factory of the layout questions: one grid in, asv's ``Write``, ``Read`` and ``Storage`` classes out.

Every layout question (``compression``, ``chunking``, ``access``, ``codec_sweep``, ``realistic``)
asks the same three things of a grid of layouts — how long a write takes, how long given reads
take, what the store costs on disk — so one :class:`LayoutSuite` makes their classes::

    suite = LayoutSuite({"codec": CODECS, "zarr_format": [2, 3]}, chunks="64x64x64")
    Write = suite.write_class()
    Read = suite.read_class(time_read=FULL_VOLUME)
    Storage = suite.storage_class("compression_ratio", "stored_bytes")

How every timed call is kept honest (the same for all of them):

* **Set-up is never timed.** The reference stores come from the setup cache; a read's
  store is opened in ``setup``; a write gets a fresh target in ``setup``.
* **Every call is checked.** asv re-runs ``setup``/``teardown`` around each timed call, and
  ``teardown`` compares what was read (or reads back what was written) with the reference
  volume, voxel for voxel; a mismatch fails the benchmark. For a lossy codec the reference is
  the volume as numcodecs alone encodes and decodes it (:func:`common.expected_volume`). Temporary stores are removed in
  ``teardown``, also on failure.
* **A layout zarr cannot write is a skip**, never a failure: format 3 on zarr 2, shards on
  format 2 (``Layout`` says so once), chunks larger than the volume (asv: NaN).
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from pathlib import Path

from zarr_cryoet.store import stores
from zarr_cryoet.store.codecs import get_codec
from zarr_cryoet.store.remote import served_array

from . import common

#: a read's selections: ``(volume shape, setup cache, parameters by name) -> selection or list of them``
def FULL_VOLUME(shape, cache, params):  # noqa: N802 - a constant of the suite
    return ...


def middle_plane(axis: str):
    """The middle XY, XZ or YZ plane."""
    return lambda shape, cache, params: common.middle_planes(shape)[axis]


def plain_v2_sharded_v3(layout) -> bool:
    """Plain chunks on format 2 (the portal's), shards on format 3: a grid's cheaper half."""
    return (layout.shards is None) == (layout.zarr_format == 2)


def access_pattern(name: str | None = None):
    """Every selection of access pattern ``name`` (default: the ``pattern`` parameter), read in turn."""
    return lambda shape, cache, params: common.pattern_selections(cache, name or params["pattern"])


class _Benchmark:
    """What every generated class shares: the suite's grid, timeout, version and setup cache."""

    suite: LayoutSuite = None
    timeout = common.BENCHMARK_TIMEOUT
    version = common.VERSION
    setup_cache = staticmethod(common.setup_cache)

    def _params(self, params) -> dict:
        return dict(zip(self.param_names, params))


class InSession:
    """A mixin: :meth:`enter_session` enters a context manager (a library's pinned settings) in ``setup``; it is left
    after the base class's ``teardown`` (the checks, removing temporary stores), also when that fails."""

    _session = None

    def enter_session(self, manager) -> None:
        self._session = contextlib.ExitStack()
        self._session.enter_context(manager)

    def leave_session(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    def teardown(self, cache, *params):
        try:
            base = getattr(super(), "teardown", None)
            if base is not None:
                base(cache, *params)
        finally:
            self.leave_session()


class ReadBenchmark(_Benchmark):
    """Open the reference store in ``setup``; time the reads; check them in ``teardown``."""

    version = common.TIME_VERSION
    readers: dict = {}  # timed method name -> selections function
    expected = None

    def setup(self, cache, *params):
        self.expected = self.result = None
        named = self._params(params)
        layout = self.suite.layout(named)
        self.volume = common.expected_volume(cache, layout)  # what a read must return (lossy: decoded)
        self.array = self.open(cache, layout, named)
        self.selections = {name: how(self.volume.shape, cache, named) for name, how in self.readers.items()}

    def open(self, cache, layout, params):
        """The array to read from (a subclass may serve it over HTTP instead)."""
        return _open_cached(common.reference_store(cache, layout))

    def read(self, method: str):
        """The reads of timed method ``method``; remembered for the check."""
        selection = self.selections[method]
        self.expected = selection
        if isinstance(selection, list):  # every selection in turn, as separate requests
            self.result = [self.array[s] for s in selection]
        else:
            self.result = self.array[selection]

    def teardown(self, cache, *params):
        if isinstance(self.expected, list):
            for selection, result in zip(self.expected, self.result, strict=True):
                common.check_read(result, self.volume[selection], f"read {selection}")
        elif self.expected is not None:
            common.check_read(self.result, self.volume[self.expected], f"read {self.expected}")


class WriteBenchmark(_Benchmark):
    """A fresh target per timed call, read back and checked in ``teardown``, then removed."""

    version = common.TIME_VERSION
    workdir = None
    written = False

    def setup(self, cache, *params):
        self.workdir, self.written = None, False
        self.layout = self.suite.layout(self._params(params))
        common.reference_store(cache, self.layout)  # skip what could not be built
        self.volume = common.reference_volume(cache)
        self.decoded = common.expected_volume(cache, self.layout)  # what the store must read back as
        self.workdir = tempfile.mkdtemp(prefix="zarr-cryoet-write-")
        self.target = Path(self.workdir, "store.zarr")

    def write(self):
        stores.write_store(self.target, self.volume, self.layout)
        self.written = True

    def read_back(self):
        """The written store, read whole (by zarr-python; an engine's write reads back with that engine)."""
        return stores.read_store(self.target)

    def teardown(self, cache, *params):
        try:
            if self.written:
                common.check_read(self.read_back(), self.decoded, f"write {self.layout.slug}")
        finally:
            if self.workdir:
                shutil.rmtree(self.workdir, ignore_errors=True)


class ServedRead(ReadBenchmark):
    """Reads of the store served on 127.0.0.1, every answer delayed by the ``latency_ms`` parameter.

    The server and the opened array (metadata requests) are set up outside the timing; the
    timed reads pay one delay per request, less what the reader overlaps by fetching chunks
    concurrently. :meth:`opener` says who opens the URL (default: zarr-python).
    """

    served = None

    def opener(self, params):
        return None

    def open(self, cache, layout, params):
        self.served = contextlib.ExitStack()
        array, _ = self.served.enter_context(served_array(common.reference_store(cache, layout),
                                                          latency=params["latency_ms"] / 1000,
                                                          opener=self.opener(params)))
        return array

    def teardown(self, cache, *params):
        try:
            super().teardown(cache, *params)
        finally:
            if self.served is not None:
                self.served.close()
                self.served = None


class StorageBenchmark(_Benchmark):
    """Sizes of a reference store measured from its files (deterministic: computed once)."""

    def setup(self, cache, *params):
        self.volume_bytes = common.reference_volume(cache).nbytes
        self.stats = stores.inspect_store(common.reference_store(cache, self.suite.layout(self._params(params))))


class FidelityBenchmark(_Benchmark):
    """Fidelity figures of a reference store's decoded volume (deterministic: computed once per setup cache).

    ``needs`` skips (in ``setup``, where asv takes a NotImplementedError as a skip) the combinations
    where the class's figures do not exist: ``"truth"`` (only the phantom has a noise-free truth),
    ``"loss"`` (a lossless codec's PSNR is infinite)."""

    needs: tuple = ()

    def setup(self, cache, *params):
        layout = self.suite.layout(self._params(params))
        if "loss" in self.needs and not get_codec(layout.codec).lossy:
            raise NotImplementedError(f"{layout.codec} is lossless: its PSNR is infinite")
        if "truth" in self.needs and common.reference_truth(cache) is None:
            raise NotImplementedError("no noise-free truth: only the phantom has one")
        self.figures = common.measured_fidelity(cache, layout)


#: the fidelity figures by class: (figures it needs, {track_ method suffix: (unit, key in the figures)})
FIDELITY_CLASSES = {
    "Fidelity": ((), {"rmse_over_sigma": ("sigma", "rmse_over_sigma"),
                      "max_abs_error_over_sigma": ("sigma", "max_abs_error_over_sigma"),
                      "fsc_05_nyquist": ("fraction of Nyquist", "fsc_05"),
                      "fsc_0143_nyquist": ("fraction of Nyquist", "fsc_0143"),
                      "particle_ncc_min": ("NCC", "particle_ncc_min")}),
    "AgainstTruth": (("truth",), {"fsc_0143_nyquist": ("fraction of Nyquist", "truth_fsc_0143"),
                                  "max_fsc_drop": ("FSC", "truth_fsc_max_drop")}),
    "PSNR": (("loss",), {"psnr": ("dB", "psnr_db")}),
}


_STORAGE_METRICS = {
    "compression_ratio": ("ratio", lambda self: self.stats.compression_ratio(self.volume_bytes)),
    "stored_bytes": ("bytes", lambda self: self.stats.stored_bytes),
    "file_count": ("files", lambda self: self.stats.file_count),
}

_open_arrays: dict = {}


def _open_cached(path: str):
    """Open a reference store once per process: re-opening it before every sample is set-up, not timed,
    but costs milliseconds on zarr 3; reads of an opened array keep no chunk cache, so reuse is safe."""
    if path not in _open_arrays:
        _open_arrays[path] = stores.open_store(path)
    return _open_arrays[path]


class LayoutSuite:
    """One question's grid: ``params`` (name -> values, in asv's order after ``data``) and fixed settings.

    The layout of a combination is ``Layout.from_spec(codec, chunks, zarr_format)``, each taken
    from the parameters or from the fixed settings (``codec="blosc-zstd"``, ``chunks="64x64x64"``,
    ``zarr_format=2``).
    """

    def __init__(self, params: dict, *, data=None, measured=None, **fixed):
        self.grid = {"data": list(data or common.DATA), **{k: list(v) for k, v in params.items()}}
        self.fixed = {"codec": "blosc-zstd", "chunks": "64x64x64", "zarr_format": 2, **fixed}
        self.params = tuple(self.grid.values())
        self.param_names = list(self.grid)
        self.measured = measured  # (Layout) -> bool: the combinations of the grid this suite measures

    def layout(self, named: dict) -> stores.Layout:
        """The layout of one combination; a NotImplementedError (an asv skip) for shards on format 2 and
        for layouts the suite does not measure."""
        settings = {**self.fixed, **{k: v for k, v in named.items() if k in self.fixed}}
        layout = stores.Layout.from_spec(settings["codec"], settings["chunks"], int(settings["zarr_format"]))
        if self.measured is not None and not self.measured(layout):
            raise NotImplementedError(f"{layout.spec} on format {layout.zarr_format} is not in this grid")
        return layout

    @property
    def layouts(self) -> list[stores.Layout]:
        """Every layout of the grid that zarr format rules allow (what the setup cache builds)."""
        out = []
        for combo in _product(self.grid):
            try:
                out.append(self.layout(combo))
            except NotImplementedError:
                continue
        return list(dict.fromkeys(out))

    def _class(self, name: str, base: type, methods: dict, sampling: dict | None, **extra) -> type:
        namespace = {"suite": self, "params": self.params, "param_names": self.param_names,
                     "__qualname__": name, **(sampling or {}), **extra, **methods}
        return type(name, (base,), namespace)

    def write_class(self, sampling=common.WRITE, name: str = "Write", base: type = WriteBenchmark) -> type:
        def time_write(self, cache, *params):
            self.write()
        return self._class(name, base, {"time_write": time_write}, sampling)

    def read_class(self, sampling=common.QUICK_READ, name: str = "Read", base: type = ReadBenchmark,
                   params: dict | None = None, **readers) -> type:
        """A read class with one ``time_*`` method per selections function in ``readers``.

        ``params`` adds parameters after the suite's own (e.g. a latency) for this class only.
        """
        methods = {method: _timed(method) for method in readers}
        extra = {"readers": dict(readers)}
        if params:
            grid = {**self.grid, **{k: list(v) for k, v in params.items()}}
            extra.update(params=tuple(grid.values()), param_names=list(grid))
        return self._class(name, base, methods, sampling, **extra)

    def fidelity_class(self, name: str) -> type:
        """A class of ``track_`` methods, one per fidelity figure of :data:`FIDELITY_CLASSES` ``[name]``."""
        needs, metrics = FIDELITY_CLASSES[name]
        methods = {f"track_{metric}": _tracked(f"track_{metric}", _figure(key), unit)
                   for metric, (unit, key) in metrics.items()}
        return self._class(name, FidelityBenchmark, methods, None, needs=needs)

    def storage_class(self, *metrics: str, name: str = "Storage") -> type:
        methods = {}
        for metric in metrics:
            unit, value = _STORAGE_METRICS[metric]
            methods[f"track_{metric}"] = _tracked(f"track_{metric}", value, unit)
        return self._class(name, StorageBenchmark, methods, None)


def on_every_core(cls: type) -> type:
    """``cls`` with its ``setup`` run on every core asv's process may use (a reader's realistic thread count)
    instead of the one core ``--cpu-affinity`` pins the suite to."""
    base_setup = cls.setup

    def setup(self, cache, *params):
        common.use_every_core()
        base_setup(self, cache, *params)

    cls.setup = setup
    return cls


class FormatFollowsChunks(LayoutSuite):
    """Plain chunks on format 2 (the portal's), shards on format 3: the format follows from the chunks, so the
    grid has no ``zarr_format`` parameter (asv starts a process per combination, skipped ones too)."""

    def layout(self, named: dict) -> stores.Layout:
        chunks = named.get("chunks", self.fixed["chunks"])
        return stores.Layout.from_spec(self.fixed["codec"], chunks)


def _figure(key: str):
    return lambda self: self.figures[key]


def _timed(name: str):
    def method(self, cache, *params):
        self.read(name)
    method.__name__ = method.__qualname__ = name
    return method


def _tracked(name: str, value, unit: str):
    def method(self, cache, *params):
        return value(self)
    method.__name__ = method.__qualname__ = name
    method.unit = unit
    return method


def _product(grid: dict) -> list[dict]:
    import itertools

    return [dict(zip(grid, combo)) for combo in itertools.product(*grid.values())]

