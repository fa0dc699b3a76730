"""What every benchmark module shares: the data, its reference stores, the grids and the sampling.

* **Data.** Every benchmark's first parameter, ``data``, names the volume (source, crop,
  dtype; :mod:`zarr_cryoet.data.sources`), so results on different data never mix.
* **Reference stores, built once per environment.** :func:`setup_cache` is the
  ``setup_cache`` of every layout question (``compression``, ``chunking``, ``access``,
  ``engines``, ``limits``): asv keys a setup cache by the function's module and line, so it runs once
  per environment and builds every store those modules read, plus the raw file of the
  limits, none of it timed. Benchmarks only *open* stores (reads) or write fresh ones.
* **Grids.** :func:`grid` is scikit-image's ``_resolve_param``: each module lists its
  default grid next to its full one, and ``ZARR_CRYOET_FULL=1`` (``tasks.py benchmark
  --full``) selects the full grid.
* **Sampling per kind of benchmark** (:data:`QUICK_READ`, :data:`WRITE`, :data:`SLOW`,
  :data:`LONG`): asv's ``rounds``/``repeat``/``warmup_time`` sized for what is timed.
  ``track_`` results are deterministic and computed once.
* **Factory.** :class:`~benchmarks.suite.LayoutSuite` makes each question's
  ``Write``/``Read``/``Storage`` classes from its grid.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import importlib
import json
import os
import pickle
import shutil
from pathlib import Path

import numpy as np

from zarr_cryoet.data import provenance, sources
from zarr_cryoet.util.errors import FormatUnavailableError, InvalidChunksError
from zarr_cryoet.util.files import write_atomically
from zarr_cryoet.stats import schedule
from zarr_cryoet.store import access, remote, stores
from zarr_cryoet.store.codecs import get_codec
from zarr_cryoet.store.lossy_codecs import roundtrip
from zarr_cryoet.asv.config import setup_cache_root

#: asv's limit for one parameter combination (setup, warm-up, every sample and teardown), in
#: seconds. asv's default of 60 s fails at 512³: one write of 16³ chunks (32768 files) takes over a
#: minute on zarr 3.1.6, and a checked full read of them about as long.
BENCHMARK_TIMEOUT = 1800
SETUP_CACHE_TIMEOUT = 1800  # 512³ volumes with 16³ chunks take minutes to build
#: The version of every benchmark (asv's default is a hash of the code, which a refactor that
#: measures the same thing would change, hiding the history). Raise it when what a benchmark
#: measures changes. "2": the allocator is pinned in every measured process.
VERSION = "2"
#: The version of every timing (``time_``) benchmark. "3": the value is the fastest of many interleaved
#: processes (zarr_cryoet.stats.estimate), no longer asv's median of two: a new series.
TIME_VERSION = "3"
REQUEST = sources.SourceRequest.from_env()
DATA = [REQUEST.identity()]  # the ``data`` parameter of every benchmark

FULL_ENV = "ZARR_CRYOET_FULL"
FULL = os.environ.get(FULL_ENV, "").strip().lower() not in ("", "0", "false", "no")


def grid(default, full):
    """The default grid, or the full one under ``ZARR_CRYOET_FULL=1`` (scikit-image's ``_resolve_param``).

    The default grid is an ordered subset of the full one, so the series it keeps are the
    same series as in a full run.
    """
    default, full = list(default), list(full)
    if not set(default) <= set(full) or [v for v in full if v in default] != default:
        raise ValueError(f"the default grid {default} must be an ordered subset of the full grid {full}")
    return full if FULL else default


# Sampling (asv attributes), chosen from measurements of this machine's noise (docs/measurement.md,
# "Statistic and schedule"): the machine switches between a fast and a usual, ~1.7x slower speed
# every second or so; the suite reports the fastest process (zarr_cryoet.stats.estimate), which
# reproduces only when a combination's processes are spread over the run. So: many rounds (processes)
# of few samples, interleaved across the environments (asv run --interleave-rounds, which every run of
# the suite passes: tasks.py, the nightly job, the focused run), and a fixed number of samples per
# round, so the samples asv records can be told apart by process. ``track_`` results are
# deterministic: run once.
#: reads of micro- to milliseconds, after one warm-up call per process
QUICK_READ = {**schedule.QUICK_READ, "warmup_time": 0.001}
#: writes and reads of ~0.1-1 s, after a warm-up call
WRITE = {**schedule.WRITE, "warmup_time": 0.001}
#: reads over slow HTTP and of whole portal-sized volumes (0.1-2 s)
SLOW = {**schedule.SLOW, "warmup_time": 0.001}
#: writes of seconds (portal-sized volumes), no warm-up
LONG = {**schedule.LONG, "warmup_time": 0}
#: reads from object storage (latency-bound), after a warm-up call
REMOTE = {**schedule.REMOTE, "warmup_time": 0.001}


def sampled(preset: dict):
    """Class decorator: give a benchmark class one of the sampling presets above."""
    def apply(cls):
        for key, value in preset.items():
            setattr(cls, key, value)
        return cls
    return apply


#: the modules whose reference stores :func:`setup_cache` builds (each has ``LAYOUTS``)
LAYOUT_MODULES = ("compression", "chunking", "access", "engines", "cold", "object_storage")


def build_cache(layouts, *, raw_file: bool = False, truth: bool = False) -> dict:
    """Load the volume, record its provenance, write a reference store per layout (cwd = asv's cache dir).

    ``truth``: keep the phantom's noise-free volume too (the lossy question's fidelity benchmarks)."""
    request = sources.SourceRequest.from_env()
    if request.identity() != DATA[0]:
        raise RuntimeError(f"the data changed between benchmark discovery ({DATA[0]}) and setup "
                           f"({request.identity()}); keep ZARR_CRYOET_* unchanged during a run")
    return write_reference(sources.load(request, truth=truth), layouts, raw_file=raw_file)


def write_reference(loaded, layouts, *, raw_file: bool = False) -> dict:
    """The setup-cache dict for a loaded volume: its .npy, particles, provenance, stores and raw file.

    A lossy layout also gets the volume its reads must return (:func:`expected_volume`), and the
    phantom's noise-free truth is kept when it was loaded."""
    volume = loaded.volume
    here = Path.cwd()
    np.save(here / "volume.npy", volume)
    particles_path = None
    if loaded.particles is not None:  # the phantom's ground truth, for particle-box reads
        particles_path = str(here / "particles.npy")
        np.save(particles_path, loaded.particles)
    (here / "provenance.json").write_text(json.dumps(loaded.provenance, indent=2, default=str))
    provenance.record(loaded.provenance)  # next to asv's results, for the report
    truth_path = None
    if loaded.truth is not None:
        truth_path = str(here / "truth.npy")
        np.save(truth_path, loaded.truth)
    built, skipped, expected = {}, {}, {}
    for layout in dict.fromkeys(layouts):
        try:
            path = stores.write_store(here / "stores" / layout.slug, volume, layout)
        except (FormatUnavailableError, InvalidChunksError) as err:
            skipped[layout] = str(err)
            continue
        built[layout] = str(path)
        codec = get_codec(layout.codec)
        if codec.lossy:  # decoded by numcodecs alone, chunk by chunk: independent of the zarr that wrote it
            decoded = here / "expected" / f"{layout.codec}_{stores.format_chunks(layout.chunks)}.npy"
            if not decoded.is_file():  # formats 2 and 3 (and shards of the same inner chunks) decode alike
                decoded.parent.mkdir(exist_ok=True)
                np.save(decoded, roundtrip(volume, codec, layout.chunks, stores.FILL_VALUE))
            expected[layout] = str(decoded)
    cache = {"dir": str(here), "volume_path": str(here / "volume.npy"), "particles_path": particles_path,
             "truth_path": truth_path, "stores": built, "skipped": skipped, "expected": expected,
             "raw_path": None}
    if raw_file:  # what limits.RawIO.time_read_file reads
        volume.tofile(here / "volume.raw")
        cache["raw_path"] = str(here / "volume.raw")
    return cache


def built_once(setup_cache):
    """Decorator: an asv ``setup_cache`` built once per environment and commit, and reused by every round.

    asv runs a setup cache again for every ``run_benchmarks`` call, and ``--interleave-rounds`` makes one
    call per round and environment: without this, every round would write every reference store
    again (half a minute per environment, most of it the portal-sized volume). Inside an asv run
    (``ASV_ENV_DIR``, ``ASV_COMMIT`` set) the cache is built in
    ``<asv dir>/setup-cache/<environment>/<commit>-<name>-<settings>/`` (settings: every
    ``ZARR_CRYOET_*`` variable), its return value kept next to it, and the next round loads that;
    a build that did not finish is started again. Older commits' caches of the environment are
    removed, and ``tasks.py``, the nightly job and the focused run remove the whole directory when
    their run ends. Two asv runs at once (``tasks.py``'s two halves, one per core) build a cache they share
    once, under a file lock; the other waits for it. Outside asv the function simply runs. Nothing here is timed.
    """
    @functools.wraps(setup_cache)
    def cached():
        home = _persistent_home(setup_cache)
        if home is None:
            return setup_cache()
        done = home / "setup-cache.pickle"
        if done.is_file():
            return pickle.loads(done.read_bytes())
        home.parent.mkdir(parents=True, exist_ok=True)
        # two asv runs at once (tasks.py's two halves, one per core) may want the same cache: one builds it, the
        # other waits for it here (not timed) and loads it
        with open(home.parent / f".{home.name}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if done.is_file():
                return pickle.loads(done.read_bytes())
            commit = home.name.partition("-")[0]
            for stale in [home, *(d for d in home.parent.glob("*") if d.is_dir() and not d.name.startswith(commit))]:
                shutil.rmtree(stale, ignore_errors=True)  # a build that did not finish; other commits' caches
            home.mkdir(parents=True)
            here = os.getcwd()
            os.chdir(home)
            try:
                value = setup_cache()
            finally:
                os.chdir(here)
            write_atomically(done, pickle.dumps(value))
        return value

    cached.timeout = SETUP_CACHE_TIMEOUT
    return cached


def _persistent_home(setup_cache) -> Path | None:
    env_dir, env_name, commit = (os.environ.get(k) for k in ("ASV_ENV_DIR", "ASV_ENV_NAME", "ASV_COMMIT"))
    if not (env_dir and env_name and commit):
        return None
    settings = json.dumps(sorted((k, v) for k, v in os.environ.items() if k.startswith("ZARR_CRYOET_")))
    digest = hashlib.sha256(settings.encode()).hexdigest()[:12]
    return setup_cache_root(Path(env_dir).parent) / env_name / \
        f"{commit[:12]}-{setup_cache.__module__.rpartition('.')[2]}.{setup_cache.__name__}-{digest}"


@built_once
def setup_cache():
    """The shared setup cache: every reference store of :data:`LAYOUT_MODULES`, and the raw file."""
    layouts = []
    for name in LAYOUT_MODULES:
        layouts += importlib.import_module(f"{__package__}.{name}").LAYOUTS
    return build_cache(layouts, raw_file=True)


@functools.lru_cache(maxsize=4)  # the volume, a decoded volume, the truth
def _load_volume(path: str) -> np.ndarray:
    volume = np.load(path)
    volume.setflags(write=False)
    return volume


def reference_volume(cache: dict) -> np.ndarray:
    """The volume the stores were built from (loaded once per benchmark process)."""
    return _load_volume(cache["volume_path"])


def expected_volume(cache: dict, layout: stores.Layout) -> np.ndarray:
    """What a read of ``layout``'s reference store must return: the volume, or for a lossy codec the
    volume as numcodecs alone encodes and decodes it, chunk by chunk."""
    path = cache.get("expected", {}).get(layout)
    return _load_volume(path) if path else reference_volume(cache)


def reference_truth(cache: dict) -> np.ndarray | None:
    """The phantom's noise-free volume, if this setup cache kept it (real data: None)."""
    path = cache.get("truth_path")
    return _load_volume(path) if path else None


def reference_particles(cache: dict) -> np.ndarray | None:
    """Known particle centres (z, y, x) of the volume, or None (real data: boxes go to random places)."""
    path = cache.get("particles_path")
    return np.load(path) if path else None


def pattern_selections(cache: dict, name: str) -> list:
    """The selections of access pattern ``name`` on the reference volume (see zarr_cryoet.store.access).

    Computed once per process: asv re-runs ``setup`` before every sample, and the selections
    (which load the particle positions) do not change between samples. Do not modify the list.
    """
    return _pattern_selections(cache["volume_path"], cache.get("particles_path"), name)


@functools.lru_cache(maxsize=None)
def _pattern_selections(volume_path: str, particles_path: str | None, name: str) -> list:
    particles = np.load(particles_path) if particles_path else None
    return access.pattern(name, _load_volume(volume_path).shape, particles)


def counted_requests(cache: dict, layout: stores.Layout, pattern: str, engine=None) -> dict:
    """GET requests and bytes of reading ``pattern`` over HTTP from the reference store of ``layout``,
    counted at the loopback server once per setup cache (every ``track_`` method of a combination uses
    the same count; each read is checked against the volume). ``engine`` (default: zarr-python as
    installed) is an engine of :mod:`zarr_cryoet.engines`, inside its session."""
    suffix = "" if engine is None else f"_{engine.name}"
    memo = Path(cache["dir"], "requests", f"{layout.slug}_{pattern}{suffix}.json")
    if memo.is_file():
        return json.loads(memo.read_text())
    count = remote.count_requests(reference_store(cache, layout), pattern_selections(cache, pattern),
                                  volume=reference_volume(cache), opener=engine.open if engine else None)
    counted = {"data_gets": count.data_gets, "data_bytes": count.data_bytes}
    write_atomically(memo, json.dumps(counted))
    return counted


def counted_instructions(cache: dict, case: str) -> float:
    """Instructions per call of one case of :mod:`zarr_cryoet.measure.instructions`, counted by valgrind on the
    reference stores, once per setup cache (the set-up's own count is kept for the other cases)."""
    from zarr_cryoet.measure import instructions

    memo = Path(cache["dir"], "instructions.json")
    counted = json.loads(memo.read_text()) if memo.is_file() else {}
    if case not in counted:
        chunks = {spec for _, spec in instructions.CASES.values()}
        paths = {spec: reference_store(cache, stores.Layout.from_spec("blosc-zstd", spec, 2)) for spec in chunks}
        found, base = instructions.count(paths, cache["volume_path"], only=[case], base=counted.get("<set-up>"))
        counted.update(found, **{"<set-up>": base})
        write_atomically(memo, json.dumps(counted))
    return counted[case]


def measured_fidelity(cache: dict, layout: stores.Layout) -> dict:
    """The fidelity figures (:func:`zarr_cryoet.fidelity.metrics.measure`) of ``layout``'s reference store,
    read back by the installed zarr and checked against numcodecs' own decoding, against the volume
    (and the phantom's truth); computed once per setup cache, every ``track_`` method reads the memo."""
    from zarr_cryoet.fidelity.metrics import measure

    memo = Path(cache["dir"], "fidelity", f"{layout.slug}.json")
    if memo.is_file():
        return json.loads(memo.read_text())
    decoded = stores.read_store(reference_store(cache, layout))
    check_read(decoded, expected_volume(cache, layout), f"read {layout.slug}")
    voxel_size = provenance.voxel_size_angstrom(json.loads(Path(cache["dir"], "provenance.json").read_text()))
    figures = measure(reference_volume(cache), decoded, truth=reference_truth(cache),
                      boxes=pattern_selections(cache, "box32"), voxel_size=voxel_size).to_dict()
    write_atomically(memo, json.dumps(figures))
    return figures


def reference_store(cache: dict, layout: stores.Layout) -> str:
    """Path of the pre-built store for ``layout``; skips (asv: NaN) if it could not be built."""
    if layout in cache["skipped"]:
        raise NotImplementedError(cache["skipped"][layout])
    if layout not in cache["stores"]:
        raise NotImplementedError(f"no reference store for {layout.slug} in this grid")
    return cache["stores"][layout]


def check_read(actual, expected, what: str) -> None:
    """Fail the benchmark if a read returned anything but the expected voxels."""
    if actual is None:
        raise AssertionError(f"{what}: nothing was read")
    if actual.shape != expected.shape or actual.dtype != expected.dtype \
            or not np.array_equal(actual, expected):
        raise AssertionError(f"{what}: the data read differs from the data written")


def use_every_core() -> None:
    """Let this benchmark process (and the threads it starts) run on every core asv's process may use,
    instead of the one ``--cpu-affinity`` pinned it to (Linux; elsewhere nothing to undo)."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, os.sched_getaffinity(os.getppid()))


middle_planes = access.middle_planes  # the middle XY, XZ and YZ planes (zarr_cryoet.store.access)
