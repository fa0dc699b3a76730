"""The statistics module on known inputs: the estimate and its text, the rank test against scipy's, Benjamini–
Hochberg, the bands' coverage on a simulated two-speed machine, and the release ratio's interval."""

import math
import random

import pytest

from zarr_cryoet.stats import calibration, compare, estimate, release
from zarr_cryoet.stats.estimate import Band, Estimate

# no zarr in these tests (recorded asv results and statistics only): run under the newest zarr alone
pytestmark = pytest.mark.once

scipy_stats = pytest.importorskip("scipy.stats")


def test_the_value_is_the_fastest_process_and_samples_are_grouped_by_process():
    samples = [2.0, 2.1, 1.0, 1.9, 2.2, 2.0]  # three processes of two samples; the second caught the fast state
    found = estimate.estimate(samples, per_process=2)
    assert (found.value, found.minima, found.processes, found.samples) == (1.0, (2.0, 1.0, 2.0), 3, 6)
    assert estimate.split_processes(samples, 4) == [[s] for s in samples]  # not whole rounds: one per sample
    assert estimate.estimate([], 2) is None and estimate.estimate([float("nan")], 1) is None
    assert estimate.of_processes([[0.3], [0.2, 0.5]]).value == 0.2


def test_without_a_band_the_interval_is_the_range_of_the_processes_with_their_count():
    two = estimate.estimate([0.261, 0.594], per_process=1)
    assert (two.low, two.high, two.calibrated) == (0.261, 0.594, False)
    assert str(two) == "261.0 ms (range 261.0–594.0, n=2)"
    assert str(estimate.estimate([1.5], 1)) == "1.50 s (n=1)"
    assert "±" not in str(two)


def test_a_band_is_asymmetric_and_says_so_in_brackets():
    band = Band(0.95, 1.20, 0.9)
    found = estimate.estimate([0.0257, 0.026, 0.031, 0.027, 0.0258], 1, band)
    assert found.low == pytest.approx(0.0257 * 0.95) and found.high == pytest.approx(0.0257 * 1.2)
    assert str(found) == "25.7 ms [24.4–30.8, n=5]"


def test_a_sum_adds_the_processes_in_run_order_and_keeps_a_shared_band():
    band = Band(0.9, 1.1, 0.9)
    a, b = Estimate(1.0, (1.0, 2.0), 2, band), Estimate(3.0, (4.0, 3.0), 2, band)
    total = estimate.summed([a, b])
    assert (total.value, total.minima, total.band) == (4.0, (5.0, 5.0), band)
    assert estimate.summed([a, Estimate(3.0, (3.0,), 1)]).band is None


@pytest.mark.parametrize("a,b", [([1.0, 1.1, 1.2, 1.3, 1.4], [2.0, 2.1, 2.2, 2.3, 2.4]),
                                 ([1.0, 1.5, 1.2, 1.9, 1.4], [1.1, 1.7, 1.25, 1.35, 2.0]),
                                 ([0.3, 0.1, 0.2], [0.25, 0.35, 0.15, 0.05])])
def test_the_rank_test_gives_scipys_exact_two_sided_p(a, b):
    found = compare.compare(Estimate(min(a), tuple(a), len(a)), Estimate(min(b), tuple(b), len(b)))
    expected = scipy_stats.mannwhitneyu(b, a, alternative="two-sided", method="exact").pvalue
    assert found.p == pytest.approx(expected)


def test_too_few_processes_can_never_be_called_different():
    apart = compare.compare(Estimate(1.0, (1.0, 1.01, 1.02), 3), Estimate(2.0, (2.0, 2.01, 2.02), 3))
    assert apart.p == pytest.approx(0.1) and apart.verdict == "~" and not apart.testable
    assert compare.smallest_p(2, 2) == pytest.approx(1 / 3) and compare.smallest_p(5, 5) == pytest.approx(2 / 252)
    five = compare.compare(Estimate(1.0, (1.0, 1.01, 1.02, 1.03, 1.04), 5), Estimate(2.0, (2.0, 2.1, 2.2, 2.3, 2.4), 5))
    assert five.testable and five.verdict == "slower" and five.text() == "p = 0.008, 5 v 5"
    assert compare.versus_text(five) == "2.00× (p = 0.008, 5 v 5)"


def test_a_margin_absorbs_a_shift_within_the_machines_band():
    a = Estimate(1.0, (1.0, 1.01, 1.02, 1.03, 1.04), 5)
    b = Estimate(1.1, (1.10, 1.11, 1.12, 1.13, 1.14), 5)  # 10 % slower in every process
    assert compare.compare(a, b).verdict == "slower"
    assert compare.compare(a, b, margin=Band(0.85, 1.15, 0.9)).verdict == "~"
    assert compare.compare(a, b, margin=Band(0.95, 1.05, 0.9)).verdict == "slower"


def test_benjamini_hochberg_matches_scipy_and_keeps_none():
    comparisons = [compare.Comparison(1.5, p, (5, 5)) for p in (0.008, 0.02, 0.03, 0.5)]
    adjusted = compare.adjust([comparisons[0], None, *comparisons[1:]])
    assert adjusted[1] is None
    expected = scipy_stats.false_discovery_control([0.008, 0.02, 0.03, 0.5])
    assert [c.q for c in adjusted if c] == pytest.approx(list(expected))
    assert [c.verdict for c in adjusted if c] == ["slower", "slower", "slower", "~"]


def _two_speed_run(rng, base, hour, processes=5, samples=2):
    """One run's timing on a simulated VM of two speeds (FACTS.md: a fast and a ~1.7× slower state, switching every
    second or so, the slow one usual), with an hour-level factor shared by the run's timings."""
    minima = []
    for _ in range(processes):
        fast = any(rng.random() < 0.35 for _ in range(samples))
        minima.append(base * hour * (1.0 if fast else 1.7) * math.exp(rng.gauss(0, 0.02)))
    return Estimate(min(minima), tuple(minima), processes * samples)


def _simulated_runs(seed, count=24, timings=40):
    rng = random.Random(seed)
    bases = [rng.uniform(0.002, 0.2) for _ in range(timings)]
    runs = []
    for r in range(count):
        hour = math.exp(rng.gauss(0, 0.04))  # this VM's slow hours: every timing ~ 4-11 % higher
        runs.append(calibration.Run(r * 600.0, {f"t{i}": _two_speed_run(rng, b, hour) for i, b in enumerate(bases)}))
    return runs


def test_the_bands_cover_what_they_state_on_held_out_simulated_runs():
    runs = _simulated_runs(1)
    fit_pairs = calibration.apart(runs, range(0, 24, 2), 0)
    check_pairs = calibration.apart(runs, range(1, 24, 2), 3600)
    bands = calibration.fit(runs, fit_pairs)
    measured = calibration.check(runs, check_pairs, bands).measured()
    assert abs(measured - calibration.COVERAGE) <= 0.05, measured
    assert bands["5x2"].low < 1 < bands["5x2"].high


def test_the_rule_calls_few_aa_timings_different_on_the_simulated_machine():
    rng = random.Random(7)
    called = total = 0
    for _ in range(40):  # 40 A/A "runs" of 40 timings: two environments, same code, same hour
        tests = compare.adjust([compare.compare(_two_speed_run(rng, 0.01, 1.0), _two_speed_run(rng, 0.01, 1.0))
                                for _ in range(40)])
        called += sum(c.differs for c in tests)
        total += len(tests)
    assert called / total <= 0.05


def test_a_profile_gives_bands_to_its_modules_and_schedules_only(tmp_path):
    profile = calibration.Profile("vm", {"5x2": Band(0.9, 1.2, 0.9)}, ("chunking",), 0.02, {"held_out_coverage": 0.9})
    path = profile.save(tmp_path / "noise" / "vm-intervals.json")
    loaded = calibration.Profile.load(path)
    five = Estimate(1.0, (1.0,) * 5, 10)
    assert loaded.band("chunking.Read.time_read_full", five).high == 1.2
    assert loaded.band("realistic.UseCases.time_read_full", five) is None
    assert loaded.band("chunking.Write.time_write", Estimate(1.0, (1.0,) * 3, 3)) is None
    assert calibration.default_path(tmp_path / "results", "vm") == path
    assert calibration.default_path(tmp_path / "results", "other") is None


def test_the_release_interval_resamples_methods_not_timings():
    same = [compare.Comparison(1.0, 1.0, (5, 5))]
    # two methods: one 1.2x slower in 30 timings, one 0.9x in 30: the timings are not 60 independent draws
    cells = [("a.time_x", compare.Comparison(1.2, 0.5, (5, 5)))] * 30 + [("b.time_y", compare.Comparison(0.9, 0.5, (5, 5)))] * 30
    found = release.release_ratio(cells)
    assert found.methods == 2 and found.timings == 60
    assert found.low <= 0.91 and found.high >= 1.19  # either method alone is possible
    widened = release.release_ratio([("a.t", same[0])] * 10 + [("b.t", same[0])] * 10, release_log_sd=0.05)
    assert widened.low < 1 < widened.high and release.release_ratio([("a.t", same[0])] * 3).low == 1.0
    assert release.method("chunking.Read.time_read_full('phantom', '16x16x16', 2)") == "chunking.Read.time_read_full"
