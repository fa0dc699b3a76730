"""From an alarm to the commit that caused it: bisection over the commits between the last good night and this one.

The nightly job benchmarks the newest commits only (``--max-commits``); when a timing regressed between
the last benchmarked commit (the good night) and tonight's, the commits in between were never measured.
:func:`bisect_alarm` finds the first bad one with its own loop over ``asv run <commit>``: only the flagged
timings, judged with the alarm's own rule (:func:`regressions.judge`: instruction counts by their one
threshold, which makes such a probe exact; timings by the machine's noise profile, else the rank test of the
two results' processes, and each family of timings by its common shift), each probe compared with the good
night's result.

Several flagged timings share one bisection: every probe runs them all, and they part ways only where
their verdicts differ (:func:`first_bad`), so one cause costs ``log2(n)`` probes whatever the number of
timings it slowed, and two causes in one range are both found.

We use our own loop rather than ``asv find``: ``asv find`` looks for the largest jump of one benchmark by
asv's own statistic, keeps no results and prints its answer as text; this loop uses the suite's statistic
and thresholds, keeps every probe's results in the results directory (the dashboard shows them), and
returns what the report needs. A commit that cannot be benchmarked (its build fails) counts as bad, and
the report says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from zarr_cryoet.util.files import write_atomically
from zarr_cryoet.stats.compare import versus_text
from zarr_cryoet.tracking import alarm, regressions
from zarr_cryoet.asv.entries import Entry, load_history, value_text
from zarr_cryoet.util import markdown


@dataclass(frozen=True, order=True)
class Suspect:
    """One flagged timing: environment and benchmark name with parameters."""

    env: str
    name: str


def first_bad(commits: list[str], suspects: Iterable[Suspect],
              is_bad: Callable[[str, list[Suspect]], set[Suspect]]) -> dict[str, list[Suspect]]:
    """The first bad commit of each suspect, found by bisection.

    ``commits`` are oldest first; every suspect is good at ``commits[0]`` and bad at ``commits[-1]``.
    ``is_bad(commit, group)`` measures the group at one commit (one probe) and returns the suspects that are bad
    there. Suspects stay in one group, probed together, until their verdicts differ. Returns
    ``{first bad commit: its suspects}``.
    """
    found: dict[str, list[Suspect]] = {}

    def search(lo: int, hi: int, group: list[Suspect]) -> None:
        if hi - lo <= 1:
            found.setdefault(commits[hi], []).extend(group)
            return
        mid = (lo + hi) // 2
        bad = is_bad(commits[mid], group)
        late = [s for s in group if s not in bad]
        if bad:
            search(lo, mid, [s for s in group if s in bad])
        if late:
            search(mid, hi, late)

    group = sorted(set(suspects))
    if group and len(commits) >= 2:
        search(0, len(commits) - 1, group)
    return found


@dataclass
class Culprit:
    """The first bad commit of some flagged timings, with the evidence."""

    commit: str
    parent: str
    subject: str
    suspects: list[Suspect]
    before: dict[Suspect, Entry | None]  # at the parent
    after: dict[Suspect, Entry | None]  # at the culprit
    probes: int  # asv runs the whole bisection took (shared by every culprit it found)
    range_size: int  # commits after the good night up to tonight's
    unbuildable: bool = False  # the culprit has no result: it could not be benchmarked
    profile: object | None = None  # profile_comparison.Comparison, when profiled


@dataclass
class Probe:
    """Runs the flagged timings at one commit with asv and judges them against the good night's results."""

    run: Callable[[str, list[str]], int]  # (commit, asv --bench arguments) -> asv's exit status
    results_dir: Path
    machine: str
    good: str  # the good night's commit
    thresholds: regressions.Thresholds
    runs: int = 0
    seen: dict = field(default_factory=dict)  # commit -> History after its probe

    def __call__(self, commit: str, group: list[Suspect]) -> set[Suspect]:
        self.runs += 1
        self.run(commit, alarm.bench_arguments(s.name for s in group))
        history = load_history(self.results_dir, self.machine)
        self.seen[commit] = history
        pairs = [(history.entries.get((s.env, self.good, s.name)), history.entries.get((s.env, commit, s.name)))
                 for s in group]
        # the alarm's own rule (regressions.judge): each result against its threshold, the group's rank tests
        # adjusted together, and each family of timings against its common shift; counts by their one threshold
        compared = [(suspect, regressions.Comparison(suspect.env, suspect.name, before, after,
                                                     (commit, suspect.env, self.good)))
                    for suspect, (before, after) in zip(group, pairs) if before is not None and after is not None]
        verdicts = regressions.judge([row for _, row in compared], self.thresholds)
        bad = {suspect for suspect, (before, after) in zip(group, pairs) if before is None or after is None}
        bad |= {suspect for (suspect, _), verdict in zip(compared, verdicts) if verdict.kind == regressions.REGRESSED}
        return bad


def bisect_alarm(order: list[str], good: str, bad: str, suspects: list[Suspect], probe: Probe,
                 subject: Callable[[str], str]) -> list[Culprit]:
    """Bisect the commits after ``good`` up to ``bad`` (``order``: the branch, oldest first) for ``suspects``,
    flagged between ``good`` and ``bad``; the culprits, oldest first."""
    commits = order[order.index(good):order.index(bad) + 1]
    found = first_bad(commits, suspects, probe)
    history = load_history(probe.results_dir, probe.machine)
    culprits = []
    for commit in sorted(found, key=commits.index):
        parent = commits[commits.index(commit) - 1]
        group = found[commit]
        after = {s: history.entries.get((s.env, commit, s.name)) for s in group}
        culprits.append(Culprit(commit, parent, subject(commit), group,
                                {s: history.entries.get((s.env, parent, s.name)) for s in group}, after,
                                probe.runs, len(commits) - 1,
                                unbuildable=all(e is None or e.value is None for e in after.values())))
    return culprits


def alarm_groups(changes, order: list[str]) -> dict[tuple[str, str], list[Suspect]]:
    """The confirmed regressions of timings between two commits of the branch, grouped by (good, bad) commits:
    one bisection each. Regressions between releases at one commit (a new zarr environment) have no range."""
    groups: dict[tuple[str, str], list[Suspect]] = {}
    for change in alarm.confirmable(changes):
        good, bad = change.baseline_commit, change.commit
        if good and good != bad and good in order and bad in order:
            groups.setdefault((good, bad), []).append(Suspect(change.env, change.name))
    return groups


def _versus(before: Entry | None, after: Entry | None) -> str:
    """``21.00× (p = 0.008, 5 v 5)``: after ÷ before with the rank test of their processes (the machine's run-to-run
    band as its margin, where measured), else the bare ratio."""
    if not (before and after and before.value and after.value):
        return "–"
    test = regressions.rank_test(before, after)
    return versus_text(test) if test is not None else f"{after.value / before.value:.2f}×"


def render(culprits: list[Culprit], names: Callable[[str], str]) -> str:
    """The report's section on culprits, in Markdown."""
    if not culprits:
        return ""
    lines = ["## Culprit" + ("s" if len(culprits) > 1 else ""), ""]
    for c in culprits:
        lines.append(f"### {names(c.commit)}: {c.subject}")
        lines.append("")
        lines.append(f"First bad commit after {names(c.parent)} (its parent), found in {c.probes} asv run(s) over "
                     f"{c.range_size} commit(s); it slowed {len(c.suspects)} timing(s)."
                     + (" It could not be benchmarked (no result): the first commit that could, after a good one."
                        if c.unbuildable else ""))
        lines += ["", *markdown.table(["timing", "environment", "before (parent)", "after (culprit)",
                                       "ratio (rank test)"])]
        for s in c.suspects:
            before, after = c.before.get(s), c.after.get(s)
            was, now = (value_text(e, "not benchmarked") for e in (before, after))
            lines.append(markdown.row([f"`{s.name}`", s.env, was, now, _versus(before, after)]))
        if c.profile is not None:
            lines += ["", c.profile.markdown()]
        lines.append("")
    return "\n".join(lines)


def write_hashfile(path: Path, commits: list[str]) -> Path:
    write_atomically(path, "\n".join(commits) + "\n")
    return path


def on_alarm(changes, order: list[str], conf_path: Path, conf: dict, machine: str, cwd: Path,
             thresholds: regressions.Thresholds, asv_args: list[str], state: Path, log) -> tuple[list[Culprit], str]:
    """The nightly job's step after a confirmed alarm: bisect each flagged commit range, profile each culprit
    against its parent, and return the culprits and the report's section on them."""
    import json
    import shutil

    from asv.config import Config
    from asv.repo import get_repo

    from zarr_cryoet.tracking import profile_comparison
    from zarr_cryoet.asv.process import run_suite

    groups = alarm_groups(changes, order)
    if not groups:
        return [], ""
    repo = get_repo(Config.load(str(conf_path)))

    def subject(commit: str) -> str:
        try:
            return repo._run_git(["log", "-1", "--format=%s", commit], dots=False).strip()
        except Exception:  # a repository asv cannot read the subject from: the hash alone
            return ""

    def names(commit: str) -> str:
        return repo.get_decorated_hash(commit, 8)

    def run_at(config: Path, settings: dict, commits: list[str], args: list[str]) -> int:
        hashfile = write_hashfile(state / "bisect-commits.txt", commits)
        return run_suite(config, settings, [f"HASHFILE:{hashfile}", "--show-stderr", "--machine", machine,
                                            *asv_args, *args], cwd)

    # the profiling runs' results go to a directory of their own: a --quick run is not a timing for the history
    profile_results = state / "profiles" / "results"
    shutil.rmtree(profile_results, ignore_errors=True)
    profile_conf = {**conf, "results_dir": str(profile_results)}
    profile_conf_path = state / "asv.profile.conf.json"
    write_atomically(profile_conf_path, json.dumps(profile_conf, indent=2))

    culprits: list[Culprit] = []
    for (good, bad), suspects in sorted(groups.items(), key=lambda item: order.index(item[0][1])):
        between = order.index(bad) - order.index(good) - 1
        log(f"bisecting {len(suspects)} flagged timing(s) over {between + 1} commit(s) after {good[:8]} "
            f"up to {bad[:8]}")
        probe = Probe(lambda commit, args: run_at(conf_path, conf, [commit], args), Path(conf["results_dir"]),
                      machine, good, thresholds)
        found = bisect_alarm(order, good, bad, suspects, probe, subject)
        for culprit in found:
            worst = max(culprit.suspects, key=lambda s: _ratio(culprit.before.get(s), culprit.after.get(s)))
            log(f"culprit {culprit.commit[:8]} after {probe.runs} probe(s); profiling {worst.name} at it and its "
                "parent")
            culprit.profile = profile_comparison.profile_pair(
                lambda commits, args: run_at(profile_conf_path, profile_conf, commits, args), profile_conf,
                worst.env, worst.name, culprit.parent, culprit.commit, state / "profiles")
        culprits += found
    return culprits, render(culprits, names)


def _ratio(before: Entry | None, after: Entry | None) -> float:
    if before is None or after is None or not before.value or not after.value:
        return 0.0
    return after.value / before.value
