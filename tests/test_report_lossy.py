"""zarr-cryoet report's lossy table and figures, from a recorded run of the lossy benchmarks.

tests/data/asv-results-lossy holds asv's results of the ``lossy.*`` benchmarks of a real run of
``python3 tasks.py benchmark`` (machine ``vm``); tests/data/provenance the data's provenance. The
expected values are read here straight from asv's JSON files.
"""

import math
from pathlib import Path

import pytest
from matplotlib.colors import to_hex

from tests.figure_checks import assert_readable
from tests.test_report import RESULTS as RESULTS_WITHOUT_LOSSY
from tests.test_report import missing, raw_results, read_csv
from zarr_cryoet import cli, report
from zarr_cryoet.data import sources
from zarr_cryoet.fidelity.tiers import FSC_DROP_LIMIT, Tier, tier
from zarr_cryoet.report import lossy as lossy_report
from zarr_cryoet.report import lossy_images, style
from zarr_cryoet.report import sections as report_sections
from zarr_cryoet.asv.results import ReportResults

RESULTS = Path(__file__).parent / "data" / "asv-results-lossy"
RAW, _ = raw_results(RESULTS)
COLUMNS = {"compression_ratio": "lossy.Storage.track_compression_ratio",
           "rmse_over_sigma": "lossy.Fidelity.track_rmse_over_sigma", "psnr": "lossy.PSNR.track_psnr",
           "fsc_0143_nyquist": "lossy.Fidelity.track_fsc_0143_nyquist",
           "truth_fsc_0143_nyquist": "lossy.AgainstTruth.track_fsc_0143_nyquist",
           "truth_fsc_max_drop": "lossy.AgainstTruth.track_max_fsc_drop",
           "particle_ncc_min": "lossy.Fidelity.track_particle_ncc_min"}


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    warnings = []
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv(sources.SOURCE_ENV, raising=False)
        report.report(RESULTS, out, machine="vm", warn=warnings.append)
    return out, warnings


def test_the_lossy_csv_is_asv_json_with_each_settings_tier_and_angstroms(written):
    out, _ = written
    rows = read_csv(out / lossy_report.LOSSY_CSV)
    assert {r["zarr_version"] for r in rows} == {"2.18.7", "3.1.6", "3.4.2"}
    assert len({r["codec"] for r in rows}) == 21
    for row in rows:
        for column, bench in COLUMNS.items():
            raw = RAW.get((row["zarr_version"], bench, (row["data"], row["codec"], int(row["zarr_format"]))))
            if missing(raw):
                assert row[column] == "", (row["codec"], column)
            else:
                assert float(row[column]) == pytest.approx(raw), (row["codec"], column)
        assert row["tier"] == str(tier(row) or "")
        if row["fsc_0143_nyquist"]:  # the recorded voxel size, 10.012 Å: Nyquist is 20.024 Å
            assert float(row["fsc_0143_angstrom"]) == pytest.approx(20.024 / float(row["fsc_0143_nyquist"]))
    verdict = {r["codec"]: r["tier"] for r in rows if r["zarr_version"] == "3.4.2" and r["zarr_format"] == "2"}
    assert verdict["blosc-zstd"] == "lossless"
    assert verdict["bitround-4"] == verdict["zfp-accuracy-1"] == "keeps every voxel"
    # zfp-rate-2 (16×) keeps the FSC against the truth, not the voxels: RMSE 0.32 σ, a particle box at NCC 0.94
    assert verdict["zfp-rate-2"] == "below this data's noise" and verdict["zfp-rate-1"] == "visible loss"
    assert "harmless" not in rows[0]
    # lossless codecs: no PSNR (infinite), exact figures
    lossless = [r for r in rows if r["lossy"] == "False" and r["zarr_format"] == "2"]
    assert lossless and all(r["psnr"] == "" and float(r["rmse_over_sigma"]) == 0 for r in lossless)


def test_every_lossy_figure_is_written_with_units_and_fixed_family_colours(written):
    out, warnings = written
    for path in (lossy_report.PARETO_PNG, lossy_report.SLICES_PNG, lossy_report.FSC_PNG):
        assert (out / path).stat().st_size > 10_000, path
    assert not [w for w in warnings if "lossy" in w]
    results = ReportResults.load(RESULTS, machine="vm")
    fig = lossy_report.build_pareto_figure(results)
    assert style.unlabelled_axes(fig) == []
    for ax in fig.axes:
        for collection in ax.collections:
            family = collection.get_label()
            assert to_hex(collection.get_facecolor()[0]) == lossy_report.FAMILY_COLOURS[family]
        assert ax.get_xscale() == "log"
    assert fig.axes[0].get_ylim() == (0, 1)  # the FSC-0.143 crossing from 0, not a zoom on 0.58–0.61
    assert fig.axes[1].lines[-1].get_ydata()[0] == FSC_DROP_LIMIT
    tiers = "\n".join(text.get_text() for legend in fig.legends for text in legend.get_texts())
    assert all(f"{t}:" in tiers for t in (Tier.LOSSLESS, Tier.KEEPS_EVERY_VOXEL, Tier.BELOW_NOISE, Tier.VISIBLE_LOSS))
    assert "zarr 3.4.2" in fig.texts[-1].get_text() and "one core" in fig.texts[-1].get_text()
    assert_readable(fig)
    style.close_figure(fig)


@pytest.fixture(scope="module")
def phantom():
    results = ReportResults.load(RESULTS, machine="vm")
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv(sources.SOURCE_ENV, raising=False)
        return results, lossy_images.load_volume(results, results.choices("lossy", "data")[0])


def test_the_slice_figure_shows_each_tiers_best_setting_beside_the_original_and_the_truth(phantom):
    results, loaded = phantom
    rows = lossy_report.figure_rows(results)
    assert [r["codec"] for r in lossy_images.best_of_each_tier(rows)] == ["zfp-accuracy-1", "zfp-rate-2", "zfp-rate-1"]
    fig = lossy_images.build_slice_figure(results, loaded=loaded)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[:4] == ["original", "keeps every voxel\nzfp-accuracy-1, 5.6×",
                          "below this data's noise\nzfp-rate-2, 16.0×", "visible loss\nzfp-rate-1, 31.9×"]
    assert "noise-free truth" in titles and "error: RMSE 0.32 σ, worst box NCC 0.9372" in titles
    assert "harmless" not in " ".join(titles) + fig._suptitle.get_text()
    assert_readable(fig)
    style.close_figure(fig)
    # --slice-codec adds a setting to the tiers' best
    fig = lossy_images.build_slice_figure(results, "bitround-4", loaded)
    assert "keeps every voxel\nbitround-4, 3.8× (chosen)" in [ax.get_title() for ax in fig.axes]
    assert_readable(fig)
    style.close_figure(fig)


def test_the_fsc_figure_gives_each_setting_a_shade_of_its_familys_colour_and_labels_the_thresholds(phantom):
    results, loaded = phantom
    fig = lossy_images.build_fsc_figure(results, loaded)
    curves = [line for line in fig.axes[0].lines if line.get_label().startswith("zfp-rate")]
    assert len(curves) > 2 and len({to_hex(line.get_color()) for line in curves}) == len(curves)
    texts = [text.get_text() for ax in fig.axes[:2] for text in ax.texts]
    assert texts.count("FSC = 0.5") == texts.count("FSC = 0.143") == 2
    labels = [line.get_label() for line in fig.axes[1].lines]
    assert "zfp-rate-2 (16.0×; below this data's noise)" in labels and "the original against the truth" in labels
    assert style.unlabelled_axes(fig) == []
    assert_readable(fig)
    style.close_figure(fig)


def test_shades_of_a_colour_are_distinct_and_keep_the_colour_alone():
    assert lossy_report.shades("#8c564b", 1) == ["#8c564b"]
    assert len(set(lossy_report.shades("#8c564b", 4))) == 4


def _without(results, keep):
    """``results`` with every lossy cell for which ``keep(benchmark, params)`` is false set to NaN (skipped)."""
    for key in list(results.values):
        _, bench, combo = key
        if bench.startswith("lossy.") and not keep(bench, dict(zip(results.param_names[bench], combo))):
            results.values[key] = math.nan
    return results


def test_a_partial_lossy_run_is_reported_with_empty_cells_and_no_crash(tmp_path):
    """Some lossy cells skipped or failed (a run that stopped early, a benchmark that failed): empty cells, no tier
    where the figures are missing, every figure still drawn."""
    results = _without(ReportResults.load(RESULTS, machine="vm"),
                       lambda bench, p: "Storage" in bench or p["codec"] in ("zfp-rate-2", "bitround-4", "blosc-zstd")
                       or bench == "lossy.AgainstTruth.track_fsc_0143_nyquist")
    results.values[next(k for k in results.values if k[1] == "lossy.Fidelity.track_rmse_over_sigma"
                        and "zfp-rate-2" in k[2] and k[0] == results.newest.name)] = None  # failed
    warnings = []
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv(sources.SOURCE_ENV, raising=False)
        written = report.report(out=tmp_path, results=results, warn=warnings.append)
    for path in (lossy_report.LOSSY_CSV, lossy_report.PARETO_PNG, lossy_report.SLICES_PNG, lossy_report.FSC_PNG):
        assert tmp_path / path in written, path
    rows = {r["codec"]: r for r in read_csv(tmp_path / lossy_report.LOSSY_CSV)
            if r["zarr_version"] == "3.4.2" and r["zarr_format"] == "2"}
    assert rows["zfp-accuracy-1"]["rmse_over_sigma"] == rows["zfp-accuracy-1"]["tier"] == ""
    assert rows["zfp-rate-2"]["rmse_over_sigma"] == "" and rows["zfp-rate-2"]["tier"] == "below this data's noise"
    assert rows["bitround-4"]["tier"] == "keeps every voxel"
    fig = lossy_report.build_pareto_figure(results)  # zfp-accuracy-1: a ratio and an FSC crossing, no tier
    assert "tier not measured" in [text.get_text() for legend in fig.legends for text in legend.get_texts()]
    assert_readable(fig)
    style.close_figure(fig)


def test_a_run_whose_lossy_cells_are_all_skipped_or_without_the_lossy_module_is_reported(tmp_path):
    results = _without(ReportResults.load(RESULTS, machine="vm"), lambda bench, p: False)
    warnings = []
    written = report.report(out=tmp_path / "skipped", results=results, warn=warnings.append)
    assert tmp_path / "skipped" / lossy_report.LOSSY_CSV in written
    assert not (tmp_path / "skipped" / lossy_report.SLICES_PNG).exists()
    assert any(str(lossy_report.SLICES_PNG) in w for w in warnings)
    fig = lossy_report.build_pareto_figure(results)
    assert [t.get_text() for ax in fig.axes for t in ax.texts] == ["not measured in this run"] * 3
    style.close_figure(fig)
    written = report.report(RESULTS_WITHOUT_LOSSY, tmp_path / "none", machine="vm", warn=lambda w: None)
    assert written and not (tmp_path / "none" / "lossy").exists()


def test_without_the_data_the_recomputed_figures_are_left_out_with_a_warning(tmp_path, monkeypatch):
    monkeypatch.setattr(report_sections, "load_volume", lambda results, data: None)
    warnings = []
    written = report.report(RESULTS, tmp_path, machine="vm", warn=warnings.append)
    assert tmp_path / lossy_report.LOSSY_CSV in written and tmp_path / lossy_report.PARETO_PNG in written
    assert not (tmp_path / lossy_report.SLICES_PNG).exists()
    assert any("ZARR_CRYOET_SOURCE" in w for w in warnings)


def test_an_unknown_slice_codec_fails_in_one_line(tmp_path, capsys):
    assert cli.main(["report", "--results", str(RESULTS), "--out", str(tmp_path), "--slice-codec", "zfp-rate-3"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown codec 'zfp-rate-3'" in err[0]
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_the_pareto_front_keeps_only_unbeaten_points():
    points = [(1, 1.0), (2, 0.9), (2, 0.5), (4, 0.95), (8, 0.2)]
    assert lossy_report.pareto_front(points) == [(1, 1.0), (4, 0.95), (8, 0.2)]


HALF_MAPS = Path(__file__).parent / "data" / "asv-results-half-maps"


def test_the_half_maps_verdicts_agree_with_the_truth_tiers_on_the_phantom():
    """A real asv run of lossy.Storage/Fidelity/AgainstTruth/HalfMaps on the 128³ phantom
    (tests/data/asv-results-half-maps)."""
    from zarr_cryoet.answer.half_maps import agreement_table, half_map_line

    results = ReportResults.load(HALF_MAPS, machine="hmtest")
    rows = lossy_report.lossy_rows(results)
    table = lossy_report.agreement_rows(rows)
    assert len(table) == 21 and all(r["agrees_with_tier"] == "yes" for r in table)
    verdict = {r["codec"]: r["half_map_verdict"] for r in table}
    assert verdict["zfp-rate-1"] == "loss shows in the half maps"
    assert verdict["zfp-rate-2"] == verdict["zfp-accuracy-1"] == verdict["blosc-zstd"] == "safe without truth"
    [env], [data] = results.envs, results.choices("lossy", "data")
    lines = agreement_table(results, env, data)
    assert len(lines) == 2 + 21 and lines[2].startswith("| zfp-rate-1 | 31.94 | visible loss |")
    assert lines[2].endswith("| loss shows in the half maps | yes |")
    line = half_map_line(results, env, data)
    assert "most compression **zfp-rate-2**" in line and "agrees with the truth-based tier on 21 of 21" in line
    assert "\n" not in line
    # without half-map results (the recorded full run predates them): no line, no table, empty CSV cells
    old = ReportResults.load(RESULTS, machine="vm")
    assert half_map_line(old, old.envs[-1], old.choices("lossy", "data")[0]) == ""
    assert all(r["half_map_verdict"] == "" == r["agrees_with_tier"] for r in lossy_report.lossy_rows(old))


def test_the_pareto_labels_of_one_height_are_stacked_apart_and_the_fsc_figure_names_recommends_setting():
    results = ReportResults.load(RESULTS, machine="vm")
    fig = lossy_report.build_pareto_figure(results)
    assert_readable(fig)
    crossing = fig.axes[0]
    stacked = [t for t in crossing.texts if t.get_text()]
    assert len(stacked) >= 4 and all(abs(t.xy[1] - 0.6) < 0.05 for t in stacked)  # points at ~0.61 of Nyquist
    assert len({t.xyann for t in stacked}) == len(stacked)  # each label at its own offset below them
    loaded = sources.load(sources.SourceRequest.parse("phantom"), truth=True)
    fig = lossy_images.build_fsc_figure(results, loaded)
    assert_readable(fig)
    named = [line for line in fig.axes[0].lines if "recommend's setting" in str(line.get_label())]
    assert len(named) == 1 and named[0].get_label().startswith("zfp-accuracy-1 ") and named[0].get_linewidth() > 3
    assert any(t.get_text() == "recommend: zfp-accuracy-1" for t in fig.axes[-1].texts)
