"""asv's result files restated with the suite's statistic (zarr_cryoet.asv.restate), and the injected slowdown.

The statistic itself, its intervals and the comparison rule are tested in tests/test_stats.py.
"""

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest

from zarr_cryoet.measure import injection
from zarr_cryoet.stats import calibration
from zarr_cryoet.stats.estimate import Band
from zarr_cryoet.asv import restate
from zarr_cryoet.asv.entries import load_history

RECORDED = Path(__file__).parent / "data" / "asv-results"


@pytest.fixture
def results(tmp_path):
    """A copy of recorded asv results whose timings have samples: three processes of two samples each."""
    out = tmp_path / "results"
    shutil.copytree(RECORDED, out)
    benchmarks = json.loads((out / "benchmarks.json").read_text())
    for bench in benchmarks.values():
        if isinstance(bench, dict) and bench.get("type") == "time":
            bench["repeat"] = 2
    (out / "benchmarks.json").write_text(json.dumps(benchmarks))
    for path in (out / "vm").glob("*-virtualenv-*.json"):
        data = json.loads(path.read_text())
        columns = data["result_columns"]
        for name, row in data["results"].items():
            if ".time_" in name:
                row.extend([None] * (len(columns) - len(row)))
                row[columns.index("samples")] = [None if v is None or v != v else
                                                 [2 * v, 2.1 * v, 0.9 * v, 1.8 * v, 2 * v, 2.2 * v]
                                                 for v in row[columns.index("result")]]
        path.write_text(json.dumps(data))
    return out


def test_restate_writes_the_statistic_into_asvs_own_files(results):
    from asv.results import Results

    path = next((results / "vm").glob("*zarr2.18.7.json"))
    before = Results.load(str(path))
    key = "chunking.Read.time_read_full"
    medians = before.get_result_value(key, before.get_result_params(key))
    assert restate.restate(results) > 0
    after = Results.load(str(path))  # still a valid asv result file
    params = after.get_result_params(key)
    for median, value, stats in zip(medians, after.get_result_value(key, params), after.get_result_stats(key, params)):
        if median is None or math.isnan(median):
            assert value is None or math.isnan(value)
            continue
        assert value == pytest.approx(0.9 * median)  # the fastest process
        # without an interval profile: the range of the process minima (0.9, 1.8 and 2.0 times the median)
        assert stats["ci_99_a"] == pytest.approx(0.9 * median) and stats["ci_99_b"] == pytest.approx(2.0 * median)
    # track_ results and samples are untouched; restating again changes nothing
    storage = "chunking.Storage.track_file_count"
    assert after.get_result_value(storage, params) == before.get_result_value(storage, params)
    assert after.get_result_samples(key, params) == before.get_result_samples(key, params)
    text = path.read_text()
    restate.restate(results)
    assert path.read_text() == text


def test_restate_leaves_results_without_samples_as_asv_wrote_them(tmp_path):
    shutil.copytree(RECORDED, tmp_path / "r")
    before = {p.name: p.read_bytes() for p in (tmp_path / "r" / "vm").glob("*.json")}
    assert restate.restate(tmp_path / "r") == 0
    assert {p.name: p.read_bytes() for p in (tmp_path / "r" / "vm").glob("*.json")} == before


def test_with_an_interval_profile_the_columns_hold_the_machines_band(results):
    """A machine with a measured profile: ci_99_a/ci_99_b are its band around the fastest process, for the modules
    the profile covers; the others keep the range of their processes. The history reads the same bands."""
    from asv.results import Results

    band = Band(0.95, 1.12, 0.90)
    profile = calibration.Profile("vm", {"3x2": band}, ("chunking",))
    profile.save(results.parent / "noise" / "vm-intervals.json")
    assert calibration.default_path(results, "vm") is not None
    restate.restate(results, "vm")
    path = next((results / "vm").glob("*zarr2.18.7.json"))
    after = Results.load(str(path))
    checked = 0
    for key, fastest_to_slowest in (("chunking.Read.time_read_full", (0.95, 1.12)), ("compression.Read.time_read",
                                                                                     (1.0, 2.0 / 0.9))):
        params = after.get_result_params(key)
        for value, stats in zip(after.get_result_value(key, params), after.get_result_stats(key, params)):
            if value is None or math.isnan(value):
                continue
            assert stats["ci_99_a"] == pytest.approx(value * fastest_to_slowest[0])
            assert stats["ci_99_b"] == pytest.approx(value * fastest_to_slowest[1])
            checked += 1
    assert checked > 2
    history = load_history(results, "vm")
    bands = {name.startswith("chunking."): {e.estimate.band and (e.estimate.band.low, e.estimate.band.high)}
             for (_, _, name), e in history.entries.items() if e.estimate is not None}
    assert bands == {True: {(0.95, 1.12)}, False: {None}}


def test_the_report_reads_the_statistic_from_the_samples_whether_restated_or_not(results):
    from zarr_cryoet.asv.results import ReportResults

    loaded = ReportResults.load(results, machine="vm")
    env = loaded.envs[0]
    cell = {"data": "phantom 128³ float32", "chunks": "64x64x64", "zarr_format": 2}
    found = loaded.estimate(env, "chunking.Read.time_read_full", **cell)
    restate.restate(results)
    again = ReportResults.load(results, machine="vm")
    assert again.value(env, "chunking.Read.time_read_full", **cell) == pytest.approx(found.value)
    assert again.estimate(env, "chunking.Read.time_read_full", **cell) == found
    assert found.processes == 3 and found.low == pytest.approx(found.value) and found.high > found.low


@pytest.mark.parametrize("raw, fraction", [("", 0.0), ("0.25", 0.25), ("10%", 0.10), (" 0 ", 0.0)])
def test_the_injection_setting_is_a_fraction_or_a_percentage(raw, fraction):
    assert injection.requested({injection.SLOWDOWN_ENV: raw}) == pytest.approx(fraction)


@pytest.mark.parametrize("raw", ["fast", "-0.1", "20"])
def test_a_bad_injection_setting_is_one_line_naming_the_fix(raw):
    with pytest.raises(injection.InjectionError, match="give a fraction such as 0.1"):
        injection.requested({injection.SLOWDOWN_ENV: raw})


def test_the_injected_slowdown_is_a_fraction_of_the_real_calls_time(monkeypatch):
    """With a clock that the wrapped call moves by 1 s and every look at it by 1 ms, the busy loop after a call
    looks at the clock ``fraction`` seconds' worth: the extra time is the fraction of the real call's."""
    clock = {"now": 0.0, "looks": 0}

    def perf_counter():
        clock["now"] += 0.001
        clock["looks"] += 1
        return clock["now"]

    monkeypatch.setattr(injection.time, "perf_counter", perf_counter)

    def getitem(self, selection):
        clock["now"] += 1.0
        return selection

    slowed = injection.slowed(getitem, 0.25)
    assert slowed(None, "selection") == "selection"
    assert 240 <= clock["looks"] <= 260


def test_installing_the_slowdown_wraps_zarrs_reads_once_and_keeps_them_correct(tmp_path, monkeypatch):
    import zarr

    from zarr_cryoet.store import stores

    original = zarr.Array.__getitem__
    monkeypatch.setattr(zarr.Array, "__getitem__", original)  # restored after the test
    monkeypatch.setattr(injection, "_installed", 0.0)
    volume = np.arange(32 ** 3, dtype="float32").reshape(32, 32, 32)
    path = stores.write_store(tmp_path / "s.zarr", volume, stores.Layout.from_spec("blosc-zstd", "16x16x16", 2))
    assert injection.install(0.1) and injection.installed() == 0.1
    assert zarr.Array.__getitem__ is not original
    wrapped = zarr.Array.__getitem__
    assert injection.install(0.5) and zarr.Array.__getitem__ is wrapped  # does not compound
    assert np.array_equal(stores.open_store(path)[...], volume)
