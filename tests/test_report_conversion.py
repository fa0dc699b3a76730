"""zarr-cryoet report's conversion table and figure (report/conversion.py), from a recorded run of the conversion tier.

tests/data/asv-results-conversion holds asv's results of ``conversion.*`` and ``multiscale.*`` from a real run
(machine ``convtest``, one process each; see its README). The expected values are read here straight from asv's
JSON files and the price table.
"""

import ast
import itertools
import json
from dataclasses import replace
from pathlib import Path

import pytest

from tests.figure_checks import (assert_readable, empty_panels, errorbars, few_log_labels, run_label,
                                 unkept_promises)
from tests.test_report import RESULTS as RESULTS_WITHOUT_CONVERSION
from tests.test_report import missing, read_csv
from zarr_cryoet import report
from zarr_cryoet.asv.results import ReportResults
from zarr_cryoet.report import conversion
from zarr_cryoet.report import sections as report_sections
from zarr_cryoet.store import pricing

pytestmark = pytest.mark.once

RESULTS = Path(__file__).parent / "data" / "asv-results-conversion"
MACHINE = "convtest"


def raw_results():
    """{(benchmark, params tuple): value} from the run's one JSON file (asv's ``existing`` environment: no zarr
    parameter)."""
    [path] = [p for p in (RESULTS / MACHINE).glob("*.json") if p.name != "machine.json"]
    doc = json.loads(path.read_text())
    result_col, params_col = doc["result_columns"].index("result"), doc["result_columns"].index("params")
    return {(bench, combo): value for bench, columns in doc["results"].items()
            for combo, value in zip(itertools.product(*[[ast.literal_eval(v) for v in vs]
                                                        for vs in columns[params_col]]), columns[result_col])}


RAW = raw_results()
PRICES = pricing.load()


def measured(benchmark):
    """{params tuple: value} of every measured cell of ``benchmark`` in the recorded run."""
    return {combo: value for (bench, combo), value in RAW.items() if bench == benchmark and not missing(value)}


@pytest.fixture(scope="module")
def results():
    return ReportResults.load(RESULTS, MACHINE)


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    warnings = []
    paths = report.report(RESULTS, out, machine=MACHINE, warn=warnings.append)
    return out, warnings, paths


def row_of(rows, chunks, codec, target, workers=""):
    [row] = [r for r in rows if (r["chunks"], r["codec"], r["target"], r["workers"]) == (chunks, codec, target,
                                                                                            str(workers))]
    return row


def test_the_section_writes_the_csv_and_figure_without_a_warning(written):
    out, warnings, _ = written
    assert (out / conversion.CSV).is_file() and (out / conversion.FIGURE).is_file()
    assert not [w for w in warnings if w.startswith("no conversion") or w.startswith("no multiscale")]


def test_results_without_the_tier_say_so_once_and_write_nothing_of_it(results, tmp_path):
    other = ReportResults.load(RESULTS_WITHOUT_CONVERSION)
    assert not conversion.has_results(other) and conversion.rows(other) == []
    assert report.SKIPPED["conversion"] == "conversion/" and "multiscale" in report.SKIPPED

    def context(r):
        return report_sections.Context(r, r, tmp_path, 150, lambda _: None, None)

    [section] = [s for s in report_sections.SECTIONS if s.module == "conversion"]
    assert section.applies(context(results)) and not section.applies(context(other))
    assert [p.relative_to(tmp_path) for p in section.write(context(results))] == [conversion.CSV, conversion.READS_CSV,
                                                                                  conversion.FIGURE]


def test_every_conversion_time_is_a_row_with_its_rate(written):
    out, _, _ = written
    rows = read_csv(out / conversion.CSV)
    times = measured(conversion.CONVERT)
    assert times
    for (data, chunks, codec, target, workers), seconds in times.items():
        row = row_of(rows, chunks, codec, target, workers)
        assert row["data"] == data
        assert float(row["convert_s"]) == seconds
        rate = workers * 3600 / seconds
        assert float(row["tomograms_per_hour"]) == pytest.approx(rate, rel=1e-12)
        # one process: the interval is the value itself
        assert float(row["tomograms_per_hour_low"]) == pytest.approx(rate, rel=1e-12)
        assert float(row["tomograms_per_hour_high"]) == pytest.approx(rate, rel=1e-12)
        assert row["processes"] == "1"
    assert len([r for r in rows if r["convert_s"]]) == len(times)


def test_the_s3_rows_carry_the_counts_and_their_cost(written):
    out, _, _ = written
    rows = read_csv(out / conversion.CSV)
    stored = measured("conversion.Traffic.track_stored_bytes")
    assert stored
    for (data, chunks, codec), stored_bytes in stored.items():
        [row] = [r for r in rows if (r["chunks"], r["codec"], r["target"]) == (chunks, codec, "s3")]
        cell = (data, chunks, codec)
        assert float(row["stored_mb_per_tomogram"]) == stored_bytes / 1e6
        assert float(row["objects_per_tomogram"]) == measured("conversion.Traffic.track_objects")[cell]
        assert float(row["peak_memory_mib"]) == measured("conversion.Traffic.track_peak_memory")[cell] / 2 ** 20
        requests = {kind: measured(f"conversion.Traffic.track_{name}_requests")[cell]
                    for kind, name in conversion.REQUEST_TRACKS.items()}
        for kind, name in conversion.REQUEST_TRACKS.items():
            assert float(row[f"{name}_requests"]) == requests[kind]
        assert float(row["requests_per_tomogram"]) == sum(requests.values())
        assert float(row["storage_per_month_per_1000"]) == pytest.approx(PRICES.storage(1000 * stored_bytes))
        assert float(row["write_per_1000"]) == pytest.approx(
            PRICES.requests({k: 1000 * n for k, n in requests.items()}))
        assert row["prices"] == PRICES.citation and row["currency"] == PRICES.currency
    for row in rows:  # the counts are of conversions to S3: no local row claims them
        if row["target"] != "s3":
            assert row["stored_mb_per_tomogram"] == "" and row["write_per_1000"] == ""


def test_every_first_view_is_in_the_csv(written):
    out, _, _ = written
    rows = read_csv(out / conversion.CSV)
    views = measured(conversion.FIRST_VIEW)
    assert views
    for (_, chunks, codec, target), seconds in views.items():
        matching = [r for r in rows if (r["chunks"], r["codec"], r["target"]) == (chunks, codec, target)]
        assert matching
        for row in matching:
            assert float(row["first_view_ms"]) == seconds * 1e3
            assert row["first_view_processes"] == "1"


def test_every_read_from_the_converted_image_is_a_row_with_its_cost(written):
    out, _, _ = written
    rows = read_csv(out / conversion.READS_CSV)
    requests = measured("conversion.Reads.track_requests")
    fetched = measured("conversion.Reads.track_bytes_fetched")
    assert requests and len(rows) == len(requests)
    for (data, chunks, codec, workload), n in requests.items():
        [row] = [r for r in rows if (r["data"], r["chunks"], r["codec"], r["workload"]) == (data, chunks, codec,
                                                                                          workload)]
        assert float(row["requests"]) == n
        assert float(row["bytes_fetched"]) == fetched[(data, chunks, codec, workload)]
        assert float(row["requests_per_1000_reads"]) == pytest.approx(PRICES.requests({"GET": 1000 * n}))
        assert float(row["transfer_out_per_1000_reads"]) == pytest.approx(
            PRICES.transfer_out(1000 * fetched[(data, chunks, codec, workload)]))


def test_the_layout_names_its_codec_where_not_blosc_zstd():
    assert conversion.label("256x256x256", "blosc-lz4") == "256³ v2 blosc-lz4"
    assert conversion.label("64x64x64/128x128x128", "blosc-zstd") == "64³ in 128³ v3"


def bar_heights(ax):
    return sorted(round(p.get_height(), 6) for p in ax.patches if p.get_height() > 0)


def test_the_figure_reads_and_draws_every_measured_value(results):
    fig = conversion.build_figure(results)
    assert_readable(fig)
    assert not few_log_labels(fig) and not unkept_promises(fig) and not empty_panels(fig)
    assert run_label(fig) is not None and MACHINE in run_label(fig).get_text()
    throughput, cost, view = fig.axes[:3]
    rates = [combo[4] * 3600 / v for combo, v in measured(conversion.CONVERT).items()]
    assert bar_heights(throughput) == sorted(round(r, 6) for r in rates)
    stored = measured("conversion.Traffic.track_stored_bytes")
    assert len(cost.patches) == 2 * len(stored)
    assert sorted(round(p.get_height(), 9) for p in cost.patches)[-1] == pytest.approx(
        max(max(PRICES.storage(1000 * b) for b in stored.values()),
            max(float(r["write_per_1000"]) for r in conversion.rows(results) if r["write_per_1000"] != "")))
    assert bar_heights(view) == sorted(round(v * 1e3, 6) for v in measured(conversion.FIRST_VIEW).values())
    # one process per time: no whiskers, and the title says so rather than promising them
    assert not any(errorbars(ax) for ax in fig.axes)
    assert "no intervals drawn" in fig.get_suptitle()


def two_processes(results: ReportResults) -> ReportResults:
    """The same results with every time given a second, 25 % slower process: an interval to draw."""
    return replace(results, estimates={k: replace(e, minima=(e.value, e.value * 1.25))
                                       for k, e in results.estimates.items()})


def test_intervals_become_whiskers_with_the_rates_inverted(results):
    widened = two_processes(results)
    rows = conversion.rows(widened)
    for row in rows:
        if row["tomograms_per_hour"] != "":
            seconds = row["convert_s"]
            assert row["tomograms_per_hour_high"] == pytest.approx(row["workers"] * 3600 / seconds)
            assert row["tomograms_per_hour_low"] == pytest.approx(row["workers"] * 3600 / (seconds * 1.25))
            assert row["processes"] == 2
    fig = conversion.build_figure(widened)
    assert_readable(fig)
    assert not unkept_promises(fig) and not few_log_labels(fig)
    assert "whiskers: range of 2 processes" in fig.get_suptitle()
    throughput, cost, view = fig.axes[:3]
    assert errorbars(throughput) == len(measured(conversion.CONVERT))
    assert errorbars(view) == len(measured(conversion.FIRST_VIEW))
    assert errorbars(cost) == 0  # counts, not times


def test_a_run_without_the_tier_draws_one_panel_saying_so():
    fig = conversion.build_figure(ReportResults.load(RESULTS_WITHOUT_CONVERSION))
    shown = [ax for ax in fig.axes if ax.get_visible()]
    assert len(shown) == 1 and any("no results" in t.get_text() for t in shown[0].texts)
