"""zarr-cryoet report: CSVs and figures from a recorded asv results directory (tests/data/asv-results).

The expected numbers are read here straight from asv's JSON files, independently of
zarr_cryoet.report's loader (which uses asv's own code).
"""

import ast
import csv
import io
import itertools
import json
import math
import shutil
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
from matplotlib.container import BarContainer
from matplotlib.colors import to_hex
from matplotlib.image import imread

from zarr_cryoet import cli
from zarr_cryoet.store.stores import chunk_label
from zarr_cryoet.report.tables import pattern_label
from zarr_cryoet.data.provenance import provenance_dir, record

from zarr_cryoet import report

from zarr_cryoet.report import style

# no zarr in these tests (recorded asv results and statistics only): run under the newest zarr alone
pytestmark = pytest.mark.once

RESULTS = Path(__file__).parent / "data" / "asv-results"
#: the recorded shape and dtype of the data of every recording here (the results directories' sibling)
PROVENANCE = Path(__file__).parent / "data" / "provenance"
COMMIT = "9cdc5d2708dc38a9697fa1abf42760bdad74ec22"
VERSIONS = ["2.18.7", "3.1.6", "3.4.2"]
CODECS = ["none", "blosc-zstd", "blosc-lz4", "zstd", "gzip"]
CHUNKS = ["16x16x16", "32x32x32", "64x64x64", "128x128x128", "16x128x128"]
DATA = "phantom 128³ float32"


# --- asv's JSON, read directly ------------------------------------------------------


def raw_results(results_dir=RESULTS, machine="vm"):
    """{(zarr version, benchmark, params tuple): value} and {zarr version: python} from the JSON files."""
    values, pythons = {}, {}
    for path in sorted((results_dir / machine).glob("*.json")):
        if path.name == "machine.json":
            continue
        doc = json.loads(path.read_text())
        version = doc["params"]["zarr"]
        pythons[version] = doc["params"]["python"]
        result_col, params_col = doc["result_columns"].index("result"), doc["result_columns"].index("params")
        for bench, columns in doc["results"].items():
            params = [[ast.literal_eval(v) for v in vs] for vs in columns[params_col]]
            for combo, value in zip(itertools.product(*params), columns[result_col]):
                values[(version, bench, combo)] = value
    return values, pythons


RAW, PYTHONS = raw_results()


def missing(value):
    return value is None or (isinstance(value, float) and math.isnan(value))


def assert_cell(cell, raw, convert=lambda v: v):
    if missing(raw):
        assert cell == ""
    else:
        assert float(cell) == convert(raw)


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


# --- fixtures -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def results():
    return report.ReportResults.load(RESULTS)


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """``zarr-cryoet report`` run once on the fixture: (out dir, exit status, stdout, stderr)."""
    out = tmp_path_factory.mktemp("report")
    stdout, stderr = io.StringIO(), io.StringIO()
    with redirect_stdout(stdout), redirect_stderr(stderr):
        status = cli.main(["report", "--results", str(RESULTS), "--out", str(out), "--machine", "vm",
                           "--commit", "9cdc5d27", "--dpi", str(style.DPI_WEB)])
    return out, status, stdout.getvalue(), stderr.getvalue()


def expected_paths(out):
    # the fixture's machine is "vm", which has a noise profile in recorded/noise: the detectable-change table
    return [out / p for p in (report.COMPRESSION_CSV, report.COMPRESSION_PNG, report.CHUNKING_CSV,
                              report.CHUNKING_PNG, report.DETECTABLE_CSV, report.VERSION_CSV, report.VERSION_PNG)]


@pytest.fixture
def results_copy(tmp_path):
    target = tmp_path / "results"
    shutil.copytree(RESULTS, target)
    shutil.copytree(PROVENANCE, tmp_path / "provenance")
    return target


# --- loading ------------------------------------------------------------------------


def test_loader_picks_the_machine_commit_and_every_environment(results):
    assert results.machine == "vm"
    assert results.commit == COMMIT
    assert [env.zarr_version for env in results.envs] == VERSIONS
    assert results.newest.zarr_version == "3.4.2"
    assert [env.python for env in results.envs] == [PYTHONS[v] for v in VERSIONS]
    assert results.choices("compression", "codec") == CODECS
    assert results.choices("chunking", "chunks") == CHUNKS
    assert results.choices("chunking", "zarr_format") == [2, 3]
    assert results.failed() == []


def test_commit_prefix_selects_the_commit(results_copy):
    assert report.ReportResults.load(results_copy, commit="9cdc").commit == COMMIT
    assert report.ReportResults.load(results_copy, machine="vm", commit=COMMIT.upper()).commit == COMMIT


def test_latest_commit_by_date_is_the_default(results_copy):
    # A second, later commit with one environment: it becomes the default.
    src = results_copy / "vm" / "9cdc5d27-virtualenv-py3.13-zarr3.4.2.json"
    doc = json.loads(src.read_text())
    doc["commit_hash"], doc["date"] = "abcdef0123456789" * 2 + "abcdef01", doc["date"] + 1000
    (results_copy / "vm" / "abcdef01-virtualenv-py3.13-zarr3.4.2.json").write_text(json.dumps(doc))
    latest = report.ReportResults.load(results_copy)
    assert latest.short_commit == "abcdef01" and [e.zarr_version for e in latest.envs] == ["3.4.2"]
    assert [e.zarr_version for e in report.ReportResults.load(results_copy, commit="9cd").envs] == VERSIONS


# --- CSVs ---------------------------------------------------------------------------


def test_cli_report_succeeds_and_prints_the_written_paths(written):
    out, status, stdout, stderr = written
    assert status == 0 and stderr == ""
    paths, _, summary = stdout.partition("\n\n")  # the written paths, then the recommend table
    assert paths.splitlines() == [str(p) for p in expected_paths(out)]
    assert "| use case | best | runner-up | worst | holds for |" in summary
    assert "* Lossless codec: **blosc-zstd**" in summary  # the same summary as zarr-cryoet recommend
    assert all(p.is_file() for p in expected_paths(out))
    assert sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file()) == sorted(
        p.relative_to(out) for p in expected_paths(out))


def test_every_time_gets_its_interval_and_the_smallest_change_the_noise_profile_can_detect(written):
    rows = read_csv(written[0] / report.DETECTABLE_CSV)
    assert rows and {"benchmark", "parameters", "value_ms", "value_low_ms", "value_high_ms", "value_processes",
                     "detectable_change_pct", "too_noisy_to_alarm", "noise_profile_runs"} <= set(rows[0])
    assert all(r["benchmark"].split(".")[-1].startswith("time_") for r in rows)
    assert all(float(r["value_ms"]) > 0 for r in rows)
    # a --quick run records no samples: every time is one process, its interval the value itself
    assert all(r["value_processes"] == "1" and r["value_low_ms"] == r["value_ms"] == r["value_high_ms"] for r in rows)
    assert any(r["detectable_change_pct"] != "" for r in rows)
    assert all(r["too_noisy_to_alarm"] == str(float(r["detectable_change_pct"]) > 50)
               for r in rows if r["detectable_change_pct"] != "")


def test_compression_csv_equals_asv_json(written):
    rows = read_csv(written[0] / report.COMPRESSION_CSV)
    assert len(rows) == len(VERSIONS) * 2 * len(CODECS)
    seen = set()
    for row in rows:
        version, fmt, codec = row["zarr_version"], int(row["zarr_format"]), row["codec"]
        seen.add((version, fmt, codec))
        key = (DATA, codec, fmt)
        assert row["data"] == DATA and row["python"] == PYTHONS[version]
        assert row["commit"] == COMMIT and row["machine"] == "vm"
        assert row["method"] == {"none": "No compression", "blosc-zstd": "Blosc-Zstd", "blosc-lz4": "Blosc-LZ4",
                                 "zstd": "Zstd", "gzip": "Gzip"}[codec]
        assert_cell(row["write_ms"], RAW[(version, "compression.Write.time_write", key)], lambda v: v * 1000)
        assert_cell(row["read_ms"], RAW[(version, "compression.Read.time_read", key)], lambda v: v * 1000)
        ratio = RAW[(version, "compression.Storage.track_compression_ratio", key)]
        stored = RAW[(version, "compression.Storage.track_stored_bytes", key)]
        assert_cell(row["compression_ratio"], ratio)
        assert_cell(row["stored_bytes"], stored)
        assert_cell(row["size_mb"], stored, lambda b: b / 1e6)
        assert_cell(row["savings_pct"], ratio, lambda r: (1 - 1 / r) * 100)
        if version == "2.18.7" and fmt == 3:  # skipped: format 3 does not exist on zarr 2
            assert all(row[c] == "" for c in ("write_ms", "read_ms", "compression_ratio", "size_mb", "savings_pct"))
        else:
            assert all(row[c] != "" for c in ("write_ms", "read_ms", "compression_ratio", "size_mb", "savings_pct"))
    assert len(seen) == len(rows)


def test_compression_csv_gallery_numbers(written):
    rows = {(r["zarr_version"], r["zarr_format"], r["codec"]): r
            for r in read_csv(written[0] / report.COMPRESSION_CSV)}
    zstd = rows[("3.4.2", "2", "blosc-zstd")]
    assert float(zstd["compression_ratio"]) == pytest.approx(1.167, abs=1e-3)
    assert float(zstd["savings_pct"]) == pytest.approx(14.3, abs=0.05)
    assert float(zstd["size_mb"]) == 7.188567


def test_chunking_csv_equals_asv_json(written):
    rows = read_csv(written[0] / report.CHUNKING_CSV)
    assert len(rows) == len(VERSIONS) * 2 * len(CHUNKS)
    columns = {"files": ("chunking.Storage.track_file_count", 1), "write_ms": ("chunking.Write.time_write", 1000),
               "full_read_ms": ("chunking.Read.time_read_full", 1000),
               "slice_xy_ms": ("chunking.Read.time_read_slice_xy", 1000),
               "slice_xz_ms": ("chunking.Read.time_read_slice_xz", 1000),
               "slice_yz_ms": ("chunking.Read.time_read_slice_yz", 1000),
               "compression_ratio": ("chunking.Storage.track_compression_ratio", 1)}
    for row in rows:
        version, fmt = row["zarr_version"], int(row["zarr_format"])
        assert row["data"] == DATA and row["python"] == PYTHONS[version] and row["commit"] == COMMIT
        for column, (bench, factor) in columns.items():
            assert_cell(row[column], RAW[(version, bench, (DATA, row["chunks"], fmt))], lambda v: v * factor)
        skipped = version == "2.18.7" and fmt == 3
        assert all((row[c] == "") == skipped for c in columns)
    files = {(r["zarr_version"], r["zarr_format"], r["chunks"]): r["files"] for r in rows}
    assert files[("2.18.7", "2", "16x16x16")] == "513"  # the gallery's 513 files
    assert files[("2.18.7", "2", "128x128x128")] == "2"


def test_version_csv_is_every_asv_value(written):
    rows = read_csv(written[0] / report.VERSION_CSV)
    assert len(rows) == len(RAW)
    for row in rows:
        param = row["codec"] or row["chunks"]
        raw = RAW[(row["zarr_version"], row["benchmark"], (row["data"], param, int(row["zarr_format"])))]
        assert_cell(row["value"], raw)
        assert row["status"] == ("skipped" if missing(raw) else "ok")
        assert row["python"] == PYTHONS[row["zarr_version"]] and row["commit"] == COMMIT
        assert row["machine"] == "vm" and row["data"] == DATA
    units = {r["benchmark"]: r["unit"] for r in rows}
    assert units["compression.Write.time_write"] == "s"
    assert units["compression.Storage.track_stored_bytes"] == "bytes"
    assert units["chunking.Storage.track_file_count"] == "files"
    assert {r["metric"] for r in rows if r["benchmark"].startswith("chunking.Read")} == {
        "read_full", "read_slice_xy", "read_slice_xz", "read_slice_yz"}


def test_failed_benchmark_is_empty_and_warned(results_copy, tmp_path, capsys):
    path = results_copy / "vm" / "9cdc5d27-virtualenv-py3.13-zarr3.4.2.json"
    doc = json.loads(path.read_text())
    doc["results"]["compression.Read.time_read"][0][2] = None  # blosc-zstd, format 2 failed
    path.write_text(json.dumps(doc))
    assert cli.main(["report", "--results", str(results_copy), "--out", str(tmp_path / "out")]) == 0
    captured = capsys.readouterr()
    warning = [line for line in captured.err.splitlines() if "warning" in line]
    assert len(warning) == 1 and "compression.Read.time_read(codec=blosc-zstd, zarr_format=2) on zarr 3.4.2" \
        in warning[0]
    rows = read_csv(tmp_path / "out" / report.COMPRESSION_CSV)
    row = next(r for r in rows if (r["zarr_version"], r["zarr_format"], r["codec"]) == ("3.4.2", "2", "blosc-zstd"))
    assert row["read_ms"] == "" and row["write_ms"] != ""
    long = read_csv(tmp_path / "out" / report.VERSION_CSV)
    assert [r["status"] for r in long if r["value"] == "" and r["zarr_version"] == "3.4.2"] == ["failed"]


# --- figures ------------------------------------------------------------------------


@pytest.mark.parametrize("dpi", [style.DPI_WEB, style.DPI_PRINT])
def test_figure_pixel_size_is_figsize_times_dpi(written, tmp_path, dpi):
    if dpi == style.DPI_WEB:
        paths = expected_paths(written[0])
    else:
        paths = report.report(RESULTS, tmp_path, dpi=dpi)
        assert paths == expected_paths(tmp_path)
    pngs = [p for p in paths if p.suffix == ".png"]
    assert [p.name for p in pngs] == [name for name in report.FIGSIZES if name != report.ACCESS_PNG.name]  # no access
    for path in pngs:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        height, width = imread(path).shape[:2]
        w_in, h_in = report.FIGSIZES[path.name]
        assert (width, height) == (round(w_in * dpi), round(h_in * dpi)), path.name


def bar_count(ax):
    return sum(len(c) for c in ax.containers if isinstance(c, BarContainer))


def titles(fig):
    return [ax.get_title() for ax in fig.axes]


def test_compression_figure(results):
    fig = report.build_compression_figure(results)
    assert [t.removesuffix(" (log scale)") for t in titles(fig)] == [
        "Write time", "Read time", "Compression ratio (higher is better; axis from 1×: no gain)",
        "Storage size (lower is better)"]
    footer = next(t.get_text() for t in fig.texts if t.get_gid() == "run-label")
    assert "zarr format 2" in fig.get_suptitle() and "zarr 3.4.2" in footer and DATA in footer
    assert style.unlabelled_axes(fig) == []
    for ax in fig.axes:
        assert bar_count(ax) == len(CODECS)
        assert [t.get_text() for t in ax.get_xticklabels()] == ["No compression", "Blosc-Zstd", "Blosc-LZ4",
                                                                "Zstd", "Gzip"]
        bars = next(c for c in ax.containers if isinstance(c, BarContainer))
        assert [to_hex(p.get_facecolor()) for p in bars] == [
            style.codec_colour(c).lower() for c in CODECS]
    write_ax, _, _, size_ax = fig.axes
    heights = [p.get_height() for p in write_ax.patches]
    key = lambda c: ("3.4.2", "compression.Write.time_write", (DATA, c, 2))  # noqa: E731
    assert heights == [RAW[key(c)] * 1000 for c in CODECS]  # ms
    assert "(ms)" in write_ax.get_ylabel() and size_ax.get_ylabel() == "Size (MB)"


def test_compression_figure_skipped_cells_are_not_drawn(results):
    zarr2 = results.envs[0]
    fig = report.build_compression_figure(results, env=zarr2, zarr_format=3)  # zarr 2 cannot write format 3
    [ax] = fig.axes  # no panel of n/a marks: one saying there is nothing
    assert bar_count(ax) == 0 and [t.get_text() for t in ax.texts] == ["no results"]


def test_chunking_figure(results):
    """Formats 2 and 3 side by side (format 3 hatched), only what was measured, one colour per layout."""
    fig = report.build_chunking_figure(results)
    assert [t.removesuffix(" (log scale)") for t in titles(fig)] == [
        "Write time", "Read time by operation", "File count", "Compression ratio (axis from 1×: no gain)",
        "Storage size", "Efficiency: XY plane vs file count"]
    assert style.unlabelled_axes(fig) == []
    write_ax, read_ax, files_ax, ratio_ax, size_ax, eff_ax = fig.axes
    cells = [(c, f) for c in CHUNKS for f in (2, 3)]  # zarr 3.4.2 measured every layout on both formats
    for ax in (write_ax, files_ax, ratio_ax, size_ax):
        assert bar_count(ax) == len(cells)  # a bar for every category: no empty slot
        assert [t.get_text() for t in ax.get_xticklabels()] == [f"{chunk_label(c)} v{f}" for c, f in cells]
        patches = [p for container in ax.containers for p in container]
        assert [to_hex(p.get_facecolor()) for p in patches] == [style.layout_colour(c) for c, _ in cells]
        assert [bool(p.get_hatch()) for p in patches] == [f == 3 for _, f in cells]
    assert len(read_ax.collections) == 4 and all(len(c.get_offsets()) == len(cells) for c in read_ax.collections)
    assert files_ax.get_yscale() == "log" and eff_ax.get_xscale() == "log"
    assert [p.get_height() for p in files_ax.patches] == [
        RAW[("3.4.2", "chunking.Storage.track_file_count", (DATA, c, f))] for c, f in cells]
    # storage size = 128³ float32 bytes / ratio
    ratios = [RAW[("3.4.2", "chunking.Storage.track_compression_ratio", (DATA, c, f))] for c, f in cells]
    assert [p.get_height() for p in size_ax.patches] == pytest.approx([128 ** 3 * 4 / r / 1e6 for r in ratios])
    assert len(eff_ax.collections) == len(cells)
    for ax in fig.axes:
        assert style.has_units(ax.get_xlabel()) and style.has_units(ax.get_ylabel())


def test_chunking_figure_of_zarr_2_has_no_format_3_slots(results):
    fig = report.build_chunking_figure(results, env=results.envs[0])
    ticks = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert ticks == [f"{chunk_label(c)} v2" for c in CHUNKS] and bar_count(fig.axes[0]) == len(CHUNKS)


def test_the_raw_limit_is_visible_on_a_log_axis_when_times_span_more_than_20x():
    """The raw-file limit (about 2 ms) under writes of 80–300 ms: on a linear axis it sits on the x axis."""
    results = report.ReportResults.load(LIMITS, machine="vm")
    fig = report.build_chunking_figure(results)
    write_ax = fig.axes[0]
    limit = next(line for line in write_ax.get_lines() if line.get_label().startswith("raw file write"))
    assert write_ax.get_yscale() == "log" and write_ax.get_title() == "Write time (log scale)"
    low, high = write_ax.get_ylim()
    assert low < limit.get_ydata()[0] < high
    ratio_ax = fig.axes[3]
    assert ratio_ax.get_yscale() == "linear"  # 1.14–1.17: no log axis for values that do not spread


def test_chunking_figure_without_volume_size_skips_the_size_panel(tmp_path):
    shutil.copytree(RESULTS, tmp_path / "results")  # without the provenance next to it: no volume size
    fig = report.build_chunking_figure(report.ReportResults.load(tmp_path / "results"))
    size_ax = next(ax for ax in fig.axes if ax.get_title() == "Storage size")
    assert not size_ax.axison and "volume's size" in size_ax.texts[0].get_text()
    assert style.unlabelled_axes(fig) == []


def test_a_figure_of_data_without_results_is_one_panel_saying_so(results):
    fig = report.build_chunking_figure(results, data="zarr:/data/tomo.zarr full@centre float32")
    [ax] = fig.axes
    assert not ax.axison and [t.get_text() for t in ax.texts] == ["no results"]
    assert "none" not in fig.get_suptitle()


RECORDED = Path(__file__).parent.parent / "recorded" / "results"


@pytest.fixture(scope="module")
def recorded():
    """The run shipped with the repository: its times have samples, five processes for a read."""
    return report.ReportResults.load(RECORDED, machine="vm")


def release_time_rows(results):
    """The version CSV's rows of times against an older baseline release."""
    from zarr_cryoet.report import versions

    return [r for r in versions.version_rows(results) if results.units.get(r["benchmark"]) == "s"
            and r["ratio_to_baseline"] != "" and r["zarr_version"] != r["baseline_zarr_version"]]


def drawn_bars(ax):
    """(ratio, face colour, edge colour) of each bar of a version panel (bars start at 1)."""
    return [(round(p.get_y() + p.get_height(), 9), to_hex(p.get_facecolor()), to_hex(p.get_edgecolor()))
            for container in ax.containers if isinstance(container, BarContainer) for p in container]


EDGES = {"slower": style.SLOWER_COLOUR, "faster": style.FASTER_COLOUR, "~": "#333333"}


def test_version_figure(results):
    """Each newer release's time divided by its baseline (2.18.7; the oldest 3.x for format 3), on a log axis
    around 1; only cells that have a ratio. This fixture is a --quick run (one process per time): the comparison
    rule can tell none apart, so no bar is outlined as slower or faster."""
    from zarr_cryoet.report import versions

    fig = report.build_version_figure(results)
    assert style.unlabelled_axes(fig) == []
    panels = [ax for ax in fig.axes if ax.axison]
    assert [ax.get_title() for ax in panels] == [title for title, *_ in versions.VERSION_PANELS]
    colours = style.release_colours(VERSIONS)
    for ax, (_, module, param, bench) in zip(panels, versions.VERSION_PANELS):
        assert ax.get_yscale() == "log" and ax.get_ylabel() == "Time ÷ baseline (ratio)"
        ticks = [t.get_text() for t in ax.get_xticklabels()]
        categories = CODECS if param == "codec" else CHUNKS
        formats = (2, 3)
        expected = [(c, f) for c in categories for f in formats
                    if RAW.get(("3.4.2", bench, (DATA, c, f))) is not None and not missing(RAW[("3.4.2", bench, (DATA, c, f))])]
        assert len(ticks) == len(expected)  # no category without a bar
        drawn = drawn_bars(ax)
        for c, f in expected:
            base_version = "2.18.7" if f == 2 else "3.1.6"
            base = RAW[(base_version, bench, (DATA, c, f))]
            for version in VERSIONS[VERSIONS.index(base_version) + 1:]:
                ratio = RAW[(version, bench, (DATA, c, f))] / base
                assert (round(ratio, 9), colours[version].lower(), "#333333") in drawn, (bench, c, f, version)
        assert len(drawn) == sum(2 if f == 2 else 1 for _, f in expected)
        assert sum(t.endswith("†") for t in ticks) == sum(f == 3 for _, f in expected)  # against 3.1.6
        assert not any(ax.get_lines()[1:]) and not ax.collections  # no whiskers: the outline is the test


def test_every_release_ratio_is_compared_over_the_processes_and_adjusted_across_the_release(recorded):
    """p: the exact two-sided Mann–Whitney test of the two releases' per-process minima; q: Benjamini–Hochberg
    over all the times of one release; slower/faster where q < 0.05, else ~."""
    from scipy.stats import false_discovery_control, mannwhitneyu

    rows = release_time_rows(recorded)
    env = {e.zarr_version: e for e in recorded.envs}
    assert rows and all(isinstance(r["p_value"], float) and 0 < r["p_value"] <= r["q_value"] <= 1 for r in rows)
    for version in {r["zarr_version"] for r in rows}:
        mine = [r for r in rows if r["zarr_version"] == version]
        expected = false_discovery_control([r["p_value"] for r in mine])
        assert [r["q_value"] for r in mine] == pytest.approx(list(expected))
        for r in mine:
            params = {k: r[k] for k in recorded.param_names[r["benchmark"]]}
            new, old = (recorded.estimate(env[v], r["benchmark"], **params) for v in (version,
                                                                                     r["baseline_zarr_version"]))
            assert r["processes"] == f"{old.processes} v {new.processes}"
            assert r["ratio_to_baseline"] == pytest.approx(new.value / old.value)
            if len(set(old.minima) | set(new.minima)) == old.processes + new.processes:  # no ties: the exact test
                assert r["p_value"] == pytest.approx(mannwhitneyu(new.minima, old.minima, method="exact").pvalue)
            told = r["q_value"] < 0.05
            assert r["change"] == ("slower" if r["ratio_to_baseline"] > 1 else "faster") if told else "~", r
    changes = {r["change"] for r in rows}
    assert "slower" in changes and "~" in changes
    # three processes a side (the writes) can never give p < 0.05: always ~
    assert all(r["change"] == "~" for r in rows if r["processes"] == "3 v 3")


def test_the_version_figure_outlines_what_the_csv_calls_slower_or_faster(recorded):
    from zarr_cryoet.report import versions

    rows = release_time_rows(recorded)
    colours = style.release_colours(e.zarr_version for e in recorded.envs)
    fig = report.build_version_figure(recorded)
    panels = [ax for ax in fig.axes if ax.axison]
    for ax, (_, module, param, bench) in zip(panels, versions.VERSION_PANELS):
        expected = {(round(r["ratio_to_baseline"], 9), colours[r["zarr_version"]].lower(), EDGES[r["change"]].lower())
                    for r in rows if r["benchmark"] == bench and r["data"] == DATA}
        drawn = drawn_bars(ax)
        assert expected == set(drawn) and len(drawn) == len(expected), bench
    outlined = sum(1 for ax in panels for _, _, edge in drawn_bars(ax) if edge != "#333333")
    labels = [t.get_text() for ax in panels for t in ax.texts]
    assert outlined and len(labels) == outlined  # each bar told apart carries its ratio


def test_the_version_csv_gives_the_ratio_to_the_baseline_and_both_values(written):
    rows = read_csv(written[0] / report.VERSION_CSV)
    assert {"p_value", "q_value", "processes", "change"} <= set(rows[0]) and "ratio_precision_pct" not in rows[0]
    row = next(r for r in rows if r["benchmark"] == "chunking.Read.time_read_full" and r["chunks"] == "16x16x16"
               and r["zarr_format"] == "2" and r["zarr_version"] == "3.4.2")
    assert row["baseline_zarr_version"] == "2.18.7"
    assert float(row["ratio_to_baseline"]) == float(row["value"]) / float(row["baseline_value"])
    assert float(row["ratio_to_baseline"]) > 4  # yet a --quick run (one process a time) cannot tell it apart
    assert (row["change"], row["p_value"], row["processes"]) == ("~", "1.0", "1 v 1")
    v3 = next(r for r in rows if r["benchmark"] == "chunking.Read.time_read_full" and r["chunks"] == "16x16x16"
              and r["zarr_format"] == "3" and r["zarr_version"] == "3.4.2")
    assert v3["baseline_zarr_version"] == "3.1.6"
    base_rows = [r for r in rows if r["zarr_version"] == r["baseline_zarr_version"]]
    assert base_rows and all(r["change"] == r["p_value"] == r["q_value"] == r["processes"] == ""
                             and float(r["ratio_to_baseline"]) == 1.0 for r in base_rows)
    ratio = next(r for r in rows if r["benchmark"] == "compression.Storage.track_compression_ratio"
                 and r["zarr_version"] == "3.4.2" and r["codec"] == "blosc-zstd" and r["zarr_format"] == "2")
    assert ratio["change"] == ratio["p_value"] == "" and ratio["ratio_to_baseline"] != ""  # not a time


def test_one_colour_per_layout_across_the_figures():
    """The same layout has the same colour in the chunking, access and version figures' neighbours."""
    access = report.ReportResults.load(Path(__file__).parent / "data" / "asv-results-access", machine="scale")
    chunking = report.ReportResults.load(RESULTS, machine="vm")
    colours = {}
    for fig in (report.build_chunking_figure(chunking), report.build_access_figure(access)):
        for ax in fig.axes:
            for container in ax.containers:
                label = container.get_label()
                for patch in container:
                    name = label if label and not label.startswith("_") else None
                    if name:
                        colours.setdefault(name.rsplit(" v", 1)[0], set()).add(to_hex(patch.get_facecolor()))
        ticks = [t.get_text() for t in fig.axes[0].get_xticklabels()]
        for ax in fig.axes[:1]:
            for tick, patch in zip(ticks, [p for c in ax.containers for p in c]):
                colours.setdefault(tick.rsplit(" v", 1)[0], set()).add(to_hex(patch.get_facecolor()))
    layouts = {chunk_label(c): style.layout_colour(c) for c in style.LAYOUT_COLOURS}
    for name, found in colours.items():
        if name in layouts:
            assert found == {layouts[name]}, name
    assert {"64³", "16×128×128"} <= set(colours)


# --- errors -------------------------------------------------------------------------


def one_line(capsys):
    err = capsys.readouterr().err.strip()
    assert err.startswith("zarr-cryoet: error: ") and "\n" not in err and "Traceback" not in err, err
    return err


@pytest.mark.parametrize("case, phrases", [
    ("missing", ["no asv results directory", "python3 tasks.py benchmark"]),
    ("empty", ["no asv results in", "run python3 tasks.py benchmark first"]),
    ("machine", ["no results for machine 'laptop'", "known machines: vm"]),
    ("commit", ["--commit 'deadbeef' matches no commit", "known commits: 9cdc5d27"]),
])
def test_errors_are_one_line(case, phrases, results_copy, tmp_path, capsys):
    args = ["--results", str(results_copy), "--out", str(tmp_path / "out")]
    if case == "missing":
        args[1] = str(tmp_path / "nowhere")
    elif case == "empty":
        shutil.rmtree(results_copy)
        results_copy.mkdir()
        (results_copy / "vm").mkdir()  # a machine directory without result files
    elif case == "machine":
        args += ["--machine", "laptop"]
    elif case == "commit":
        args += ["--commit", "deadbeef"]
    with pytest.raises(report.ReportError) as err:
        report.report(args[1], tmp_path / "out", machine=args[args.index("--machine") + 1] if "--machine" in args
                      else None, commit=args[args.index("--commit") + 1] if "--commit" in args else None)
    assert "\n" not in str(err.value)
    assert cli.main(["report", *args]) == 2
    message = one_line(capsys)
    for phrase in phrases:
        assert phrase in message
    assert not (tmp_path / "out").exists()  # nothing written


def test_without_asv_the_error_says_how_to_install_it(monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "asv", None)
    monkeypatch.setitem(sys.modules, "asv.results", None)
    assert cli.main(["report", "--results", str(RESULTS), "--out", str(tmp_path)]) == 2
    assert "install asv (pip install asv)" in one_line(capsys)


# --- the raw-I/O limit (a recording with limits.RawIO and sharded layouts) --------------------

LIMITS = Path(__file__).parent / "data" / "asv-results-limits"


def test_every_time_is_put_next_to_the_raw_limit(tmp_path):
    raw, _ = raw_results(LIMITS)
    out = tmp_path / "out"
    assert cli.main(["report", "--results", str(LIMITS), "--out", str(out), "--machine", "vm"]) == 0

    def limit(version, bench):
        return raw[(version, f"limits.RawIO.{bench}", (DATA,))]

    compression = read_csv(out / report.COMPRESSION_CSV)
    assert {"write_x_raw", "read_x_raw"} <= set(compression[0])
    for row in compression:
        for column, time_column, bench in (("write_x_raw", "write_ms", "time_write_file"),
                                           ("read_x_raw", "read_ms", "time_read_file")):
            if row[time_column] == "":
                assert row[column] == ""
            else:
                assert float(row[column]) == pytest.approx(float(row[time_column]) / 1000 / limit(row["zarr_version"], bench))
                assert float(row[column]) > 0
    chunking = read_csv(out / report.CHUNKING_CSV)
    sharded = [r for r in chunking if "/" in r["chunks"]]
    assert sharded and all((r["full_read_ms"] != "") == (r["zarr_format"] == "3" and r["zarr_version"] != "2.18.7"
                                                         and "256" not in r["chunks"]) for r in sharded)
    for row in chunking:
        if row["full_read_ms"]:
            assert float(row["full_read_x_raw"]) == pytest.approx(
                float(row["full_read_ms"]) / 1000 / limit(row["zarr_version"], "time_read_file"))


def test_the_figures_draw_the_limit(tmp_path):
    results = report.ReportResults.load(LIMITS, machine="vm")
    fig = report.build_chunking_figure(results, env=results.newest, zarr_format=3)
    labels = [line.get_label() for ax in fig.axes for line in ax.get_lines()]
    assert any(label.startswith("raw file write:") for label in labels)
    assert any(label.startswith("raw file full read:") for label in labels)
    ticks = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert "32³ in 128³ v3" in ticks and not any("256" in t for t in ticks)  # too big for 128³: not drawn
    fig = report.build_compression_figure(results)
    assert any(line.get_label().startswith("raw file read:") for line in fig.axes[1].get_lines())


#: ``asv run --quick`` of the default suite at 0512b9d on zarr 3.1.6, 128³ phantom (docs/findings.md, "Scale")
ACCESS = Path(__file__).parent / "data" / "asv-results-access"
PATTERNS = ["xy", "xz", "yz", "box32", "box64", "zslabs"]


def test_the_access_csv_is_asv_json(tmp_path):
    raw, _ = raw_results(ACCESS, machine="scale")
    out = tmp_path / "out"
    assert cli.main(["report", "--results", str(ACCESS), "--out", str(out), "--machine", "scale"]) == 0
    height, width = imread(out / report.ACCESS_PNG).shape[:2]
    assert (width, height) == tuple(round(inches * style.DPI_WEB) for inches in report.FIGSIZES[report.ACCESS_PNG.name])
    rows = read_csv(out / report.ACCESS_CSV)
    assert len(rows) == 5 * 2 * len(PATTERNS)
    for row in rows:
        version, key = row["zarr_version"], (DATA, row["chunks"], int(row["zarr_format"]), row["pattern"])
        assert_cell(row["read_ms"], raw[(version, "access.Read.time_read", key)], lambda v: v * 1000)
        assert_cell(row["get_requests"], raw[(version, "access.Requests.track_get_requests", key)])
        assert_cell(row["bytes_fetched"], raw[(version, "access.Requests.track_bytes_fetched", key)])
        assert_cell(row["remote_20ms_read_ms"], raw.get((version, "access.RemoteRead.time_read", (*key, 20)), math.nan),
                    lambda v: v * 1000)
    timed_remotely = {(r["chunks"], r["zarr_format"], r["pattern"]) for r in rows if r["remote_20ms_read_ms"]}
    assert {p for _, _, p in timed_remotely} == {"xy", "box32"}
    assert ("32x32x32/128x128x128", "3", "xy") in timed_remotely and ("32x32x32/128x128x128", "2", "xy") not in \
        timed_remotely  # sharding is format 3 only


def _bars_of(ax, chunks, zarr_format):
    """Heights of one layout's bars, left to right (found by the layout's colour and the format's hatch)."""
    patches = [p for c in ax.containers for p in c if to_hex(p.get_facecolor()) == style.layout_colour(chunks)
               and bool(p.get_hatch()) == (zarr_format == 3)]
    return [p.get_height() for p in sorted(patches, key=lambda p: p.get_x())]


def test_the_access_figure_draws_every_layout_the_limit_and_the_remote_reads():
    results = report.ReportResults.load(ACCESS, machine="scale")
    raw, _ = raw_results(ACCESS, machine="scale")
    fig = report.build_access_figure(results)
    assert "zarr format 2 and 3" in fig._suptitle.get_text()  # both formats; the sharded layouts on 3
    local, gets, remote = fig.axes
    # what each pattern reads (wrapped in a crowded panel) and its name
    assert [t.get_text().replace("\n", " ") for t in local.get_xticklabels()] == [f"{pattern_label(p)} ({p})"
                                                                                  for p in PATTERNS]
    assert pattern_label("xy") == "4 random XY planes" and pattern_label("box32") == "16 boxes of 32³"
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert set(legend) == {"raw file, same bytes (the limit)", "64³ v2", "64³ v3", "32³ v2", "32³ v3",
                           "16×128×128 v2", "16×128×128 v3", "32³ in 128³ v3", "16×128×128 in 128³ v3"}
    expected = [raw[("3.1.6", "access.Read.time_read", (DATA, "32x32x32/128x128x128", 3, p))] * 1000 for p in PATTERNS]
    assert _bars_of(local, "32x32x32/128x128x128", 3) == pytest.approx(expected)
    assert bar_count(local) == 8 * len(PATTERNS)  # no sharded layout on format 2: no slot for it
    limit = [c for c in local.collections if c.get_label() == "raw file, same bytes (the limit)"]
    assert len(limit) == 1 and len(limit[0].get_segments()) == len(PATTERNS)
    low, high = local.get_ylim()
    assert all(low < seg[0][1] < high for seg in limit[0].get_segments())  # visible, on the log axis
    assert gets.get_yscale() == "log"
    assert [t.get_text() for t in remote.get_xticklabels()] == ["4 random XY planes\n(xy)", "16 boxes of 32³\n(box32)"]
    assert remote.get_title().startswith("Read time over HTTP, +20 ms per request (log scale)")
    assert remote.get_yscale() == "log"  # as the other panels
    assert _bars_of(remote, "64x64x64", 3) == pytest.approx(
        [raw[("3.1.6", "access.RemoteRead.time_read", (DATA, "64x64x64", 3, p, 20))] * 1000 for p in ("xy", "box32")])
    timed = {(c, f) for (v, b, key), value in raw.items() if b == "access.RemoteRead.time_read" and v == "3.1.6"
             and not missing(value) for c, f in [key[1:3]]}
    assert bar_count(remote) == 2 * len(timed)  # only the layouts timed over slow HTTP
    # the title says so where that is fewer than the other panels show
    assert ("layouts timed over HTTP" in remote.get_title()) == (len(timed) < 8)


# --- shapes and dtypes from the recorded provenance, not from the label -----------------


def test_sizes_come_from_the_recorded_provenance(results_copy):
    # 128³ float32 by its label, but recorded as 64 × 128 × 128 float64: the provenance decides
    record({"identity": DATA, "source": "phantom", "shape": [64, 128, 128], "dtype": "float64"},
           directory=provenance_dir(results_copy))
    results = report.ReportResults.load(results_copy)
    size_ax = report.build_chunking_figure(results).axes[4]
    ratios = [RAW[("3.4.2", "chunking.Storage.track_compression_ratio", (DATA, c, f))] for c in CHUNKS for f in (2, 3)]
    assert [p.get_height() for p in size_ax.patches] == pytest.approx([64 * 128 ** 2 * 8 / r / 1e6 for r in ratios])
    assert results.unrecorded() == []


def test_the_access_csv_selects_bytes_of_the_recorded_shape(tmp_path):
    out = tmp_path / "out"
    assert report.report(ACCESS, out, machine="scale", warn=pytest.fail)
    rows = read_csv(out / report.ACCESS_CSV)
    xy = next(r for r in rows if (r["chunks"], r["zarr_format"], r["pattern"]) == ("64x64x64", "2", "xy"))
    assert int(xy["bytes_selected"]) == 4 * 128 * 128 * 4  # 4 XY planes of 128² float32
    assert float(xy["read_x_raw"]) > 0


def test_without_provenance_sizes_are_empty_and_warned_once(tmp_path):
    results_dir = tmp_path / "results"  # no provenance/ next to it
    shutil.copytree(ACCESS, results_dir)
    warnings = []
    paths = report.report(results_dir, tmp_path / "out", machine="scale", warn=warnings.append)
    assert tmp_path / "out" / report.ACCESS_CSV in paths and tmp_path / "out" / report.CHUNKING_PNG in paths
    assert warnings == [f"no provenance recorded for data {DATA!r} next to {results_dir}; sizes are left empty "
                        "— rerun the benchmarks"]
    rows = read_csv(tmp_path / "out" / report.ACCESS_CSV)
    assert all(r["bytes_selected"] == "" and r["read_x_raw"] == "" for r in rows)
    assert any(r["read_ms"] != "" for r in rows)  # the measured columns are still there
    chunking = read_csv(tmp_path / "out" / report.CHUNKING_CSV)
    assert any(r["write_ms"] != "" for r in chunking)
    size_ax = report.build_chunking_figure(report.ReportResults.load(results_dir, machine="scale")).axes[4]
    assert not size_ax.axison and "no provenance" in size_ax.texts[0].get_text()


def test_several_machines_report_the_default_one_and_name_the_others(results_copy, tmp_path, capsys, monkeypatch):
    """A run on one's own data adds a machine; report then uses asv's default (this host's) and names the rest."""
    import socket

    shutil.copytree(results_copy / "vm", results_copy / "other")
    doc = json.loads((results_copy / "other" / "machine.json").read_text())
    (results_copy / "other" / "machine.json").write_text(json.dumps({**doc, "machine": "other"}))
    monkeypatch.setattr(socket, "gethostname", lambda: "vm")
    assert cli.main(["report", "--results", str(results_copy), "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "results of machine(s) other; report them with --machine NAME" in out
    assert report.ReportResults.load(results_copy).machine == "vm"
    assert report.ReportResults.load(results_copy, machine="other").other_machines == ("vm",)
