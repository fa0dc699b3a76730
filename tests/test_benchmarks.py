"""The benchmark classes, driven the way asv drives them, on a small phantom.

These prove that the benchmarks check what they measure: a store with wrong
data makes the read benchmark fail, a write that writes the wrong data makes
the write benchmark fail, and temporary stores never outlive a benchmark.
"""

import glob
import importlib
import itertools
import os
import tempfile
import threading

import numpy as np
import pytest

from benchmarks import access, chunking, codec_sweep, common, compression, limits
from zarr_cryoet.store import compat
from zarr_cryoet.data import sources
from zarr_cryoet.store import stores


@pytest.fixture
def cache_of(tmp_path, monkeypatch):
    """Run a module's setup_cache in a fresh directory, as asv does, on a 64³ phantom."""
    monkeypatch.setenv(sources.SOURCE_ENV, "phantom:64")
    # the data parameter is read at import, as in asv
    for module in (common, compression, chunking, access, limits, codec_sweep):
        importlib.reload(module)

    def run_setup_cache(module):
        cache_dir = tmp_path / module.__name__
        cache_dir.mkdir()
        monkeypatch.chdir(cache_dir)  # asv gives every setup_cache its own directory
        return module.setup_cache()
    return run_setup_cache


def drive(cls, method, cache, params):
    """setup -> timed method -> teardown, like asv; returns the method's result or 'skipped'.

    As in asv, teardown runs even when setup skipped the benchmark.
    """
    bench = cls()
    try:
        try:
            bench.setup(cache, *params)
        except NotImplementedError:
            return "skipped"
        return getattr(bench, method)(cache, *params)
    finally:
        if hasattr(bench, "teardown"):
            bench.teardown(cache, *params)


def skipped_on_64(module, params) -> bool:
    """Whether a benchmark must skip on the 64³ phantom: format 3 on zarr 2, sharding on format 2, too big."""
    try:
        layout = module.layout_for(*params)
    except NotImplementedError:
        return True
    return (layout.zarr_format not in compat.supported_formats()
            or max(layout.chunks) > 64 or max(layout.shards or (0,)) > 64)


def benchmark_methods(cls):
    return [m for m in dir(cls) if m.startswith(("time_", "track_"))]


@pytest.mark.parametrize("module", [compression, chunking, codec_sweep])
def test_every_benchmark_runs_or_skips_for_a_reason(cache_of, module):
    cache = cache_of(module)
    for cls in (module.Write, module.Read, module.Storage):
        for method, params in itertools.product(benchmark_methods(cls), itertools.product(*cls.params)):
            result = drive(cls, method, cache, params)
            expected_skip = skipped_on_64(module, params)
            assert (result == "skipped") == expected_skip, (method, params)
            if method.startswith("track_") and not expected_skip:
                assert result > 0


def test_track_values_are_measured_from_the_files(cache_of):
    cache = cache_of(compression)
    layout = compression.layout_for(common.DATA[0], "blosc-zstd", 2)
    path = cache["stores"][layout]
    on_disk = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(path) for f in fs)
    assert drive(compression.Storage, "track_stored_bytes", cache, (common.DATA[0], "blosc-zstd", 2)) == on_disk
    ratio = drive(compression.Storage, "track_compression_ratio", cache, (common.DATA[0], "blosc-zstd", 2))
    assert ratio == pytest.approx(64 ** 3 * 4 / on_disk)
    files = drive(chunking.Storage, "track_file_count", cache_of(chunking), (common.DATA[0], "16x16x16", 2))
    assert files == 64 + (1 if compat.ZARR_MAJOR < 3 else 2)


@pytest.mark.parametrize("method", ["time_read_full", "time_read_slice_xy", "time_read_slice_yz"])
def test_a_read_of_wrong_data_fails_the_benchmark(cache_of, method):
    cache = cache_of(chunking)
    layout = chunking.layout_for(common.DATA[0], "32x32x32", 2)
    wrong = common.reference_volume(cache).copy()
    wrong[32, 32, 32] += 1e-3  # one voxel, in the middle planes
    stores.write_store(cache["stores"][layout], wrong, layout, overwrite=True)
    with pytest.raises(AssertionError, match="differs from the data written"):
        drive(chunking.Read, method, cache, (common.DATA[0], "32x32x32", 2))


def test_a_wrong_write_fails_the_benchmark_and_leaves_no_temp_store(cache_of, monkeypatch):
    cache = cache_of(compression)
    before = set(glob.glob(os.path.join(tempfile.gettempdir(), "zarr-cryoet-write-*")))
    real_write = stores.write_store
    monkeypatch.setattr(stores, "write_store",
                        lambda path, volume, layout: real_write(path, np.flip(volume, 0), layout))
    with pytest.raises(AssertionError, match="differs from the data written"):
        drive(compression.Write, "time_write", cache, (common.DATA[0], "zstd", 2))
    after = set(glob.glob(os.path.join(tempfile.gettempdir(), "zarr-cryoet-write-*")))
    assert after == before


def test_a_crashing_write_leaves_no_temp_store(cache_of, monkeypatch):
    cache = cache_of(compression)
    before = set(glob.glob(os.path.join(tempfile.gettempdir(), "zarr-cryoet-write-*")))

    def crash(*args, **kwargs):
        raise OSError("disk full")
    monkeypatch.setattr(stores, "write_store", crash)
    with pytest.raises(OSError):
        drive(compression.Write, "time_write", cache, (common.DATA[0], "none", 2))
    assert set(glob.glob(os.path.join(tempfile.gettempdir(), "zarr-cryoet-write-*"))) == before


@pytest.fixture
def cache_128(tmp_path, monkeypatch):
    """access.setup_cache on the 128³ phantom, where the 128³ shards fit."""
    monkeypatch.setenv(sources.SOURCE_ENV, "phantom:128")
    for module in (common, access):
        importlib.reload(module)
    monkeypatch.chdir(tmp_path)
    return access.setup_cache()


COUNTED = ("xy", "box32")  # counted over HTTP on every layout; all patterns on 32³ chunks


def test_access_patterns_read_and_count_every_layout(cache_128):
    """Every pattern on every layout read and checked locally; counted over HTTP (a subset, for time)."""
    volume = common.reference_volume(cache_128)
    assert common.reference_particles(cache_128) is not None  # boxes sit on the phantom's particles
    for params in itertools.product(*access.Read.params):
        data, chunks, zarr_format, pattern = params
        try:
            layout = access.layout_for(*params)
        except NotImplementedError:
            layout = None
        expected_skip = layout is None or zarr_format not in compat.supported_formats()
        result = drive(access.Read, "time_read", cache_128, params)
        assert (result == "skipped") == expected_skip, params
        if pattern not in COUNTED and chunks != "32x32x32":
            continue
        gets = drive(access.Requests, "track_get_requests", cache_128, params)
        assert (gets == "skipped") == expected_skip, params
        if expected_skip:
            continue
        assert gets > 0
        if layout.shards is None:  # one GET per chunk touched, by a count made here from the geometry
            ids = chunk_ids(volume.shape, layout.chunks)
            selections = common.pattern_selections(cache_128, pattern)
            assert gets == sum(np.unique(ids[s]).size for s in selections), params
    threads = threading.active_count()
    for params in itertools.product(*access.RemoteRead.params):  # over HTTP with latency, timed and checked
        layout_params = params[:3]
        try:
            access.layout_for(*layout_params)
            expected_skip = params[2] not in compat.supported_formats()
        except NotImplementedError:
            expected_skip = True
        assert (drive(access.RemoteRead, "time_read", cache_128, params) == "skipped") == expected_skip, params
    assert threading.active_count() == threads  # every server stopped in teardown
    # 16-plane slabs through 16-plane chunks read every chunk once: every chunk file's bytes once
    whole = (common.DATA[0], "16x128x128", 2, "zslabs")
    store = cache_128["stores"][access.layout_for(*whole)]
    chunk_bytes = sum(os.path.getsize(os.path.join(store, f)) for f in os.listdir(store) if not f.startswith("."))
    assert drive(access.Requests, "track_bytes_fetched", cache_128, whole) == chunk_bytes


def chunk_ids(shape, chunks) -> np.ndarray:
    """For every voxel, the number of the chunk it lies in."""
    grid = [np.arange(n) // c for n, c in zip(shape, chunks)]
    counts = [-(-n // c) for n, c in zip(shape, chunks)]
    return (grid[0][:, None, None] * counts[1] + grid[1][None, :, None]) * counts[2] + grid[2][None, None, :]


def test_a_wrong_particle_box_fails_the_access_benchmark(cache_128):
    layout = access.layout_for(common.DATA[0], "32x32x32", 2)
    box = common.pattern_selections(cache_128, "box32")[0]
    wrong = common.reference_volume(cache_128).copy()
    wrong[box][5, 5, 5] += 1e-3
    stores.write_store(cache_128["stores"][layout], wrong, layout, overwrite=True)
    with pytest.raises(AssertionError, match="differs from the data written"):
        drive(access.Read, "time_read", cache_128, (common.DATA[0], "32x32x32", 2, "box32"))
    with pytest.raises(AssertionError, match="differs from the data written"):
        drive(access.RemoteRead, "time_read", cache_128, (common.DATA[0], "32x32x32", 2, "box32", 20))
    from zarr_cryoet.store.remote import ReadMismatchError
    with pytest.raises(ReadMismatchError, match="over HTTP"):
        drive(access.Requests, "track_get_requests", cache_128, (common.DATA[0], "32x32x32", 2, "box32"))


@pytest.mark.parametrize("method", ["time_write_file", "time_read_file", "time_memory_copy"])
def test_the_raw_io_limit_is_measured_and_checked(cache_of, method):
    cache = cache_of(limits)
    before = set(glob.glob(os.path.join(tempfile.gettempdir(), "zarr-cryoet-raw-*")))
    assert drive(limits.RawIO, method, cache, (common.DATA[0],)) is None
    assert set(glob.glob(os.path.join(tempfile.gettempdir(), "zarr-cryoet-raw-*"))) == before
    if method == "time_read_file":  # a raw file with other bytes fails the benchmark
        np.flip(common.reference_volume(cache), 0).tofile(cache["raw_path"])
        with pytest.raises(AssertionError, match="differs"):
            drive(limits.RawIO, method, cache, (common.DATA[0],))
