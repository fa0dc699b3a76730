"""The real thing: asv check, asv run --quick and asv publish over the whole zarr matrix.

Runs the committed HEAD of this repository (asv benchmarks commits, not the
working tree) into a temporary results directory, sharing the environments in
.asv/env with ``python3 tasks.py benchmark``.
"""

import itertools
import json
import math
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
    assert out["run"].returncode == 0, out["run"].stdout[-3000:] + out["run"].stderr[-3000:]
    assert "failed" not in out["run"].stdout.lower()


def result_files(results_dir):
    return {json.loads(p.read_text())["params"]["zarr"]: json.loads(p.read_text())
            for p in (results_dir / MACHINE).glob("*-virtualenv-*.json")}


def should_skip(zarr_version: str, params: dict) -> bool:
    """Where a NaN (skipped) is the right result on the 128³ phantom; everywhere else a number."""
    zarr_format = int(params.get("zarr_format", 2))
    chunks = str(params.get("chunks", "")).strip("'")
    sharded = "/" in chunks
    too_big = sharded and max(int(n) for n in chunks.split("/")[1].split("x")) > 128
    return (zarr_version.startswith("2.") and zarr_format == 3) or (sharded and zarr_format == 2) or too_big


def test_every_zarr_version_has_results_for_every_benchmark(asv_run):
    _, tmp, _ = asv_run
    results = result_files(tmp / "results")
    assert set(results) == expected_envs()
    benchmarks = json.loads((tmp / "results" / "benchmarks.json").read_text())
    names = {name for name in benchmarks if name != "version" and not name.startswith("codec_sweep.")}
    assert {"compression.Write.time_write", "compression.Read.time_read",
            "compression.Storage.track_compression_ratio", "compression.Storage.track_stored_bytes",
            "chunking.Write.time_write", "chunking.Read.time_read_full", "chunking.Read.time_read_slice_xy",
            "chunking.Read.time_read_slice_xz", "chunking.Read.time_read_slice_yz",
            "chunking.Read.time_read_particle_boxes", "chunking.Storage.track_file_count",
            "chunking.Storage.track_compression_ratio", "access.Read.time_read", "access.Requests.track_get_requests",
            "access.Requests.track_bytes_fetched", "access.RemoteRead.time_read", "limits.RawIO.time_write_file", "limits.RawIO.time_read_file",
            "limits.RawIO.time_memory_copy"} <= names
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
                if should_skip(zarr_version, dict(zip(param_names, combo))):
                    assert math.isnan(value), f"{where} should be skipped"
                else:
                    assert not math.isnan(value) and value > 0, where


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
        assert float(xy["remote_20ms_read_s"]) > 0  # access.RemoteRead: over HTTP, +20 ms per request
    assert (tmp_path / report.ACCESS_PNG).is_file()
    with open(tmp_path / report.COMPRESSION_CSV, newline="") as f:
        assert all(float(r["read_x_raw"]) > 0 for r in csv.DictReader(f) if r["read_s"])
