"""zarr-cryoet report's lossy table and figures, from a recorded run of the lossy benchmarks.

tests/data/asv-results-lossy holds asv's results of the ``lossy.*`` benchmarks of a real run of
``python3 tasks.py benchmark`` (machine ``vm``); tests/data/provenance the data's provenance. The
expected values are read here straight from asv's JSON files.
"""

from pathlib import Path

import pytest
from matplotlib.colors import to_hex

from tests.test_report import missing, raw_results, read_csv
from zarr_cryoet import cli, report
from zarr_cryoet.data import sources
from zarr_cryoet.fidelity.metrics import HARMLESS_DROP
from zarr_cryoet.report import lossy as lossy_report
from zarr_cryoet.report import style
from zarr_cryoet.report.results import ReportResults

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


def test_the_lossy_csv_is_asv_json_with_the_harmless_verdict_and_angstroms(written):
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
        if row["truth_fsc_max_drop"]:
            assert row["harmless"] == str(float(row["truth_fsc_max_drop"]) <= HARMLESS_DROP)
        if row["fsc_0143_nyquist"]:  # the recorded voxel size, 10.012 Å: Nyquist is 20.024 Å
            assert float(row["fsc_0143_angstrom"]) == pytest.approx(20.024 / float(row["fsc_0143_nyquist"]))
    verdict = {r["codec"]: r["harmless"] for r in rows if r["zarr_version"] == "3.4.2" and r["zarr_format"] == "2"}
    assert verdict["zfp-rate-1"] == "False" and verdict["bitround-4"] == verdict["blosc-zstd"] == "True"
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
    style.close_figure(fig)


def test_the_slice_figure_shows_the_highest_ratio_harmless_codec_by_default():
    results = ReportResults.load(RESULTS, machine="vm")
    assert lossy_report.default_slice_codec(results) == "zfp-rate-2"
    fig = lossy_report.build_slice_figure(results, "bitround-4")
    assert "BitRound 4 bits" in fig._suptitle.get_text()
    assert [ax.get_title() for ax in fig.axes[:4]] == ["original", "noise-free truth", "decoded", "decoded − original"]
    style.close_figure(fig)


def test_without_the_data_the_recomputed_figures_are_left_out_with_a_warning(tmp_path, monkeypatch):
    monkeypatch.setattr(report, "load_volume", lambda results, data: None)
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
