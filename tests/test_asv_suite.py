"""The real thing: asv check, asv run --quick and asv publish over the whole zarr matrix.

Runs the committed HEAD of this repository (asv benchmarks commits, not the
working tree) into a temporary results directory, sharing the environments in
.asv/env with ``python3 tasks.py benchmark``.
"""

import ast
import itertools
import json
import math
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.asv_helpers import MACHINE, ci_selected, expected_envs  # the asv_run fixture is in conftest.py

pytestmark = pytest.mark.asv


def test_asv_check_is_clean(asv_run):
    _, _, out = asv_run
    assert out["check"].returncode == 0, out["check"].stdout + out["check"].stderr
    assert "No problems found" in out["check"].stdout


def test_asv_run_succeeds(asv_run):
    _, _, out = asv_run
    lines = out["run"].stdout.splitlines()
    # each failed benchmark with the stderr asv shows under it (--show-stderr), not just the run's last lines
    failures = "\n".join("\n".join(lines[i:i + 12]) for i, line in enumerate(lines) if "failed" in line.lower())
    assert out["run"].returncode == 0, (failures or out["run"].stdout[-3000:]) + out["run"].stderr[-3000:]
    assert not failures, failures[-6000:]


def result_files(results_dir):
    return {json.loads(p.read_text())["params"]["zarr"]: json.loads(p.read_text())
            for p in (results_dir / MACHINE).glob("*-virtualenv-*.json")}


def should_skip(zarr_version: str, params: dict, name: str = "") -> bool:
    """Where a NaN (skipped) is the right result on the 128³ phantom; everywhere else a number."""
    chunks = str(params.get("chunks", "")).strip("'")
    sharded = "/" in chunks
    # a suite without a zarr_format parameter (object_storage) stores shards on format 3 and plain chunks on 2
    # ... and realistic.UseCasesV3 stores plain chunks on format 3
    zarr_format = int(params.get("zarr_format", 3 if sharded or name.startswith("realistic.UseCasesV3.") else 2))
    too_big = sharded and max(int(n) for n in chunks.split("/")[1].split("x")) > 128
    # the realistic tier, and the default grid over slow HTTP, measure plain chunks on format 2 and shards
    # on format 3 only
    not_in_tier = (name.startswith(("realistic.", "access.RemoteRead.")) and not name.startswith("realistic.UseCasesV3.")
                   and not sharded and zarr_format == 3)
    return ((zarr_version.startswith("2.") and zarr_format == 3) or (sharded and zarr_format == 2) or too_big
            or not_in_tier or (name.startswith("engines.") and engine_skipped(zarr_version, params, name))
            or (name == "lossy.PSNR.track_psnr" and str(params.get("codec")).strip("'") in LOSSLESS)
            or (name.startswith("instructions.") and shutil.which("valgrind") is None)
            or (name.startswith(("object_storage.", "realistic.ObjectStorage.")) and zarr_version.startswith("2.")
                and str(params.get("client")).strip("'") != "zarr-python+s3fs")  # zarr 2 reads S3 over s3fs only
            or (name.startswith(("conversion.", "multiscale.")) and conversion_skipped(zarr_version)))


def conversion_skipped(zarr_version: str) -> bool:
    """The conversion and multiscale tiers run where ome-zarr 0.21 is installed: zarr >= 3 on Python >= 3.12."""
    import matrix

    python = next(py for py, z in matrix.zarr_matrix() if z == zarr_version)
    return zarr_version.startswith("2.") or tuple(int(n) for n in python.split(".")) < (3, 12)


LOSSLESS = ("blosc-zstd", "blosc-zstd-5-bitshuffle", "pcodec")  # the PSNR of an exact copy is infinite: skipped


def engine_skipped(zarr_version: str, params: dict, name: str) -> bool:
    """zarrs and tensorstore are only in the zarr 3 environments, zarr's fused pipeline only from zarr 3.3; zarrs
    is not run over HTTP; the engines' default grid has plain chunks on format 2 and shards on format 3."""
    engines = {str(params.get(key, "")).strip("'") for key in ("engine", "writer", "reader")} - {""}
    chunks = str(params.get("chunks", "")).strip("'")
    remote = name.startswith(("engines.Requests.", "engines.RemoteRead."))
    plain_v3 = int(params.get("zarr_format", 2)) == 3 and "/" not in chunks
    no_fused = tuple(int(n) for n in zarr_version.split(".")[:2]) < (3, 3) and "zarr-python-fused" in engines
    return ((zarr_version.startswith("2.") and bool(engines - {"zarr-python"}))
            or (remote and "zarrs" in engines) or plain_v3 or no_fused)


def test_every_zarr_version_has_results_for_every_benchmark(asv_run):
    _, tmp, _ = asv_run
    results = result_files(tmp / "results")
    assert set(results) == expected_envs()
    benchmarks = json.loads((tmp / "results" / "benchmarks.json").read_text())
    # the S3 tier runs in CI on its XY plane, its request count and the image's (asv_config.CI_BENCH): each
    # benchmark process starts an S3 endpoint, so the rest of the tier is left to tasks.py benchmark
    s3_left_out = {"object_storage.OpenImage.time_open", "object_storage.Concurrency.time_read_full",
                   "object_storage.Traffic.track_max_in_flight", "object_storage.Traffic.track_read_amplification",
                   "object_storage.Read.time_read_full", "realistic.ObjectStorage.time_read_full"}
    # the counts of every case in one valgrind process per class: CI counts one case of one class; the others run
    # the same code (tests/test_instructions.py counts a class of its own for real, a read and a check that fails)
    counts_left_out = {f"instructions.{cls}.track_instructions_{method}" for cls, methods in (
        ("CompressionRead", ["read"]), ("CompressionWrite", ["write"]), ("LossyRead", ["read"]),
        ("LossyWrite", ["write"]), ("ChunkingWrite", ["write"]),
        ("ChunkingRead", ["read_full", "read_slice_xy", "read_slice_xz", "read_slice_yz", "read_particle_boxes"]))
        for method in methods}
    names = {name for name in benchmarks if name != "version" and not name.startswith("codec_sweep.")
             and name not in s3_left_out | counts_left_out}
    assert {"compression.Write.time_write", "compression.Read.time_read",
            "compression.Storage.track_compression_ratio", "compression.Storage.track_stored_bytes",
            "chunking.Write.time_write", "chunking.Read.time_read_full", "chunking.Read.time_read_slice_xy",
            "chunking.Read.time_read_slice_xz", "chunking.Read.time_read_slice_yz",
            "chunking.Read.time_read_particle_boxes", "chunking.Storage.track_file_count",
            "chunking.Storage.track_compression_ratio", "access.Read.time_read", "access.Requests.track_get_requests",
            "access.Requests.track_bytes_fetched", "access.RemoteRead.time_read", "limits.RawIO.time_write_file",
            "limits.RawIO.time_read_file", "limits.RawIO.time_memory_copy",
            "process_state.PageFaults.track_minor_faults_per_read", "realistic.Write.time_write",
            "realistic.Read.time_read_full", "realistic.Read.time_read_slice_xy",
            *(f"realistic.UseCases.time_read_{read}" for read in ("slice_xy", "orthogonal", "particle_boxes",
                                                                  "particle_boxes_64", "full")),
            "realistic.ObjectStorage.time_read_xy", "chunking.ReadEveryCore.time_read_full",
            "chunking.ReadEveryCore.time_read_slice_xy", "engines.Write.time_write", "engines.Read.time_read_full", "engines.Read.time_read_slice_xz",
            "engines.Read.time_read_particle_boxes", "engines.Memory.peakmem_read_full", "engines.Memory.peakmem_write",
            "engines.Memory.peakmem_open", "engines.Requests.track_get_requests", "engines.RemoteRead.time_read",
            "engines.Interop.track_mismatched_voxels", "lossy.Write.time_write", "lossy.Read.time_read",
            "lossy.Storage.track_compression_ratio", "lossy.Fidelity.track_fsc_0143_nyquist",
            "lossy.AgainstTruth.track_max_fsc_drop", "lossy.Fidelity.track_particle_ncc_min",
            "lossy.PSNR.track_psnr", "instructions.Instructions.track_instructions",
            "instructions.AccessRead.track_instructions_read", "cold.Read.time_read_full",
            "cold.Read.time_read_slice_xy", "object_storage.Read.time_read_xy", "object_storage.Traffic.track_requests",
            "object_storage.ImageTraffic.track_requests"} <= names
    assert any(name.startswith("codec_sweep.") for name in benchmarks)  # discovered, left out of the default run
    for zarr_version, result in results.items():
        assert set(result["results"]) == names, zarr_version
        for name, row in result["results"].items():
            values, params = row[0], row[1]
            param_names = benchmarks[name]["param_names"]
            combos = list(itertools.product(*params))
            assert any(ci_selected(name, combo) for combo in combos), name
            for value, combo in zip(values, combos):
                where = f"{name}{combo} on zarr {zarr_version}"
                if not ci_selected(name, combo):  # not run: asv stores NaN, as for a skip
                    assert value is not None and math.isnan(value), f"{where} was not selected, yet has a result"
                    continue
                assert value is not None, f"{where} failed"
                if should_skip(zarr_version, dict(zip(param_names, combo)), name):
                    assert math.isnan(value), f"{where} should be skipped"
                elif name.startswith("engines.Interop."):
                    assert value == 0, f"{where}: {value} voxels differ"  # every engine reads every other's store
                elif name.startswith(("lossy.Fidelity.", "lossy.AgainstTruth.", "lossy.HalfMaps.")):
                    # an error or an FSC loss may be 0 (lossless), a half-map crossing may move either way
                    assert not math.isnan(value), where
                elif name.startswith(("process_state.", "conversion.Traffic.")):
                    # a pinned read may fault no page; a conversion may make no request of a kind
                    assert not math.isnan(value) and value >= 0, where
                else:
                    assert not math.isnan(value) and value > 0, where


def test_every_benchmark_has_its_explicit_version(asv_run):
    """Refactors keep the history: asv hides results whose benchmark version differs from the code's."""
    from benchmarks import common

    _, tmp, _ = asv_run
    benchmarks = json.loads((tmp / "results" / "benchmarks.json").read_text())
    versions = {name: b["version"] for name, b in benchmarks.items() if name != "version"}
    assert {v for name, v in versions.items() if ".time_" in name} == {common.TIME_VERSION}
    assert {v for name, v in versions.items() if ".time_" not in name} == {common.VERSION}


def test_every_timing_keeps_its_samples_and_reports_the_fastest_process(asv_run):
    """The run records every sample (the suite's statistic is computed from them) and the result files are
    restated: each timing's value is the smallest of its samples, its interval starts there."""
    _, tmp, _ = asv_run
    checked = 0
    for zarr_version, result in result_files(tmp / "results").items():
        columns = result["result_columns"]
        for name, row in result["results"].items():
            if ".time_" not in name:
                continue
            cell = dict(zip(columns, row))
            for value, samples, low in zip(cell["result"], cell.get("samples") or [], cell.get("stats_ci_99_a") or []):
                if value is None or math.isnan(value):
                    continue
                assert samples, f"{name} on zarr {zarr_version}: no samples recorded"
                assert value == pytest.approx(min(samples)) and low == pytest.approx(value)
                checked += 1
    assert checked > 50


def test_the_pinned_allocator_keeps_page_faults_of_a_plane_read_down(asv_run):
    """Pinned, an XY plane of 64³ chunks reuses warm heap memory; a fresh unpinned process maps new pages."""
    _, tmp, _ = asv_run
    for zarr_version, result in result_files(tmp / "results").items():
        values, params = result["results"]["process_state.PageFaults.track_minor_faults_per_read"][:2]
        faults = dict(zip(itertools.product(*params), values))
        pinned = faults[(PHANTOM_128, "'64x64x64'", "2", "'xy'", "'pinned'")]
        default = faults[(PHANTOM_128, "'64x64x64'", "2", "'xy'", "'glibc default'")]
        assert pinned < default, f"zarr {zarr_version}: {pinned} faults per read pinned, {default} unpinned"


def test_the_realistic_tier_ran_on_its_own_volume_with_provenance(asv_run):
    from tests.asv_helpers import REALISTIC_SHAPE
    from zarr_cryoet.data import provenance

    _, tmp, _ = asv_run
    label = f"phantom {REALISTIC_SHAPE} float32"
    for zarr_version, result in result_files(tmp / "results").items():
        assert result["results"]["realistic.Write.time_write"][1][0] == [repr(label)]
    recorded = provenance.lookup(tmp / "results", label)
    assert recorded is not None and recorded["shape"] == [int(n) for n in REALISTIC_SHAPE.split("x")]


def test_every_benchmark_has_time_for_512_cubed(asv_run):
    """asv's 60 s default per parameter combination fails 16³-chunk writes at 512³; asv must see the longer limit."""
    from benchmarks import common

    _, tmp, _ = asv_run
    benchmarks = json.loads((tmp / "results" / "benchmarks.json").read_text())
    timeouts = {name: b["timeout"] for name, b in benchmarks.items() if name != "version"}
    assert timeouts and all(t == common.BENCHMARK_TIMEOUT for t in timeouts.values()), timeouts


def test_file_counts_follow_the_gallery(asv_run):
    _, tmp, _ = asv_run
    for zarr_version, result in result_files(tmp / "results").items():
        values, (data, chunks, formats) = result["results"]["chunking.Storage.track_file_count"][:2]
        assert data == ["'phantom 128³ float32'"]  # the data identity is a parameter
        counts = dict(zip([(c.strip("'"), int(f)) for c in chunks for f in formats], values))
        extra = 1 if zarr_version.startswith("2.") else 2  # .zarray (+ .zattrs on zarr 3)
        assert counts[("16x16x16", 2)] == 512 + extra
        assert counts[("128x128x128", 2)] == 1 + extra
        if not zarr_version.startswith("2."):
            assert counts[("64x64x64", 3)] == 8 + 1  # zarr.json


def test_each_environment_has_the_zarr_it_claims(asv_run):
    conf, _, _ = asv_run
    seen = set()
    for info in Path(conf["env_dir"]).glob("*/asv-env-info.json"):
        wanted = json.loads(info.read_text())["requirements"]["zarr"]
        python = info.parent / "bin" / "python"
        installed = subprocess.run([str(python), "-c", "import zarr; print(zarr.__version__)"],
                                   capture_output=True, text=True).stdout.strip()
        assert installed == wanted, f"{info.parent.name}: asked for zarr {wanted}, got {installed}"
        seen.add(wanted)
    assert expected_envs() <= seen


def test_publish_writes_the_dashboard(asv_run):
    _, tmp, out = asv_run
    assert out["publish"].returncode == 0, out["publish"].stderr
    assert (tmp / "html" / "index.html").is_file()
    graphs = list((tmp / "html" / "graphs").rglob("compression.Read.time_read.json"))
    assert len(graphs) >= len(expected_envs())


def test_the_report_of_the_whole_suite_has_access_patterns_and_the_limit(asv_run, tmp_path):
    import csv

    from zarr_cryoet import cli

    from zarr_cryoet import report

    _, tmp, _ = asv_run
    assert cli.main(["report", "--results", str(tmp / "results"), "--machine", MACHINE, "--out", str(tmp_path)]) == 0
    with open(tmp_path / report.ACCESS_CSV, newline="") as f:
        rows = list(csv.DictReader(f))
    by_cell = {(r["zarr_version"], r["zarr_format"], r["chunks"], r["pattern"]): r for r in rows}
    for version in expected_envs():
        xy = by_cell[(version, "2", "64x64x64", "xy")]
        assert int(float(xy["get_requests"])) == 4 * 4  # 4 planes, each crossing 2 x 2 chunks of 64³
        assert int(xy["bytes_selected"]) == 4 * 128 * 128 * 4
        assert float(xy["read_x_raw"]) > 0
        assert float(xy["remote_20ms_read_ms"]) > 0  # access.RemoteRead: over HTTP, +20 ms per request
    assert (tmp_path / report.ACCESS_PNG).is_file()
    with open(tmp_path / report.COMPRESSION_CSV, newline="") as f:
        assert all(float(r["read_x_raw"]) > 0 for r in csv.DictReader(f) if r["read_ms"])


PHANTOM_128 = "'phantom 128³ float32'"


def compression_ratios(results_dir) -> dict[str, dict[tuple, float]]:
    """zarr version -> {(benchmark, *parameter reprs): value} of every ``track_compression_ratio`` of the run."""
    ratios = {}
    for zarr_version, result in result_files(results_dir).items():
        ratios[zarr_version] = {
            (name, *combo): value
            for name, row in result["results"].items() if name.endswith(".track_compression_ratio")
            for combo, value in zip(itertools.product(*row[1]), row[0])}
    return ratios


def test_blosc_zstd_compresses_the_128_phantom_1_167_times_on_every_zarr(asv_run):
    _, tmp, _ = asv_run
    ratios = compression_ratios(tmp / "results")
    assert set(ratios) == expected_envs()
    for zarr_version, values in ratios.items():
        key = ("compression.Storage.track_compression_ratio", PHANTOM_128, "'blosc-zstd'", "2")
        assert key in values, f"zarr {zarr_version}: no result for {key} (data {PHANTOM_128}?)"
        assert values[key] == pytest.approx(1.167, abs=0.002), f"zarr {zarr_version}: {values[key]}"


VOLUME_BYTES = 128 ** 3 * 4  # the tests' asv run: the 128³ float32 phantom
METADATA_SLACK = 256  # bytes: zarr 2 and zarr 3 write format-2 metadata a few dozen bytes apart


def test_compression_ratios_do_not_depend_on_the_zarr_release(asv_run):
    """Same codec, chunks and format: the same ratio on every zarr (format 3: every zarr 3).

    Within a release series the ratios are identical. zarr 2 and zarr 3 write format-2 metadata
    differently (zarr 3 adds a .zattrs; .zarray differs by a few bytes: 66 of 7.2 MB in
    tests/data/asv-results), and the ratio counts every byte on disk, so across series the stores agree
    to :data:`METADATA_SLACK` bytes (66-80 bytes measured, of 7 MB and of the 262 KB of a 32x lossy
    store alike), while the chunk bytes themselves would differ by far more.
    """
    _, tmp, _ = asv_run
    benchmarks = json.loads((tmp / "results" / "benchmarks.json").read_text())
    ratios = compression_ratios(tmp / "results")
    compared = 0
    for key in sorted(set().union(*ratios.values())):
        zarr_format = dict(zip(benchmarks[key[0]]["param_names"], key[1:])).get("zarr_format", "2")
        versions = sorted(v for v in ratios if zarr_format == "2" or not v.startswith("2."))
        measured = {v: ratios[v][key] for v in versions
                    if ratios[v].get(key) is not None and not math.isnan(ratios[v][key])}
        if not measured:
            continue  # not in the tests' selection, or skipped everywhere (e.g. sharded format 2)
        assert sorted(measured) == versions, f"{key}: measured on zarr {sorted(measured)} only, not {versions}"
        if key[0] == "lossy.Storage.track_compression_ratio" and zarr_format == "3" \
                and ("'float16'" in key or "'scaleoffset-int16'" in key):
            # a real difference (docs/lossy.md): zarr 3.1.6 gives Blosc the array's 4-byte typesize after a
            # filter that makes the data 2-byte, so its shuffle groups the wrong bytes; zarr 3.4.2 gives 2
            assert measured["3.1.6"] < measured["3.4.2"] * 0.97, f"{key}: {measured}"
            continue
        for series in {v.split(".")[0] for v in measured}:
            same_series = {v: r for v, r in measured.items() if v.split(".")[0] == series}
            assert len(set(same_series.values())) == 1, f"{key}: differs between zarr {series}.x: {same_series}"
        reference = measured[versions[-1]]
        stored = {v: VOLUME_BYTES / r for v, r in measured.items()}  # bytes on disk, from the ratio
        assert all(abs(b - VOLUME_BYTES / reference) <= METADATA_SLACK for b in stored.values()), f"{key}: {stored}"
        compared += 1
    assert compared >= 10, f"only {compared} compression ratios were compared"


def test_cold_reads_ran_with_the_store_out_of_the_page_cache_on_every_zarr(asv_run):
    """The drop is checked by mincore in setup: a cold read that ran is one that started cold."""
    _, tmp, _ = asv_run
    for zarr_version, result in result_files(tmp / "results").items():
        cell = dict(zip(result["result_columns"], result["results"]["cold.Read.time_read_full"]))
        params = [[ast.literal_eval(v) for v in vs] for vs in cell["params"]]
        timed = {combo[-1]: value for combo, value in zip(itertools.product(*params), cell["result"])
                 if combo[1:3] == ("64x64x64", 2) and value is not None and not math.isnan(value)}
        assert set(timed) == {"warm", "cold"}, (zarr_version, timed)


def test_reads_from_s3_ran_on_every_zarr_and_were_counted(asv_run):
    """zarr-python over s3fs reads from the loopback S3 endpoint on every zarr, over obstore on zarr 3; the plane
    of 64³ chunks costs 4 GETs of data after opening, counted at the proxy."""
    _, tmp, _ = asv_run
    for zarr_version, result in result_files(tmp / "results").items():
        cell = dict(zip(result["result_columns"], result["results"]["object_storage.Read.time_read_xy"]))
        params = [[ast.literal_eval(v) for v in vs] for vs in cell["params"]]
        timed = {combo[1:3] for combo, value in zip(itertools.product(*params), cell["result"])
                 if value is not None and not math.isnan(value)}
        expected = {("64x64x64", "zarr-python+s3fs")}
        if not zarr_version.startswith("2."):
            expected |= {("64x64x64", "zarr-python+obstore"), ("32x32x32/128x128x128", "zarr-python+obstore"),
                         ("32x32x32/128x128x128", "zarr-python+s3fs")}
        assert timed == expected, (zarr_version, timed)
        cell = dict(zip(result["result_columns"], result["results"]["object_storage.Traffic.track_requests"]))
        params = [[ast.literal_eval(v) for v in vs] for vs in cell["params"]]
        counted = {combo[2]: value for combo, value in zip(itertools.product(*params), cell["result"])
                   if combo[1] == "64x64x64" and combo[3] == "xy" and value is not None and not math.isnan(value)}
        # s3fs asks for each chunk's size (HEAD) before it GETs it; obstore only GETs
        assert counted.get("zarr-python+s3fs") == 8 and counted.get("zarr-python+obstore", 4) == 4, counted
