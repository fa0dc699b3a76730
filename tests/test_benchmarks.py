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
from pathlib import Path

import numpy as np
import pytest

from benchmarks import (access, chunking, codec_sweep, cold, common, compression, limits, lossy, process_state,
                        realistic, suite)
from zarr_cryoet.store import compat
from zarr_cryoet.data import sources
from zarr_cryoet.store import stores


@pytest.fixture
def cache_of(tmp_path, monkeypatch):
    """Run a module's setup_cache in a fresh directory, as asv does, on a 64³ phantom."""
    monkeypatch.setenv(sources.SOURCE_ENV, "phantom:64")
    monkeypatch.setenv("ZARR_CRYOET_PROVENANCE_DIR", str(tmp_path / "provenance"))
    reload_suite()  # the data parameter is read at import, as in asv

    def run_setup_cache(module):
        cache_dir = tmp_path / module.__name__
        cache_dir.mkdir()
        monkeypatch.chdir(cache_dir)  # asv gives every setup_cache its own directory
        return benchmark_classes(module)[0].setup_cache()
    return run_setup_cache


def reload_suite():
    for module in (common, suite, compression, chunking, access, cold, limits, codec_sweep, process_state, realistic,
                   lossy):
        importlib.reload(module)


def benchmark_classes(module):
    return [v for k, v in vars(module).items() if isinstance(v, type) and not k.startswith("_")
            and any(m.startswith(("time_", "track_")) for m in dir(v))]


def layout_for(cls, params):
    """The layout of one parameter combination, as the benchmark class builds it (NotImplementedError: a skip)."""
    return cls.suite.layout(dict(zip(cls.param_names, params)))


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


def skipped_on_64(cls, params) -> bool:
    """Whether a benchmark must skip on the 64³ phantom: format 3 on zarr 2, sharding on format 2, too big."""
    try:
        layout = layout_for(cls, params)
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
            expected_skip = skipped_on_64(cls, params)
            assert (result == "skipped") == expected_skip, (method, params)
            if method.startswith("track_") and not expected_skip:
                assert result > 0


def test_track_values_are_measured_from_the_files(cache_of):
    cache = cache_of(compression)
    layout = layout_for(compression.Storage, (common.DATA[0], "blosc-zstd", 2))
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
    layout = layout_for(chunking.Read, (common.DATA[0], "32x32x32", 2))
    wrong = common.reference_volume(cache).copy()
    wrong[32, 32, 32] += 1e-3  # one voxel, in the middle planes
    stores.write_store(cache["stores"][layout], wrong, layout, overwrite=True)
    with pytest.raises(AssertionError, match="differs from the data written"):
        drive(chunking.Read, method, cache, (common.DATA[0], "32x32x32", 2))


def test_a_wrong_write_fails_the_benchmark_and_leaves_no_temp_store(cache_of, monkeypatch, tmp_path):
    cache = cache_of(compression)
    # a temporary directory of this test's own: asv runs beside the test sessions write their stores in /tmp too
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    before = set(glob.glob(os.path.join(tempfile.gettempdir(), "zarr-cryoet-write-*")))
    real_write = stores.write_store
    monkeypatch.setattr(stores, "write_store",
                        lambda path, volume, layout: real_write(path, np.flip(volume, 0), layout))
    with pytest.raises(AssertionError, match="differs from the data written"):
        drive(compression.Write, "time_write", cache, (common.DATA[0], "zstd", 2))
    after = set(glob.glob(os.path.join(tempfile.gettempdir(), "zarr-cryoet-write-*")))
    assert after == before


def test_a_crashing_write_leaves_no_temp_store(cache_of, monkeypatch, tmp_path):
    cache = cache_of(compression)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # this test's own (see above)
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
    monkeypatch.setenv("ZARR_CRYOET_PROVENANCE_DIR", str(tmp_path / "provenance"))
    reload_suite()
    monkeypatch.chdir(tmp_path)
    return common.setup_cache()


COUNTED = ("xy", "box32")  # counted over HTTP on every layout; all patterns on 32³ chunks


def test_access_patterns_read_and_count_every_layout(cache_128):
    """Every pattern on every layout read and checked locally; counted over HTTP (a subset, for time)."""
    volume = common.reference_volume(cache_128)
    assert common.reference_particles(cache_128) is not None  # boxes sit on the phantom's particles
    for params in itertools.product(*access.Read.params):
        data, chunks, zarr_format, pattern = params
        try:
            layout = layout_for(access.Read, params)
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
        try:
            layout_for(access.RemoteRead, params)
            expected_skip = params[2] not in compat.supported_formats()
        except NotImplementedError:
            expected_skip = True
        assert (drive(access.RemoteRead, "time_read", cache_128, params) == "skipped") == expected_skip, params
    assert threading.active_count() == threads  # every server stopped in teardown
    # 16-plane slabs through 16-plane chunks read every chunk once: every chunk file's bytes once
    whole = (common.DATA[0], "16x128x128", 2, "zslabs")
    store = cache_128["stores"][layout_for(access.Requests, whole)]
    chunk_bytes = sum(os.path.getsize(os.path.join(store, f)) for f in os.listdir(store) if not f.startswith("."))
    assert drive(access.Requests, "track_bytes_fetched", cache_128, whole) == chunk_bytes


def chunk_ids(shape, chunks) -> np.ndarray:
    """For every voxel, the number of the chunk it lies in."""
    grid = [np.arange(n) // c for n, c in zip(shape, chunks)]
    counts = [-(-n // c) for n, c in zip(shape, chunks)]
    return (grid[0][:, None, None] * counts[1] + grid[1][None, :, None]) * counts[2] + grid[2][None, None, :]


def test_a_wrong_particle_box_fails_the_access_benchmark(cache_128):
    layout = layout_for(access.Read, (common.DATA[0], "32x32x32", 2, "box32"))
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


def test_the_default_grid_is_an_ordered_subset_of_the_full_grid(monkeypatch):
    assert common.grid(["a", "c"], ["a", "b", "c"]) == ["a", "c"]
    with pytest.raises(ValueError, match="ordered subset"):
        common.grid(["c", "a"], ["a", "b", "c"])
    monkeypatch.setenv(common.FULL_ENV, "1")
    reload_suite()
    try:
        assert common.grid(["a"], ["a", "b"]) == ["a", "b"]
        assert chunking.CHUNKINGS == chunking.PLAIN + chunking.SHARDED + chunking.LARGE_SHARDS
        assert access.Read.params[3] == ["xy", "xz", "yz", "box32", "box64", "zslabs"]
    finally:
        monkeypatch.delenv(common.FULL_ENV)
        reload_suite()
    # the default grid keeps the worst and best layouts of every read, plain and sharded
    assert {"16x16x16", "128x128x128", "16x128x128", "32x32x32/128x128x128"} <= set(chunking.CHUNKINGS)


def test_every_benchmark_has_an_explicit_version_and_the_long_timeout():
    from benchmarks import instructions, object_storage

    for module in (compression, chunking, access, limits, codec_sweep, process_state, realistic, lossy, instructions,
                   object_storage):
        for cls in benchmark_classes(module):
            timed = any(name.startswith("time_") for name in dir(cls))
            assert cls.version == (common.TIME_VERSION if timed else common.VERSION), cls
            assert cls.timeout == common.BENCHMARK_TIMEOUT, cls


def test_every_timing_has_a_schedule_whose_processes_can_be_told_apart():
    """A whole number of samples per process (asv's repeat): the statistic's interval needs the processes."""
    from benchmarks import object_storage

    for module in (compression, chunking, access, limits, codec_sweep, realistic, lossy, object_storage):
        for cls in benchmark_classes(module):
            if any(name.startswith("time_") for name in dir(cls)):
                assert isinstance(cls.repeat, int) and cls.repeat >= 1 and cls.rounds >= 2, cls


def test_a_setup_cache_inside_an_asv_run_is_built_once_and_reused_by_every_round(tmp_path, monkeypatch):
    calls = []

    @common.built_once
    def setup_cache():
        calls.append(Path.cwd())
        Path("made.txt").write_text("x")
        return {"dir": str(Path.cwd())}

    monkeypatch.setenv("ASV_ENV_DIR", str(tmp_path / "env" / "abc"))
    monkeypatch.setenv("ASV_ENV_NAME", "virtualenv-py3.11-zarr3.1.6")
    monkeypatch.setenv("ASV_COMMIT", "a" * 40)
    monkeypatch.chdir(tmp_path)
    first, second = setup_cache(), setup_cache()
    assert first == second and len(calls) == 1  # the second round loads what the first built
    home = Path(first["dir"])
    assert home.parent.parent == tmp_path / "setup-cache" and (home / "made.txt").is_file()
    assert Path.cwd() == tmp_path  # asv's working directory is left as it was
    monkeypatch.setenv("ASV_COMMIT", "b" * 40)  # another commit: built again, the old commit's removed
    third = setup_cache()
    assert len(calls) == 2 and not home.exists() and Path(third["dir"]).is_dir()
    monkeypatch.delenv("ASV_COMMIT")  # outside asv: it simply runs
    setup_cache()
    assert len(calls) == 3 and calls[-1] == tmp_path


def test_importing_the_suite_pins_the_allocator():
    from zarr_cryoet.measure import allocator

    assert allocator.is_pinned() and allocator.state() == "pinned"


def test_page_faults_are_tracked_in_both_allocator_states(cache_of):
    cache = cache_of(process_state)
    faults = {}
    for allocator_state in process_state.ALLOCATORS:
        params = (common.DATA[0], "64x64x64", 2, "xy", allocator_state)
        faults[allocator_state] = drive(process_state.PageFaults, "track_minor_faults_per_read", cache, params)
        assert faults[allocator_state] >= 0
    # a fresh unpinned process decodes into newly mapped pages; the pinned one reuses its heap
    assert faults["pinned"] < faults["glibc default"], faults


def test_the_realistic_tier_builds_its_own_volume_and_skips_what_it_does_not_measure(tmp_path, monkeypatch):
    monkeypatch.setenv("ZARR_CRYOET_REALISTIC_SHAPE", "128x136x136")
    monkeypatch.setenv("ZARR_CRYOET_PROVENANCE_DIR", str(tmp_path / "provenance"))
    monkeypatch.delenv(sources.SOURCE_ENV, raising=False)
    reload_suite()
    monkeypatch.chdir(tmp_path)
    cache = realistic.setup_cache()
    assert common.reference_volume(cache).shape == (128, 136, 136)
    assert (tmp_path / "provenance" / "phantom_128x136x136_float32.json").is_file()
    for cls in (realistic.Write, realistic.Read):
        for method, params in itertools.product(benchmark_methods(cls), itertools.product(*cls.params)):
            try:
                layout = layout_for(cls, params)
            except NotImplementedError:  # shards on format 2
                layout = None
            measured = layout in realistic.LAYOUTS and params[2] in compat.supported_formats()
            assert (drive(cls, method, cache, params) != "skipped") == measured, (method, params)


def test_the_lossy_benchmarks_check_against_numcodecs_and_track_fidelity(cache_of):
    """Reads and writes of lossy stores are checked against numcodecs' own decoding; the fidelity figures
    of the phantom (it has a truth) are measured, lossless codecs skip the PSNR, and every figure is sane."""
    cache = cache_of(lossy)
    data = common.DATA[0]
    assert cache["truth_path"] and set(cache["expected"]) == {l for l in cache["stores"] if l.codec not in
                                                              ("blosc-zstd", "blosc-zstd-5-bitshuffle", "pcodec")}
    for codec in lossy.SPEED_DEFAULT:
        assert drive(lossy.Read, "time_read", cache, (data, codec, 2)) is None
        assert drive(lossy.Write, "time_write", cache, (data, codec, 2)) is None
    assert drive(lossy.PSNR, "track_psnr", cache, (data, "blosc-zstd", 2)) == "skipped"
    assert drive(lossy.PSNR, "track_psnr", cache, (data, "bitround-10", 2)) > drive(
        lossy.PSNR, "track_psnr", cache, (data, "bitround-4", 2)) > 0
    for codec in ("blosc-zstd", "zfp-rate-1"):
        figures = {m: drive(cls, m, cache, (data, codec, 2)) for cls in (lossy.Fidelity, lossy.AgainstTruth)
                   for m in benchmark_methods(cls)}
        assert 0 < figures["track_fsc_0143_nyquist"] <= 1 and 0 < figures["track_particle_ncc_min"] <= 1
        if codec == "blosc-zstd":
            assert figures["track_rmse_over_sigma"] == 0 == figures["track_max_fsc_drop"]
        else:
            assert figures["track_rmse_over_sigma"] > 0.3 and figures["track_max_fsc_drop"] > 0
    ratios = {c: drive(lossy.Storage, "track_compression_ratio", cache, (data, c, 2)) for c in ("pcodec", "zfp-rate-4")}
    assert ratios["zfp-rate-4"] == pytest.approx(8, rel=0.02) and 1 < ratios["pcodec"] < 1.5


def test_a_lossy_read_that_differs_from_numcodecs_decoding_fails(cache_of):
    cache = cache_of(lossy)
    layout = layout_for(lossy.Read, (common.DATA[0], "bitround-4", 2))
    # the original volume, written losslessly where the bit-rounded one belongs: every voxel differs a little
    stores.write_store(cache["stores"][layout], common.reference_volume(cache),
                       stores.Layout("blosc-zstd", layout.chunks, 2), overwrite=True)
    with pytest.raises(AssertionError, match="differs from the data written"):
        drive(lossy.Read, "time_read", cache, (common.DATA[0], "bitround-4", 2))


def test_fidelity_needs_a_truth_only_where_it_says_so(cache_of, monkeypatch):
    cache = cache_of(lossy)
    cache = {**cache, "truth_path": None}  # real data has no noise-free truth
    params = (common.DATA[0], "bitround-4", 2)
    assert drive(lossy.AgainstTruth, "track_max_fsc_drop", cache, params) == "skipped"
    assert drive(lossy.Fidelity, "track_rmse_over_sigma", cache, params) > 0


def test_fidelity_on_an_mrc_file_with_a_voxel_size_per_axis(tmp_path, monkeypatch):
    """MRC and OME-Zarr record the voxel size as (z, y, x); the fidelity figures (FSC in Å) take one number.
    Found by the first focused run on an MRC file (zarr-cryoet recommend --source mrc:...)."""
    import mrcfile

    from zarr_cryoet.data.phantom import make_phantom

    path = tmp_path / "tomogram.mrc"
    with mrcfile.new(str(path)) as mrc:
        mrc.set_data(make_phantom((64, 64, 64), seed=2).volume)
        mrc.voxel_size = 7.5
    monkeypatch.setenv(sources.SOURCE_ENV, f"mrc:{path}")
    monkeypatch.setenv(sources.SIZE_ENV, "64")
    monkeypatch.setenv("ZARR_CRYOET_PROVENANCE_DIR", str(tmp_path / "provenance"))
    reload_suite()
    (tmp_path / "cache").mkdir()
    monkeypatch.chdir(tmp_path / "cache")
    cache = lossy.Fidelity.setup_cache()
    params = (common.DATA[0], "zfp-rate-1", 2)
    assert 0 < drive(lossy.Fidelity, "track_fsc_05_nyquist", cache, params) <= 1
    assert drive(lossy.AgainstTruth, "track_max_fsc_drop", cache, params) == "skipped"  # no truth for real data
    assert common.measured_fidelity(cache, layout_for(lossy.Fidelity, params))["fsc_05_angstrom"] >= 2 * 7.5


def test_a_cold_read_starts_with_the_stores_files_out_of_the_page_cache(cache_of, monkeypatch):
    from zarr_cryoet.store import page_cache

    cache = cache_of(cold)
    assert cold.Read.number == 1  # one call per sample: no timed call reads what the one before it cached
    for params in itertools.product(*cold.Read.params):
        named = dict(zip(cold.Read.param_names, params))
        bench = cold.Read()
        try:
            bench.setup(cache, *params)
        except NotImplementedError:  # shards larger than the 64³ phantom, format 3 on zarr 2
            assert skipped_on_64(cold.Read, params)
            continue
        try:
            store = common.reference_store(cache, cold.suite.layout(named))
            resident = page_cache.resident_fraction(store)
            assert resident == 0.0 if named["cache"] == "cold" else resident > 0.9, (named, resident)
            bench.time_read_full(cache, *params)
            assert page_cache.resident_fraction(store) > 0.9  # the read brought it back
        finally:
            bench.teardown(cache, *params)  # checks every voxel of the read
    # a drop that did not work fails the benchmark rather than time a warm read as cold
    monkeypatch.setattr(page_cache, "resident_fraction", lambda store: 0.25)
    params = next(p for p in itertools.product(*cold.Read.params)
                  if dict(zip(cold.Read.param_names, p))["cache"] == "cold" and not skipped_on_64(cold.Read, p))
    with pytest.raises(RuntimeError, match="25.0% of .* is still in the page cache"):
        cold.Read().setup(cache, *params)
