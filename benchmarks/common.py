"""What every benchmark module shares: the reference volume and its pre-built stores.

Each module's ``setup_cache`` calls :func:`build_cache` once per environment.
It loads the volume named by ``$ZARR_CRYOET_SOURCE`` (default: the embedded
phantom; see :mod:`zarr_cryoet.data.sources`), saves it as ``.npy`` and writes one
reference store per layout into asv's cache directory; none of that is timed.
Benchmarks then only *open* those stores (reads) or write fresh ones
(writes), and check every result.

Every benchmark's first parameter, ``data``, names the data (source, crop,
dtype), so results on different data are separate series in asv, never mixed.
"""

from __future__ import annotations

import functools
import json
import shutil
import tempfile
from pathlib import Path

import numpy as np

from zarr_cryoet.store import access

from zarr_cryoet.data import sources

from zarr_cryoet.store import stores
from zarr_cryoet.errors import FormatUnavailableError, InvalidChunksError

SETUP_CACHE_TIMEOUT = 1800  # seconds; 512³ volumes with 16³ chunks take minutes to build
#: asv's limit for one parameter combination of a benchmark (setup, warm-up, every sample and
#: teardown), in seconds. asv's default of 60 s fails at 512³: one write of 16³ chunks (32768
#: files) takes over a minute on zarr 3.1.6, and a checked full read of them about as long.
BENCHMARK_TIMEOUT = 1800
REQUEST = sources.request_from_env()
DATA = [REQUEST.identity()]  # the ``data`` parameter of every benchmark


def build_cache(layouts) -> dict:
    """Load the volume and write a reference store for every layout (cwd = asv's cache dir)."""
    request = sources.request_from_env()
    if request.identity() != DATA[0]:
        raise RuntimeError(f"the data changed between benchmark discovery ({DATA[0]}) and setup "
                           f"({request.identity()}); keep ZARR_CRYOET_* unchanged during a run")
    loaded = sources.load(request)
    volume = loaded.volume
    volume_path = Path("volume.npy").resolve()
    np.save(volume_path, volume)
    particles_path = None
    if loaded.particles is not None:  # the phantom's ground truth, for particle-box reads
        particles_path = str(Path("particles.npy").resolve())
        np.save(particles_path, loaded.particles)
    Path("provenance.json").write_text(json.dumps(loaded.provenance, indent=2, default=str))
    built, skipped = {}, {}
    for layout in layouts:
        try:
            path = stores.write_store(Path("stores", layout.slug).resolve(), volume, layout)
        except (FormatUnavailableError, InvalidChunksError) as err:
            skipped[layout] = str(err)
            continue
        built[layout] = str(path)
    return {"volume_path": str(volume_path), "particles_path": particles_path, "stores": built,
            "skipped": skipped}


@functools.lru_cache(maxsize=1)
def _load_volume(path: str) -> np.ndarray:
    volume = np.load(path)
    volume.setflags(write=False)
    return volume


def reference_volume(cache: dict) -> np.ndarray:
    """The volume the stores were built from (loaded once per benchmark process)."""
    return _load_volume(cache["volume_path"])


def reference_particles(cache: dict) -> np.ndarray | None:
    """Known particle centres (z, y, x) of the volume, or None (real data: boxes go to random places)."""
    path = cache.get("particles_path")
    return np.load(path) if path else None


def pattern_selections(cache: dict, name: str) -> list:
    """The selections of access pattern ``name`` on the reference volume (see zarr_cryoet.store.access)."""
    return access.pattern(name, reference_volume(cache).shape, reference_particles(cache))


def reference_store(cache: dict, layout: stores.Layout) -> str:
    """Path of the pre-built store for ``layout``; skips (asv: NaN) if it could not be built."""
    if layout in cache["skipped"]:
        raise NotImplementedError(cache["skipped"][layout])
    return cache["stores"][layout]


def check_read(actual, expected, what: str) -> None:
    """Fail the benchmark if a read returned anything but the expected voxels."""
    if actual is None:
        raise AssertionError(f"{what}: nothing was read")
    if actual.shape != expected.shape or actual.dtype != expected.dtype \
            or not np.array_equal(actual, expected):
        raise AssertionError(f"{what}: the data read differs from the data written")


class ReadBenchmark:
    """Base for read benchmarks: open the store in ``setup``, check the data in ``teardown``.

    asv re-runs ``setup``/``teardown`` around every timed call, so each timed
    read is checked against the reference volume, outside the timing. (asv
    also calls ``teardown`` after a ``setup`` that skipped, hence the defaults.)
    """

    timeout = BENCHMARK_TIMEOUT
    layout_for = None  # (*params) -> Layout; set by subclasses
    expected = None

    def setup(self, cache, *params):
        self.expected = self.result = None
        self.volume = reference_volume(cache)
        self.array = stores.open_store(reference_store(cache, self.layout_for(*params)))

    def read(self, selection):
        """Read ``selection`` from the store; remember what to compare it with."""
        self.expected = selection
        self.result = self.array[selection]

    def read_each(self, selections):
        """Read every selection in turn (as separate requests); the last call's reads are checked."""
        self.expected = list(selections)
        self.result = [self.array[s] for s in self.expected]

    def teardown(self, cache, *params):
        if isinstance(self.expected, list):
            for selection, result in zip(self.expected, self.result, strict=True):
                check_read(result, self.volume[selection], f"read {selection}")
        elif self.expected is not None:
            check_read(self.result, self.volume[self.expected], f"read {self.expected}")


class WriteBenchmark:
    """Base for write benchmarks: a fresh target path per timed call, checked and removed after."""

    timeout = BENCHMARK_TIMEOUT

    layout_for = None
    workdir = None
    written = False

    def setup(self, cache, *params):
        self.workdir, self.written = None, False
        self.layout = self.layout_for(*params)
        reference_store(cache, self.layout)  # skip what could not be built
        self.volume = reference_volume(cache)
        self.workdir = tempfile.mkdtemp(prefix="zarr-cryoet-write-")
        self.target = Path(self.workdir, "store.zarr")

    def write(self):
        stores.write_store(self.target, self.volume, self.layout)
        self.written = True

    def teardown(self, cache, *params):
        try:
            if self.written:
                check_read(stores.read_store(self.target), self.volume, f"write {self.layout.slug}")
        finally:
            if self.workdir:
                shutil.rmtree(self.workdir, ignore_errors=True)


class StorageBenchmark:
    """Base for ``track_`` benchmarks of a reference store, measured from its files."""

    timeout = BENCHMARK_TIMEOUT

    layout_for = None

    def setup(self, cache, *params):
        self.volume_bytes = reference_volume(cache).nbytes
        self.stats = stores.inspect_store(reference_store(cache, self.layout_for(*params)))


def middle_planes(shape):
    """Selections of the middle XY, XZ and YZ planes of a (z, y, x) volume."""
    nz, ny, nx = shape
    return {"xy": (nz // 2, slice(None), slice(None)),
            "xz": (slice(None), ny // 2, slice(None)),
            "yz": (slice(None), slice(None), nx // 2)}
