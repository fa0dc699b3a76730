"""zarr-cryoet intervals on A/A runs in asv's own result format: the tables it prints and the profile it saves,
which the report then uses for that machine's timings."""

import json
import math
import random
import shutil
from pathlib import Path

import pytest

from zarr_cryoet import cli
from zarr_cryoet.stats import calibration
from zarr_cryoet.checks import intervals

# no zarr in these tests (recorded asv results and statistics only): run under the newest zarr alone
pytestmark = pytest.mark.once

RECORDED = Path(__file__).parent / "data" / "asv-results"
HOUR_MS = 3600 * 1000


def _aa_runs(tmp_path, runs=6, seed=3) -> list[Path]:
    """``runs`` run folders an hour apart, each with zarr 3.1.6's result file twice (environments a and b), every
    timing given 5 processes of 2 samples drawn from a two-speed machine with an hour-level factor."""
    benchmarks = json.loads((RECORDED / "benchmarks.json").read_text())
    for bench in benchmarks.values():
        if isinstance(bench, dict) and bench.get("type") == "time":
            bench["repeat"] = 2
    out = tmp_path / "aa"
    out.mkdir()
    (out / "benchmarks.json").write_text(json.dumps(benchmarks))
    source = json.loads(next(RECORDED.glob("vm/*zarr3.1.6.json")).read_text())
    columns = source["result_columns"]
    rng = random.Random(seed)
    folders = []
    for run in range(runs):
        hour = math.exp(rng.gauss(0, 0.04))
        folder = out / f"run-{run:02d}"
        folder.mkdir()
        for env in ("a", "b"):
            data = json.loads(json.dumps(source))
            data["env_name"] = f"virtualenv-py3.11-zarr3.1.6-ZARR_CRYOET_AA{env}"
            for name, row in data["results"].items():
                row.extend([None] * (len(columns) - len(row)))
                row[columns.index("started_at")] = 1_765_000_000_000 + run * HOUR_MS
                if ".time_" not in name:
                    continue
                cells = []
                for value in row[0]:
                    base = value if isinstance(value, float) and math.isfinite(value) else None
                    cells.append(None if base is None else [
                        base * hour * (1.0 if rng.random() < 0.5 else 1.7) * math.exp(rng.gauss(0, 0.02))
                        for _ in range(10)])
                row[columns.index("samples")] = cells
            (folder / f"c0ffee00-{data['env_name']}.json").write_text(json.dumps(data))
        folders.append(folder)
    return folders


def test_intervals_measures_the_aa_shares_and_the_coverage_and_saves_the_profile(tmp_path, capsys):
    folders = _aa_runs(tmp_path, runs=8)
    save = tmp_path / "noise" / "vm-intervals.json"
    assert cli.main(["intervals", *map(str, folders), "--save", str(save), "--between-machines", "1.484:1.375"]) == 0
    out = capsys.readouterr().out
    assert "8 runs of one commit, 16 environments, over 7.0 h." in out
    assert "**A/A within one run**" in out and "**A/A between runs ≥ 1 h apart**" in out
    assert "| 5x2 |" in out and "**Coverage of the bands**" in out
    profile = calibration.Profile.load(save)
    assert profile.modules == intervals.MEASURED and set(profile.bands) == {"5x2"}
    band = profile.bands["5x2"]
    assert band.low < 1 < band.high and band.coverage == calibration.COVERAGE
    assert profile.notes["machine_log_sd"] == pytest.approx(abs(math.log(1.375 / 1.484)))
    # the coverage itself is checked by simulation in test_stats.py (with 4 runs to fit on it scatters widely:
    # the hour-level shifts, not the timings, are the units); here: measured, and a fraction
    assert 0 < profile.notes["held_out_coverage"] <= 1.0 and profile.release_log_sd is not None


def test_intervals_bad_input_is_one_line(tmp_path, capsys):
    assert cli.main(["intervals", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not a folder" in err[0]
    (tmp_path / "empty").mkdir()
    shutil.copy(RECORDED / "benchmarks.json", tmp_path / "empty")
    assert cli.main(["intervals", str(tmp_path / "empty")]) == 2
    assert "no asv result files" in capsys.readouterr().err
    folders = _aa_runs(tmp_path, runs=2)
    assert cli.main(["intervals", *map(str, folders)]) == 2
    assert "too few runs" in capsys.readouterr().err


@pytest.mark.once
def test_the_shipped_profile_is_what_intervals_computes_from_the_shipped_aa_runs(tmp_path):
    """recorded/noise/vm-intervals.json comes from recorded/aa-runs by the command docs/measurement.md gives."""
    root = Path(__file__).resolve().parent.parent
    shipped = calibration.Profile.load(root / "recorded" / "noise" / "vm-intervals.json")
    runs = sorted((root / "recorded" / "aa-runs").glob("run-*"))
    intervals.analyse(runs, "vm", tmp_path / "vm-intervals.json", between_machines=["1.484:1.375", "1.497:1.429"])
    again = calibration.Profile.load(tmp_path / "vm-intervals.json")
    assert set(again.bands) == set(shipped.bands)
    for key, band in shipped.bands.items():
        assert (again.bands[key].low, again.bands[key].high) == pytest.approx((band.low, band.high))
    assert again.release_log_sd == pytest.approx(shipped.release_log_sd)
    assert again.notes["held_out_coverage"] == shipped.notes["held_out_coverage"]
    assert abs(shipped.notes["held_out_coverage"] - calibration.COVERAGE) <= 0.05  # stated and measured agree


def test_the_two_cores_tables_are_what_the_tool_computes_from_the_shipped_runs():
    """docs/measurement.md's "Both cores" tables (what the other core's half does to a one-core timing) come from
    recorded/two-cores by ``tools/two_cores.py analyse``, verbatim."""
    import sys

    root = Path(__file__).resolve().parent.parent
    sys.path.insert(0, str(root / "tools"))
    import two_cores

    class Args:
        folder = str(root / "recorded" / "two-cores")
        profile = str(root / "recorded" / "noise" / "vm-intervals.json")

    text = two_cores.cmd_analyse(Args())
    docs = (root / "docs" / "measurement.md").read_text()
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    assert len(rows) >= 8 and all(row in docs for row in rows), [row for row in rows if row not in docs]
