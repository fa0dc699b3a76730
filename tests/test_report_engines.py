"""zarr-cryoet report's engine tables and figure, from a recorded run of the engine benchmarks.

tests/data/asv-results-engines holds asv's results of ``python3 tasks.py benchmark --bench
'^(engines|limits)\\.'`` (machine ``vm``), tests/data/provenance the engine records that run
wrote. The expected values are read here straight from asv's JSON files.
"""

import math
from pathlib import Path

import pytest
from matplotlib.colors import to_hex

from tests.test_report import missing, raw_results, read_csv
from zarr_cryoet import report
from zarr_cryoet.report import engines as engine_report
from zarr_cryoet.report import style
from zarr_cryoet.asv.results import ReportResults

RESULTS = Path(__file__).parent / "data" / "asv-results-engines"
RAW, _ = raw_results(RESULTS)
ENGINES = ["zarr-python", "zarrs", "tensorstore"]


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    warnings = []
    report.report(RESULTS, out, machine="vm", warn=warnings.append)
    return out, warnings


def test_the_comparison_csv_is_asv_json_with_ratios_to_the_fastest_and_the_limit(written):
    out, _ = written
    rows = read_csv(out / engine_report.COMPARISON_CSV)
    assert rows and {r["engine"] for r in rows} == set(ENGINES)
    benchmark = {"write": "engines.Write.time_write", "full": "engines.Read.time_read_full",
                 "xy": "engines.Read.time_read_slice_xy", "xz": "engines.Read.time_read_slice_xz",
                 "yz": "engines.Read.time_read_slice_yz", "box32": "engines.Read.time_read_particle_boxes"}
    cells = {}
    for row in rows:
        raw = RAW[(row["zarr_version"], benchmark[row["operation"]],
                   (row["data"], row["chunks"], int(row["zarr_format"]), row["engine"]))]
        assert float(row["time_ms"]) == pytest.approx(raw * 1000)
        assert row["x_raw"] and float(row["x_raw"]) > 0
        cells.setdefault((row["zarr_version"], row["chunks"], row["zarr_format"], row["operation"]), []).append(row)
    for cell in cells.values():
        assert min(float(r["x_fastest"]) for r in cell) == 1.0
        assert sum(r["fastest"] == "True" for r in cell) == 1
    # zarr 2.18.7 has zarr-python only; the zarr 3 environments have all three engines
    assert {r["engine"] for r in rows if r["zarr_version"] == "2.18.7"} == {"zarr-python"}
    assert {r["engine"] for r in rows if r["zarr_version"] != "2.18.7"} == set(ENGINES)


def test_peak_memory_and_requests_are_in_the_comparison(written):
    out, _ = written
    rows = read_csv(out / engine_report.COMPARISON_CSV)
    full = [r for r in rows if r["operation"] == "full"]
    assert all(float(r["peak_full_read_mb"]) >= float(r["peak_open_mb"]) > 0 for r in full)
    remote = [r for r in rows if r["operation"] == "xy" and r["get_requests"]]
    assert remote and all(int(float(r["get_requests"])) > 0 for r in remote)
    assert not any(r["get_requests"] for r in rows if r["engine"] == "zarrs")  # skipped over HTTP (deadlock)


def test_the_interop_table_says_bit_exact_or_why_not(written):
    out, _ = written
    rows = read_csv(out / engine_report.INTEROP_CSV)
    zarr3 = [r for r in rows if r["zarr_version"] != "2.18.7"]
    assert zarr3 and all(r["status"] == "bit-exact" and r["mismatched_voxels"] == "0" for r in zarr3)
    assert {(r["writer"], r["reader"]) for r in zarr3} == {(w, r) for w in ENGINES for r in ENGINES}
    zarr2 = [r for r in rows if r["zarr_version"] == "2.18.7"]
    for row in zarr2:
        if row["writer"] == row["reader"] == "zarr-python" and row["zarr_format"] == "2":
            assert row["status"] == "bit-exact"
        else:  # format 3, or an engine that is not installed with zarr 2: skipped, saying why
            assert row["status"] == "skipped"
            assert "format 3" in row["detail"] or "not installed" in row["detail"], row
    for row in rows:  # every value is asv's
        raw = RAW[(row["zarr_version"], "engines.Interop.track_mismatched_voxels",
                   (row["data"], row["chunks"], int(row["zarr_format"]), row["writer"], row["reader"]))]
        assert (row["mismatched_voxels"] == "") == missing(raw)


def test_the_settings_table_shows_the_pinned_concurrency(written):
    out, _ = written
    rows = read_csv(out / engine_report.SETTINGS_CSV)
    zarr3 = {r["engine"]: r for r in rows if r["zarr_version"] == "3.4.2"}
    assert zarr3["zarrs"]["version"] == "0.2.3" and zarr3["tensorstore"]["version"] == "0.1.86"
    assert all(r["thread_budget"] == "1" for r in rows)  # the suite runs on one core
    assert '"data_copy_concurrency": 1' in zarr3["tensorstore"]["settings"]


def test_the_figure_has_one_colour_per_engine_log_axes_and_no_empty_slot():
    fig = engine_report.build_engine_figure(ReportResults.load(RESULTS, machine="vm"))
    axes = [ax for ax in fig.axes if ax.get_title()]
    assert len(axes) == 6
    for ax in axes:
        assert ax.get_yscale() == "log"
        colours = {}
        for container in ax.containers:
            label = container.get_label()
            colours.setdefault(label, set()).update(to_hex(p.get_facecolor()) for p in container.patches)
        assert {k: v for k, v in colours.items() if v} == {e: {style.ENGINE_COLOURS[e]} for e in ENGINES}
        positions = [p.get_x() + p.get_width() / 2 for c in ax.containers for p in c.patches]
        for tick in ax.get_xticks():  # every layout on the axis has bars
            assert any(abs(x - tick) < 0.5 for x in positions)
        assert all(math.isfinite(p.get_height()) and p.get_height() > 0 for c in ax.containers for p in c.patches)


def test_zarr_pythons_slow_http_reads_come_from_access_where_the_default_grid_leaves_them_out(tmp_path):
    from zarr_cryoet.asv.results import Env

    env = Env("env", "3.4.2", "3.13", "zarr 3.4.2")
    data, cell = "phantom 128³ float32", ("64x64x64", 2)
    values = {("env", "engines.Read.time_read_slice_xy", (data, *cell, engine)): t
              for engine, t in (("zarr-python", 0.005), ("tensorstore", 0.004))}
    values[("env", "engines.RemoteRead.time_read", (data, *cell, "xy", "tensorstore", 20))] = 0.12
    values[("env", "access.RemoteRead.time_read", (data, *cell, "xy", 20))] = 0.13
    names = {"engines.Read.time_read_slice_xy": ["data", "chunks", "zarr_format", "engine"],
             "engines.RemoteRead.time_read": ["data", "chunks", "zarr_format", "pattern", "engine", "latency_ms"],
             "access.RemoteRead.time_read": ["data", "chunks", "zarr_format", "pattern", "latency_ms"]}
    results = ReportResults(tmp_path, "m", "c" * 40, None, [env], values, {}, {}, names, {k: "seconds" for k in names})
    rows = {r["engine"]: r for r in engine_report.comparison_rows(results)}
    assert rows["tensorstore"]["remote_20ms_ms"] == pytest.approx(120)
    assert rows["tensorstore"]["remote_20ms_from"] == "engines"
    assert rows["zarr-python"]["remote_20ms_ms"] == pytest.approx(130)
    assert rows["zarr-python"]["remote_20ms_from"] == "access"


def _processes(value, spread, n=5):
    """``n`` per-process minima from ``value`` (the fastest) up to ``value × spread``, evenly."""
    return tuple(value * (1 + (spread - 1) * i / (n - 1)) for i in range(n))


def test_the_answer_says_where_zarrs_fused_pipeline_pays_by_the_comparison_rule(tmp_path):
    from zarr_cryoet.answer.notes import fused_pays
    from zarr_cryoet.asv.results import Env
    from zarr_cryoet.stats.estimate import Estimate

    env = Env("env", "3.4.2", "3.13", "zarr 3.4.2")
    data = "phantom 128³ float32"
    # 16³: the fused pipeline's five processes all faster than the default's; 64³: the two interleave
    minima = {("16x16x16", "zarr-python"): _processes(0.170, 1.06),
              ("16x16x16", "zarr-python-fused"): _processes(0.073, 1.1),
              ("64x64x64", "zarr-python"): (0.012, 0.0135, 0.0122, 0.0125, 0.0128),
              ("64x64x64", "zarr-python-fused"): (0.011, 0.0124, 0.0131, 0.0118, 0.0127)}
    values, estimates = {}, {}
    for (chunks, engine), found in minima.items():
        for benchmark in ("engines.Read.time_read_full", "engines.Read.time_read_slice_xy"):
            key = ("env", benchmark, (data, chunks, 2, engine))
            values[key], estimates[key] = min(found), Estimate(min(found), found, 10)
    names = {b: ["data", "chunks", "zarr_format", "engine"]
             for b in ("engines.Read.time_read_full", "engines.Read.time_read_slice_xy")}
    results = ReportResults(tmp_path, "m", "c" * 40, None, [env], values, {}, estimates, names, {k: "s" for k in names})
    line = fused_pays(results, env, data)
    assert "16³ v2: full read 0.43× (q = " in line and "64³ v2: full read 0.92× ~ (q = " in line
    assert "it pays on 16³ v2" in line and "64³ v2" in line.partition(" — ")[2]
    assert "±" not in line and line.endswith("zarr 3.4.2, phantom 128³ float32, one core.")
    # a run without the fused engine (zarr < 3.3 only, or an older run) says nothing
    del names["engines.Read.time_read_slice_xy"]
    without = ReportResults(tmp_path, "m", "c" * 40, None, [env],
                            {k: v for k, v in values.items() if k[2][3] == "zarr-python" and k[1] in names},
                            {}, {}, names, {k: "s" for k in names})
    assert fused_pays(without, env, data) == ""


def test_warm_and_cold_sit_side_by_side_with_the_storage_cost_and_their_comparison(tmp_path):
    from zarr_cryoet.answer.notes import cold_cache
    from zarr_cryoet.report.cache_state import cold_rows, table_rows
    from zarr_cryoet.asv.results import Env
    from zarr_cryoet.stats.compare import Comparison
    from zarr_cryoet.stats.estimate import Estimate

    env = Env("env", "3.4.2", "3.13", "zarr 3.4.2")
    data = "phantom 128³ float32"
    values, estimates = {}, {}
    for cache, found in {"warm": _processes(0.100, 1.1), "cold": _processes(0.140, 1.07)}.items():
        for benchmark in ("cold.Read.time_read_full", "cold.Read.time_read_slice_xy"):
            key = ("env", benchmark, (data, "16x16x16", 2, cache))
            values[key], estimates[key] = found[0], Estimate(found[0], found, 10)
    names = {b: ["data", "chunks", "zarr_format", "cache"]
             for b in ("cold.Read.time_read_full", "cold.Read.time_read_slice_xy")}
    results = ReportResults(tmp_path, "m", "c" * 40, None, [env], values, {}, estimates, names, {k: "s" for k in names})
    full, xy = cold_rows(results)
    assert full["read"] == "full" and full["cold_ms"] == pytest.approx(140) and full["warm_ms"] == pytest.approx(100)
    assert full["storage_ms"] == pytest.approx(40) and full["cold_over_warm"] == pytest.approx(1.4)
    assert (full["warm_low_ms"], full["warm_high_ms"], full["warm_processes"]) == (pytest.approx(100),
                                                                                    pytest.approx(110), 5)
    # five processes a side, every cold one slower: p = 2 / C(10, 5); both reads of the release adjusted together
    assert full["p_value"] == pytest.approx(2 / 252) and full["q_value"] == pytest.approx(2 / 252)
    assert full["processes"] == "5 v 5" and full["change"] == "slower" and xy["change"] == "slower"
    assert isinstance(full["comparison"], Comparison) and full["comparison"].q == full["q_value"]
    assert [set(row) for row in table_rows(results)] == [set(full) - {"comparison"}] * 2  # the CSV: no object
    [line] = cold_cache(results, env)
    assert "16³ v2 140.0 ms against 100.0 ms warm (1.40× (q = 0.008, 5 v 5))" in line
    assert "±" not in line and line.endswith("this VM's disk.")
