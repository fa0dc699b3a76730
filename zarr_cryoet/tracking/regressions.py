"""Did the newest asv results get worse? Each new result against its baseline, as a Markdown report.

The nightly job snapshots the results before it runs asv; every result that is
new afterwards is compared with its baseline:

* the same benchmark (with the same parameters) in the same environment at the
  nearest older commit that has a result, or, for an environment that has no
  older result (a zarr release seen for the first time), the environment of
  the previous zarr release at the same commit;
* a **timing** counts as changed when its ratio passes **its own threshold**
  (:class:`Thresholds`): the smallest change it can detect, from its measured noise
  between runs (:mod:`zarr_cryoet.asv.noise`, the machine's noise profile); where the
  profile does not have it, when the suite's one comparison rule calls it slower or faster
  (:mod:`zarr_cryoet.stats.compare`: an exact rank test of the two results' per-process minima,
  with the machine's measured run-to-run band as its margin where the machine has one, and
  Benjamini–Hochberg across the night's timings); with ``--factor``, one factor for all and
  ``asv compare``'s own rules (the ratio past the factor *and* a significant difference). The
  report gives each timing's test (q and the processes of each side) beside its verdict;
* **instruction counts** (``instructions`` module) do not depend on the machine's speed: a
  change beyond :data:`INSTRUCTIONS_CHANGE` counts, and the report lists them first. A count is
  only ever compared with the same environment's count at an older commit: never with another zarr
  release's, never with nothing (a first count is new, not a regression);
* a **timing with a long history** (:data:`change_points.MIN_NIGHTS` earlier nights in its
  environment) is judged across the nights, by a change point among the newest ones
  (:mod:`zarr_cryoet.tracking.change_points`), not against one earlier run;
* **machine-state counters** (:data:`MACHINE_STATE`: page faults) inform; they never alarm.
  Deterministic results (sizes, counts) count at any change;
* a benchmark that now fails is a regression; results of a changed benchmark (new
  ``version``) are not comparable.

Lower is better for times, stored bytes, file counts and errors; higher is better for
compression ratios and the fidelity figures that grow with fidelity (:data:`HIGHER_IS_BETTER`).
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from dataclasses import dataclass
from typing import NamedTuple

from zarr_cryoet.stats.compare import Comparison as Test, adjust, compare
from zarr_cryoet.tracking import change_points
from zarr_cryoet.util.versions import version_key
from zarr_cryoet.asv.entries import Entry, History, Key
from zarr_cryoet.asv.noise import FAMILY_MIN, NoiseProfile, family

#: The ratio a timing must pass when neither a noise profile nor the rank test can judge it (results without
#: recorded samples), with asv compare's significance test.
DEFAULT_FACTOR = 1.5
#: where a timing's verdict comes from when the noise profile does not have it: the comparison rule
RANK_TEST = "rank test"
#: An instruction count (benchmarks/instructions.py) that changes by more than this is a real change, the one
#: threshold of every count: between two clean runs the counts of every case differed by at most 0.9 % (zarr 3;
#: zarr 2 repeats to 0.05 %), the median by 0.03 % (docs/measurement.md, "Instruction counts of every case").
INSTRUCTIONS_CHANGE = 0.015
#: the method-name prefix of instruction counts
INSTRUCTIONS = "track_instructions"
#: counters of the machine's state (benchmarks/process_state.py): reported when they move, never an alarm
MACHINE_STATE = ("track_minor_faults_per_read",)
#: benchmark methods where a larger value is the better one
HIGHER_IS_BETTER = ("track_compression_ratio", "track_psnr", "track_fsc_05_nyquist", "track_fsc_0143_nyquist",
                    "track_particle_ncc_min")
#: the lossy question's fidelity figures (benchmarks/lossy.py): deterministic for one numpy, but floating-point
#: sums and FFTs, so a change below 1 % is round-off, not a codec that keeps less
FIDELITY = ("track_rmse_over_sigma", "track_max_abs_error_over_sigma", "track_psnr", "track_fsc_05_nyquist",
            "track_fsc_0143_nyquist", "track_max_fsc_drop", "track_particle_ncc_min")
FIDELITY_FACTOR = 1.01
#: deterministic results (sizes, counts): any change is a real one, whatever the factor
DETERMINISTIC = ("track_compression_ratio", "track_stored_bytes", "track_file_count", "track_get_requests",
                 "track_bytes_fetched", "track_mismatched_voxels")

REGRESSED, IMPROVED, UNCHANGED, NEW, NOT_COMPARABLE = "regressed", "improved", "unchanged", "new", "not comparable"
MOVED = "moved (informs)"  # a machine-state counter that changed: reported, never an alarm


@dataclass(frozen=True)
class Change:
    kind: str
    name: str  # benchmark with parameters
    env: str
    commit: str
    before: Entry | None = None
    after: Entry | None = None
    baseline_env: str | None = None
    baseline_commit: str | None = None
    threshold: float | None = None  # a timing's own threshold (fraction), where it had one
    threshold_source: str = ""
    test: Test | None = None  # the rank test of the two results' processes, where both have them

    @property
    def benchmark(self) -> str:
        """The benchmark's name without its parameters."""
        return self.name.partition("(")[0]

    @property
    def ratio(self) -> float:
        b, a = self.before.value if self.before else None, self.after.value if self.after else None
        if b is None or a is None or _isnan(b) or _isnan(a) or b == 0:
            return math.nan
        return a / b


def _isnan(value) -> bool:
    return isinstance(value, float) and math.isnan(value)


def higher_is_better(name: str) -> bool:
    return name.partition("(")[0].rpartition(".")[2] in HIGHER_IS_BETTER


@dataclass(frozen=True)
class Thresholds:
    """How far a timing must move to count as a change (see the module docstring)."""

    factor: float | None = None  # one factor for every timing, with asv compare's rules (--factor)
    noise: NoiseProfile | None = None  # the machine's measured noise per timing

    def timing(self, env: str, name: str, before: Entry, after: Entry) -> tuple[float | None, str]:
        """(threshold as a fraction, where it comes from). No threshold: the rank test decides where the source is
        :data:`RANK_TEST`, else asv compare's rules with the factor."""
        if self.factor is not None:
            return None, f"factor {self.factor:g}"
        if self.noise is not None:
            detectable = self.noise.detectable(env, name)
            if detectable is not None:
                return detectable, "noise profile"
        if before.estimate is not None and after.estimate is not None:
            return None, RANK_TEST
        return None, f"factor {DEFAULT_FACTOR:g}"


def rank_test(before: Entry, after: Entry) -> Test | None:
    """The comparison rule on two timings (:func:`zarr_cryoet.stats.compare.compare`: after against before, over
    their per-process minima), with the machine's measured run-to-run band as the margin (the two results come
    from different runs; None where the machine has no profile); None where either has no processes."""
    if before.estimate is None or after.estimate is None:
        return None
    return compare(before.estimate, after.estimate, margin=after.estimate.band)


def classify(name: str, before: Entry, after: Entry, thresholds: Thresholds | None = None, env: str = "",
             use_stats: bool = True, test: Test | None = None) -> str:
    """REGRESSED, IMPROVED, UNCHANGED or NOT_COMPARABLE (see the module docstring). ``test``: the timing's rank
    test, adjusted with the others of its night (:func:`judge`); without it, the test of this timing alone."""
    from asv.commands.compare import _is_result_better

    thresholds = thresholds or Thresholds()
    if before.version is not None and after.version is not None and before.version != after.version:
        return NOT_COMPARABLE
    if before.value is not None and after.value is None:
        return REGRESSED  # it now fails
    if before.value is None and after.value is not None:
        return IMPROVED  # it works again
    if before.value is None or _isnan(before.value) or _isnan(after.value):
        return UNCHANGED  # failed both times, or skipped
    old, new = (before.value, (before.stats, before.samples)), (after.value, (after.stats, after.samples))
    if higher_is_better(name):
        old, new = new, old

    method = name.partition("(")[0].rpartition(".")[2]
    factor = thresholds.factor or DEFAULT_FACTOR
    if method in DETERMINISTIC:
        factor = 1.0  # no noise to allow for
    elif method in FIDELITY:
        factor = FIDELITY_FACTOR
    elif method.startswith(INSTRUCTIONS):
        factor = 1 + INSTRUCTIONS_CHANGE
    elif method.startswith("time_"):
        threshold, source = thresholds.timing(env, name, before, after)
        if threshold is not None:
            ratio = new[0] / old[0] if old[0] else math.inf
            return REGRESSED if ratio > 1 + threshold else IMPROVED if ratio < 1 / (1 + threshold) else UNCHANGED
        if source == RANK_TEST:
            verdict = (test or rank_test(before, after)).verdict
            return {"slower": REGRESSED, "faster": IMPROVED}.get(verdict, UNCHANGED)
    if method in DETERMINISTIC or method in FIDELITY or method.startswith(INSTRUCTIONS):
        use_stats = False  # no samples: the factor alone decides

    def better(a, b):
        return _is_result_better(a[0], b[0], a[1], b[1], factor, use_stats=use_stats)

    if better(new, old):
        return IMPROVED
    if better(old, new):
        return REGRESSED
    return UNCHANGED


def _release(params: dict):
    return version_key(params.get("zarr", "")) or None


def _measured(history: History, key: Key) -> bool:
    """A result that was run: failed (None) or a number, not NaN (skipped, or not selected with --bench)."""
    entry = history.entries.get(key)
    return entry is not None and not _isnan(entry.value)


def find_baseline(history: History, key: Key, commit_order: list[str]) -> tuple[str, str] | None:
    """(environment, commit) of the result ``key`` is compared with, or None."""
    env, commit, name = key
    # the same environment at the nearest older commit
    if commit in commit_order:
        for older in reversed(commit_order[:commit_order.index(commit)]):
            if _measured(history, (env, older, name)):
                return env, older
    elif any(e == env and n == name and c != commit for e, c, n in history.entries):
        return None  # not on the benchmarked branch: no order to compare in
    if _method(name).startswith(INSTRUCTIONS):
        return None  # a count is compared with its own environment's only: another release executes other code
    # a new environment: the previous zarr release, same commit
    this = _release(history.env_params.get(env, {}))
    if this is None:
        return None
    older_releases = [(_release(p), e) for e, p in history.env_params.items()
                      if e != env and _release(p) is not None and _release(p) < this
                      and _measured(history, (e, commit, name))]
    if not older_releases:
        return None
    return max(older_releases)[1], commit


class Comparison(NamedTuple):
    """One result against its baseline; ``pair`` names the two runs compared (a family is judged per pair)."""

    env: str
    name: str
    before: Entry
    after: Entry
    pair: tuple = ()


@dataclass(frozen=True)
class Verdict:
    kind: str
    threshold: float | None = None  # a timing's threshold (fraction), where it had one
    source: str = ""
    test: Test | None = None  # the timing's rank test (q: adjusted across the comparisons judged together)


def judge(rows: list[Comparison], thresholds: Thresholds | None = None, use_stats: bool = True) -> list[Verdict]:
    """The verdict on each comparison, in two stages.

    1. Each result against its own threshold (:func:`classify`). Every timing whose two results have processes
       gets its rank test (:func:`rank_test`), adjusted across all of them (Benjamini–Hochberg: the night's
       comparisons are one family); the test decides where the noise profile has no threshold for the timing.
    2. With a noise profile, each **family** of timings (one benchmark method in one environment, compared
       between the same two runs) against the family's threshold: the mean of their log ratios must pass the
       smallest family shift the profile can detect (:meth:`NoiseProfile.family_detectable`). A regression in
       zarr's code moves a whole family, and a family's mean is far less noisy than any of its timings, so a
       10 % slowdown the timings alone cannot show, the family can. In a family that moved, every timing
       beyond the family's threshold (in the family's direction) is flagged, with the family as its source.
    """
    thresholds = thresholds or Thresholds()
    tests = adjust([rank_test(before, after) if _testable(name, before, after) else None
                    for _, name, before, after, _ in rows])
    verdicts = []
    for (env, name, before, after, _), test in zip(rows, tests):
        kind = classify(name, before, after, thresholds, env, use_stats, test)
        threshold, source = thresholds.timing(env, name, before, after) if ".time_" in name else (None, "")
        verdicts.append(Verdict(kind, threshold, source, test))
    if thresholds.noise is None or thresholds.factor is not None:
        return verdicts
    groups = defaultdict(list)
    for i, (env, name, before, after, pair) in enumerate(rows):
        if ".time_" in name and verdicts[i].kind in (UNCHANGED, REGRESSED, IMPROVED) and _positive(before, after):
            groups[(env, family(name), pair)].append(i)
    for (env, method, _), members in groups.items():
        detectable = thresholds.noise.family_detectable(env, method)
        if detectable is None or len(members) < FAMILY_MIN:
            continue
        logs = {i: math.log(rows[i][3].value / rows[i][2].value) for i in members}
        shift = statistics.mean(logs.values())
        bar = math.log1p(detectable)
        if abs(shift) <= bar:
            continue
        direction, kind = (1, REGRESSED) if shift > 0 else (-1, IMPROVED)
        source = f"family {method} {math.expm1(shift) * 100:+.0f} % (beyond {detectable * 100:.0f} % either way)"
        for i in members:
            if verdicts[i].kind == UNCHANGED and direction * logs[i] > bar / 2:
                verdicts[i] = Verdict(kind, detectable, source, verdicts[i].test)
    return verdicts


def _positive(before: Entry, after: Entry) -> bool:
    return all(e.value is not None and not _isnan(e.value) and e.value > 0 for e in (before, after))


def _testable(name: str, before: Entry, after: Entry) -> bool:
    """A timing whose two results (of one version of the benchmark) both have processes to test."""
    same = before.version is None or after.version is None or before.version == after.version
    return ".time_" in name and same and before.estimate is not None and after.estimate is not None \
        and _positive(before, after)


def compare_new(before: History, history: History, commit_order: list[str],
                thresholds: Thresholds | None = None, use_stats: bool = True) -> list[Change]:
    """Judge every result measured in ``history`` that ``before`` did not have (:func:`judge`)."""
    changes, rows, places = [], [], []
    for key in sorted(k for k in history.entries if _measured(history, k) and not _measured(before, k)):
        env, commit, name = key
        after = history.entries[key]
        baseline = find_baseline(history, key, commit_order)
        if baseline is None:  # nothing to compare with; a failure is still a regression
            changes.append(Change(REGRESSED if after.value is None else NEW, name, env, commit, after=after))
            continue
        rows.append(Comparison(env, name, history.entries[(baseline[0], baseline[1], name)], after,
                               (commit, *baseline)))
        places.append((commit, baseline))
    for (env, name, before_entry, after, _), (commit, baseline), verdict in zip(rows, places,
                                                                              judge(rows, thresholds, use_stats)):
        if ".time_" in name and verdict.kind in (REGRESSED, IMPROVED, UNCHANGED):
            verdict = across_nights(history, (env, commit, name), commit_order) or verdict
        if _method(name) in MACHINE_STATE and verdict.kind in (REGRESSED, IMPROVED):
            verdict = Verdict(MOVED, verdict.threshold, verdict.source, verdict.test)
        changes.append(Change(verdict.kind, name, env, commit, before_entry, after, *baseline, verdict.threshold,
                              verdict.source, verdict.test))
    return sorted(changes, key=lambda c: (c.env, c.commit, c.name))


def across_nights(history: History, key: Key, commit_order: list[str]) -> Verdict | None:
    """A timing's verdict from the change points of its series of nights (its environment, commits in order, up to
    ``key``'s), or None when the series is too short (:mod:`zarr_cryoet.tracking.change_points`)."""
    env, commit, name = key
    if commit not in commit_order:
        return None
    values = [history.entries[(env, c, name)].value for c in commit_order[:commit_order.index(commit) + 1]
              if _measured(history, (env, c, name)) and history.entries[(env, c, name)].value]
    if not change_points.judged(values):
        return None
    shift = change_points.newest_shift(values)
    source = f"change points across {len(values)} nights"
    if shift is None:
        return Verdict(UNCHANGED, None, f"{source}: none among the last {change_points.RECENT}")
    kind = REGRESSED if shift.slower else IMPROVED
    return Verdict(kind, None, f"{source}: {shift.ratio:.2f}× from night {shift.index + 1} (p = {shift.pvalue:.1g})")


def is_instruction_count(change: Change) -> bool:
    return _method(change.name).startswith(INSTRUCTIONS)


def _method(name: str) -> str:
    return name.partition("(")[0].rpartition(".")[2]
