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
from zarr_cryoet.data.provenance import provenance_dir, record

from zarr_cryoet import report

from zarr_cryoet.report import style

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
    return [out / p for p in (report.COMPRESSION_CSV, report.COMPRESSION_PNG, report.CHUNKING_CSV,
                              report.CHUNKING_PNG, report.VERSION_CSV, report.VERSION_PNG)]


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
    assert stdout.splitlines() == [str(p) for p in expected_paths(out)]
    assert all(p.is_file() for p in expected_paths(out))
    assert sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file()) == sorted(
        p.relative_to(out) for p in expected_paths(out))


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
        assert_cell(row["write_s"], RAW[(version, "compression.Write.time_write", key)])
        assert_cell(row["read_s"], RAW[(version, "compression.Read.time_read", key)])
        ratio = RAW[(version, "compression.Storage.track_compression_ratio", key)]
        stored = RAW[(version, "compression.Storage.track_stored_bytes", key)]
        assert_cell(row["compression_ratio"], ratio)
        assert_cell(row["stored_bytes"], stored)
        assert_cell(row["size_mb"], stored, lambda b: b / 1e6)
        assert_cell(row["savings_pct"], ratio, lambda r: (1 - 1 / r) * 100)
        if version == "2.18.7" and fmt == 3:  # skipped: format 3 does not exist on zarr 2
            assert all(row[c] == "" for c in ("write_s", "read_s", "compression_ratio", "size_mb", "savings_pct"))
        else:
            assert all(row[c] != "" for c in ("write_s", "read_s", "compression_ratio", "size_mb", "savings_pct"))
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
    columns = {"files": ("chunking.Storage.track_file_count", 1), "write_s": ("chunking.Write.time_write", 1),
               "full_read_s": ("chunking.Read.time_read_full", 1),
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
    assert row["read_s"] == "" and row["write_s"] != ""
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
    assert titles(fig) == ["Write time", "Read time", "Compression ratio (higher is better)",
                           "Storage size (lower is better)"]
    assert "zarr 3.4.2, zarr format 2" in fig.get_suptitle() and DATA in fig.get_suptitle()
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
    fig = report.build_compression_figure(results, env=zarr2, zarr_format=3)
    assert all(bar_count(ax) == 0 for ax in fig.axes)
    assert all(sum(t.get_text() == "n/a" for t in ax.texts) == len(CODECS) for ax in fig.axes)


def test_chunking_figure(results):
    fig = report.build_chunking_figure(results)
    assert titles(fig) == ["Write time", "Read time by operation", "File count (log scale)", "Compression ratio",
                           "Storage size", "Efficiency: XY slice vs file count"]
    assert style.unlabelled_axes(fig) == []
    write_ax, read_ax, files_ax, ratio_ax, size_ax, eff_ax = fig.axes
    for ax in (write_ax, files_ax, ratio_ax, size_ax):
        assert bar_count(ax) == len(CHUNKS)
    assert bar_count(read_ax) == 4 * len(CHUNKS)  # full, XY, XZ, YZ per chunk shape
    assert files_ax.get_yscale() == "log" and eff_ax.get_xscale() == "log"
    assert [p.get_height() for p in files_ax.patches] == [
        RAW[("3.4.2", "chunking.Storage.track_file_count", (DATA, c, 2))] for c in CHUNKS]
    # storage size = 128³ float32 bytes / ratio
    ratios = [RAW[("3.4.2", "chunking.Storage.track_compression_ratio", (DATA, c, 2))] for c in CHUNKS]
    assert [p.get_height() for p in size_ax.patches] == pytest.approx([128 ** 3 * 4 / r / 1e6 for r in ratios])
    assert len(eff_ax.collections) == len(CHUNKS)
    for ax in fig.axes:
        assert style.has_units(ax.get_xlabel()) and style.has_units(ax.get_ylabel())


def test_chunking_figure_without_volume_size_skips_the_size_panel(results):
    fig = report.build_chunking_figure(results, data="zarr:/data/tomo.zarr full@centre float32")
    size_ax = fig.axes[4]
    assert not size_ax.axison and "volume's size" in size_ax.texts[0].get_text()
    assert style.unlabelled_axes(fig) == []


def test_version_figure(results):
    fig = report.build_version_figure(results)
    assert style.unlabelled_axes(fig) == []
    axes = [ax for ax in fig.axes if ax.get_title()]
    assert len(axes) == 10
    assert [ax.get_title() for ax in axes[:5]] == [
        "Compression: write (format 2)", "Compression: read (format 2)", "Chunking: write (format 2)",
        "Chunking: full read (format 2)", "Chunking: XY slice (format 2)"]
    assert all(ax.get_title().endswith("(format 3)") for ax in axes[5:])
    for ax in axes:
        n = len(CODECS) if ax.get_title().startswith("Compression") else len(CHUNKS)
        versions = len(VERSIONS) if "format 2" in ax.get_title() else len(VERSIONS) - 1  # no format 3 on zarr 2
        assert bar_count(ax) == n * versions, ax.get_title()
        assert ax.get_ylabel() == "Time (ms)"
    colours = {to_hex(c.patches[0].get_facecolor()) for c in axes[0].containers}
    assert colours == {style.series_colour(i) for i in range(len(VERSIONS))}
    legend_labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend_labels == [f"zarr {v}" for v in VERSIONS]


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
    ("several", ["several machines (other, vm)", "--machine"]),
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
    elif case == "several":
        shutil.copytree(results_copy / "vm", results_copy / "other")
        doc = json.loads((results_copy / "other" / "machine.json").read_text())
        (results_copy / "other" / "machine.json").write_text(json.dumps({**doc, "machine": "other"}))
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
        for column, time_column, bench in (("write_x_raw", "write_s", "time_write_file"),
                                           ("read_x_raw", "read_s", "time_read_file")):
            if row[time_column] == "":
                assert row[column] == ""
            else:
                assert float(row[column]) == pytest.approx(float(row[time_column]) / limit(row["zarr_version"], bench))
                assert float(row[column]) > 0
    chunking = read_csv(out / report.CHUNKING_CSV)
    sharded = [r for r in chunking if "/" in r["chunks"]]
    assert sharded and all((r["full_read_s"] != "") == (r["zarr_format"] == "3" and r["zarr_version"] != "2.18.7"
                                                         and "256" not in r["chunks"]) for r in sharded)
    for row in chunking:
        if row["full_read_s"]:
            assert float(row["full_read_x_raw"]) == pytest.approx(
                float(row["full_read_s"]) / limit(row["zarr_version"], "time_read_file"))


def test_the_figures_draw_the_limit(tmp_path):
    results = report.ReportResults.load(LIMITS, machine="vm")
    fig = report.build_chunking_figure(results, env=results.newest, zarr_format=3)
    labels = [line.get_label() for ax in fig.axes for line in ax.get_lines()]
    assert any(label.startswith("raw file write:") for label in labels)
    assert any(label.startswith("raw file full read:") for label in labels)
    ticks = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert "32³ in 128³" in ticks and not any("256" in t for t in ticks)  # too big for 128³: not drawn
    fig = report.build_compression_figure(results)
    assert any(line.get_label().startswith("raw file read:") for line in fig.axes[1].get_lines())


#: ``asv run --quick`` of the default suite at 0512b9d on zarr 3.1.6, 128³ phantom (README, "Scale")
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
        assert_cell(row["read_s"], raw[(version, "access.Read.time_read", key)])
        assert_cell(row["get_requests"], raw[(version, "access.Requests.track_get_requests", key)])
        assert_cell(row["bytes_fetched"], raw[(version, "access.Requests.track_bytes_fetched", key)])
        assert_cell(row["remote_20ms_read_s"], raw.get((version, "access.RemoteRead.time_read", (*key, 20)), math.nan))
    timed_remotely = {(r["chunks"], r["zarr_format"], r["pattern"]) for r in rows if r["remote_20ms_read_s"]}
    assert {p for _, _, p in timed_remotely} == {"xy", "box32"}
    assert ("32x32x32/128x128x128", "3", "xy") in timed_remotely and ("32x32x32/128x128x128", "2", "xy") not in \
        timed_remotely  # sharding is format 3 only


def test_the_access_figure_draws_every_layout_the_limit_and_the_remote_reads():
    results = report.ReportResults.load(ACCESS, machine="scale")
    raw, _ = raw_results(ACCESS, machine="scale")
    fig = report.build_access_figure(results)
    assert "zarr format 3" in fig._suptitle.get_text()  # the format that has the sharded layouts
    local, gets, remote = fig.axes
    assert [t.get_text() for t in local.get_xticklabels()] == PATTERNS
    series = {c.get_label(): c for c in local.containers}
    assert set(series) == {"64³", "32³", "16×128×128", "32³ in 128³", "16×128×128 in 128³"}
    heights = [bar.get_height() for bar in series["32³ in 128³"]]
    expected = [raw[("3.1.6", "access.Read.time_read", (DATA, "32x32x32/128x128x128", 3, p))] * 1000 for p in PATTERNS]
    assert heights == pytest.approx(expected)
    limit = [c for c in local.collections if c.get_label() == "raw file, same bytes (the limit)"]
    assert len(limit) == 1 and len(limit[0].get_segments()) == len(PATTERNS)
    assert gets.get_yscale() == "log"
    assert [t.get_text() for t in remote.get_xticklabels()] == ["xy", "box32"]
    assert remote.get_title() == "Read time over HTTP, +20 ms per request"
    remote_bars = {c.get_label(): [b.get_height() for b in c] for c in remote.containers}
    assert remote_bars["64³"] == pytest.approx(
        [raw[("3.1.6", "access.RemoteRead.time_read", (DATA, "64x64x64", 3, p, 20))] * 1000 for p in ("xy", "box32")])


# --- shapes and dtypes from the recorded provenance, not from the label -----------------


def test_sizes_come_from_the_recorded_provenance(results_copy):
    # 128³ float32 by its label, but recorded as 64 × 128 × 128 float64: the provenance decides
    record({"identity": DATA, "source": "phantom", "shape": [64, 128, 128], "dtype": "float64"},
           directory=provenance_dir(results_copy))
    results = report.ReportResults.load(results_copy)
    size_ax = report.build_chunking_figure(results).axes[4]
    ratios = [RAW[("3.4.2", "chunking.Storage.track_compression_ratio", (DATA, c, 2))] for c in CHUNKS]
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
    assert any(r["read_s"] != "" for r in rows)  # the measured columns are still there
    chunking = read_csv(tmp_path / "out" / report.CHUNKING_CSV)
    assert any(r["write_s"] != "" for r in chunking)
    size_ax = report.build_chunking_figure(report.ReportResults.load(results_dir, machine="scale")).axes[4]
    assert not size_ax.axison and "no provenance" in size_ax.texts[0].get_text()
