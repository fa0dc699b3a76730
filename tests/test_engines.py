"""The engines (zarr-python, the zarrs pipeline, tensorstore): the adapter, interoperability, the benchmarks.

Where an engine is installed (the zarr >= 3.1 test sessions install zarrs and tensorstore
with ``python -m zarr_cryoet.engines.install``, as asv's environments do), it is the real
library that runs; where it is not (zarr 2.18.7), the tests check that it is skipped with
a reason.
"""

import itertools
import json
import subprocess
import sys

import numpy as np
import pytest

from benchmarks import common, engines as engine_benchmarks
from tests.test_benchmarks import drive, layout_for, reload_suite
from zarr_cryoet import engines
from zarr_cryoet.data import sources
from zarr_cryoet.engines import install, interop
from zarr_cryoet.util.errors import StoreExistsError, UnknownEngineError
from zarr_cryoet.store import compat, remote, stores

LAYOUTS = [stores.Layout.from_spec("blosc-zstd", spec, fmt) for spec, fmt in
           [("16x16x16", 2), ("32x32x32", 3), ("16x16x16/32x32x32", 3)]]
INSTALLED = [name for name in engines.ENGINE_NAMES if engines.get(name).unavailable() is None]
ZARR3 = compat.ZARR_MAJOR >= 3


@pytest.fixture
def volume64():
    return np.random.default_rng(3).normal(0, 1e-5, (64, 64, 64)).astype(np.float32)


def usable(name, layout, remote=False):
    return engines.get(name).unavailable(layout.zarr_format, remote=remote) is None


def test_every_engine_that_can_run_here_does_and_the_others_say_why():
    described = engines.describe()
    assert list(described) == ["zarr-python", "zarr-python-fused", "zarrs", "tensorstore"]
    assert described["zarr-python"]["available"]
    for name, entry in described.items():
        assert entry["available"] == (entry["reason"] is None)
        if entry["available"]:
            assert entry["version"] and entry["settings"]
    if not ZARR3:  # zarr 2.18.7: only zarr-python runs; the others are not installed (asv: a skip with a reason)
        assert engines.get("zarrs").unavailable(2)
    with pytest.raises(UnknownEngineError, match="choose one of: zarr-python, zarr-python-fused, zarrs, tensorstore"):
        engines.get("zarrita")


@pytest.mark.parametrize("name", engines.ENGINE_NAMES)
def test_an_engine_writes_and_reads_every_selection_bit_exact(tmp_path, volume64, name):
    engine = engines.get(name)
    for layout in LAYOUTS:
        if not usable(name, layout):
            continue
        with engine.session():
            path = engine.write(tmp_path / layout.slug, volume64, layout)
            array = engine.open(path)
            for selection in [..., (5, slice(None), slice(None)), (slice(None), 7, slice(None)),
                              (slice(None), slice(None), 31), (slice(3, 19), slice(0, 32), slice(10, 42))]:
                np.testing.assert_array_equal(array[selection], volume64[selection])
        with pytest.raises(StoreExistsError):  # the same rules as every write of the suite
            engine.write(path, volume64, layout)


def test_tensorstore_writes_the_metadata_zarr_python_writes(tmp_path, volume64):
    if "tensorstore" not in INSTALLED:
        pytest.skip("tensorstore is not installed with this zarr")
    for layout in LAYOUTS[1:] if ZARR3 else LAYOUTS[:1]:
        theirs = engines.get("tensorstore").write(tmp_path / f"ts_{layout.slug}", volume64, layout)
        ours = stores.write_store(tmp_path / f"zp_{layout.slug}", volume64, layout)
        name = "zarr.json" if layout.zarr_format == 3 else ".zarray"
        written = [json.loads((path / name).read_text()) for path in (theirs, ours)]
        for doc in written:
            doc.pop("attributes", None)
            for codec in doc.get("codecs", []):  # tensorstore leaves out the default index location
                if codec["name"] == "sharding_indexed":
                    codec["configuration"].setdefault("index_location", "end")
        assert written[0]["codecs" if layout.zarr_format == 3 else "compressor"] == \
            written[1]["codecs" if layout.zarr_format == 3 else "compressor"]
        assert stores.inspect_store(theirs).chunk_file_count == stores.inspect_store(ours).chunk_file_count


def test_the_zarrs_engine_never_falls_back_to_zarr_pythons_pipeline(tmp_path, volume64):
    if "zarrs" not in INSTALLED:
        pytest.skip("zarrs is not installed with this zarr")
    import zarr

    path = stores.write_store(tmp_path / "s.zarr", volume64, LAYOUTS[0])
    engine = engines.get("zarrs")
    with engine.session():
        array = engine.open(path)
        assert zarr.config.get("codec_pipeline.strict") is True
        np.testing.assert_array_equal(array[10], volume64[10])  # an integer index stays in Rust
    with pytest.raises(RuntimeError, match="not ZarrsCodecPipeline"):
        engine.open(path)  # outside its session zarr would choose its own pipeline
    assert engine.unavailable(2, remote=True) and "deadlock" in engine.unavailable(2, remote=True)


def test_the_fused_engine_is_zarrs_own_fused_pipeline_where_zarr_has_one(tmp_path, volume64):
    from zarr_cryoet.engines.zarr_python import has_fused_pipeline

    engine = engines.get("zarr-python-fused")
    if not has_fused_pipeline():  # zarr 2.18.7 and 3.1.6: a skip that names the release it needs
        assert "needs zarr >= 3.3" in engine.unavailable(2)
        return
    import zarr

    path = stores.write_store(tmp_path / "s.zarr", volume64, LAYOUTS[0])
    with engine.session():
        assert zarr.config.get("codec_pipeline.path").endswith("FusedCodecPipeline")
        np.testing.assert_array_equal(engine.open(path)[10], volume64[10])
    assert zarr.config.get("codec_pipeline.path").endswith("BatchedCodecPipeline")  # only inside its session
    with pytest.raises(RuntimeError, match="not FusedCodecPipeline"):
        engine.open(path)


def test_the_concurrency_is_pinned_to_the_same_budget(monkeypatch):
    monkeypatch.setenv(engines.COMPUTE_THREADS_ENV, "3")
    assert engines.thread_budget() == 3
    settings = {name: engines.get(name).settings() for name in INSTALLED}
    if ZARR3:
        assert settings["zarr-python"]["threading.max_workers"] == 3
        assert settings["zarr-python"]["async.concurrency"] == engines.io_concurrency()
    if "zarr-python-fused" in settings:
        assert settings["zarr-python-fused"]["codec_pipeline.max_workers"] == 3
    if "zarrs" in settings:
        assert settings["zarrs"]["threading.max_workers"] == 3
    if "tensorstore" in settings:
        assert settings["tensorstore"]["data_copy_concurrency"] == 3
        assert settings["tensorstore"]["file_io_concurrency"] == engines.io_concurrency()


@pytest.mark.parametrize("name", engines.ENGINE_NAMES)
def test_each_engine_reads_over_http_and_is_counted_at_the_server(tmp_path, volume64, name):
    layout = LAYOUTS[0]
    if not usable(name, layout, remote=True):
        pytest.skip(engines.get(name).unavailable(layout.zarr_format, remote=True))
    path = stores.write_store(tmp_path / layout.slug, volume64, layout)
    planes = [(z, slice(None), slice(None)) for z in (3, 40)]
    engine = engines.get(name)
    with engine.session():
        count = remote.count_requests(path, planes, volume=volume64, opener=engine.open)
    assert count.data_gets == 2 * (64 // 16) * (64 // 16)  # one GET per chunk each plane touches


def test_the_interop_table_is_bit_exact_and_reports_failures(tmp_path, volume64, monkeypatch):
    layouts = [layout for layout in LAYOUTS if layout.zarr_format in compat.supported_formats()]
    rows = interop.check(volume64, layouts, tmp_path)
    assert len(rows) == len(layouts) * len(engines.ENGINE_NAMES) ** 2
    for row in rows:
        expected = "bit-exact" if row.writer in INSTALLED and row.reader in INSTALLED else "skipped"
        assert row.status == expected, row
        assert row.mismatched_voxels == (0 if expected == "bit-exact" else None)
    # a reader that returns other data is a finding, with the count of differing voxels
    real_open = engines.get("zarr-python").open
    monkeypatch.setattr(engines.get("zarr-python"), "open", lambda path: real_open(path)[...] + np.float32(1))
    rows = interop.check(volume64, layouts[:1], tmp_path / "again", engine_names=("zarr-python",))
    assert rows[0].status == "differs" and rows[0].mismatched_voxels == volume64.size


def test_install_leaves_a_zarr_2_environment_as_it_is(monkeypatch, capsys):
    monkeypatch.setattr(install, "distribution_version", lambda name: "2.18.7")
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: pytest.fail("nothing may be installed"))
    assert install.main([]) == 0
    assert "only zarr-python runs here" in capsys.readouterr().out
    assert install._release("3.1.7.dev5+g1234") == (3, 1)


@pytest.fixture
def engine_cache(tmp_path, monkeypatch):
    monkeypatch.setenv(sources.SOURCE_ENV, "phantom:64")
    monkeypatch.setenv("ZARR_CRYOET_PROVENANCE_DIR", str(tmp_path / "provenance"))
    reload_suite()
    import importlib

    importlib.reload(engine_benchmarks)
    (tmp_path / "cache").mkdir()
    monkeypatch.chdir(tmp_path / "cache")
    return common.build_cache(engine_benchmarks.LAYOUTS)


def _expected_skip(cls, params, remote=False) -> bool:
    named = dict(zip(cls.param_names, params))
    try:
        layout = layout_for(cls, params)
    except NotImplementedError:
        return True
    engine = named.get("engine") or named.get("reader")
    return (layout.zarr_format not in compat.supported_formats() or max(layout.chunks) > 64
            or max(layout.shards or (0,)) > 64 or not usable(engine, layout, remote)
            or ("writer" in named and not usable(named["writer"], layout)))


def test_every_engine_benchmark_runs_or_skips_for_a_reason(engine_cache, tmp_path, monkeypatch):
    cases = [(engine_benchmarks.Write, "time_write"), (engine_benchmarks.Read, "time_read_full"),
             (engine_benchmarks.Read, "time_read_slice_yz"), (engine_benchmarks.Read, "time_read_particle_boxes"),
             (engine_benchmarks.Memory, "peakmem_read_full"), (engine_benchmarks.Memory, "peakmem_write"),
             (engine_benchmarks.Requests, "track_get_requests"), (engine_benchmarks.RemoteRead, "time_read")]
    for cls, method in cases:
        for params in itertools.product(*cls.params):
            result = drive(cls, method, engine_cache, params)
            skip = _expected_skip(cls, params, remote=cls in (engine_benchmarks.Requests, engine_benchmarks.RemoteRead))
            assert (result == "skipped") == skip, (cls.__name__, method, params)
            if method.startswith("track_") and not skip:
                assert result > 0
    (tmp_path / "interop_cache").mkdir()
    monkeypatch.chdir(tmp_path / "interop_cache")
    cache = engine_benchmarks.interop_cache()
    cls = engine_benchmarks.Interop
    for params in itertools.product(*cls.params):
        result = drive(cls, "track_mismatched_voxels", cache, params)
        assert (result == "skipped") == _expected_skip(cls, params), params
        assert result in ("skipped", 0)
    recorded = list((tmp_path / "provenance").glob("engines_zarr_*.json"))
    assert len(recorded) == 1 and json.loads(recorded[0].read_text())["engines"]["zarr-python"]["available"]


@pytest.mark.parametrize("name", engines.ENGINE_NAMES)
def test_a_read_of_wrong_data_fails_the_engine_benchmark(engine_cache, name):
    params = (common.DATA[0], "64x64x64", 2, name)
    layout = layout_for(engine_benchmarks.Read, params)
    if not usable(name, layout):
        pytest.skip(engines.get(name).unavailable(2))
    wrong = common.reference_volume(engine_cache).copy()
    wrong[32, 32, 32] += 1e-3
    stores.write_store(engine_cache["stores"][layout], wrong, layout, overwrite=True)
    engine_benchmarks._Engine._opened.clear()
    with pytest.raises(AssertionError, match="differs from the data written"):
        drive(engine_benchmarks.Read, "time_read_slice_xy", engine_cache, params)


def test_the_engine_module_runs_under_a_subprocess_asv_would_start():
    """The module imports cleanly in a fresh interpreter (asv discovers benchmarks that way)."""
    done = subprocess.run([sys.executable, "-c", "import benchmarks.engines as e; print(len(e.LAYOUTS))"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
