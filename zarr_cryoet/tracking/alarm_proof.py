"""``zarr-cryoet alarm-proof``: does the nightly alarm catch a known slowdown, and only then?

The nightly job flags a timing when it moves past its threshold (:mod:`zarr_cryoet.tracking.regressions`).
This command measures how well that works on this machine, with real asv runs of one commit in one
environment:

* ``--runs N`` **clean pairs** (machines ``proof-clean-<i>a`` and ``proof-clean-<i>b``): every timing
  that the alarm flags between the two runs of a pair is a false alarm;
* for each ``--slowdown`` (default 10 % and 25 %), ``N`` **injected runs** (``proof-<pct>-<i>``), made
  with ``ZARR_CRYOET_INJECT_SLOWDOWN`` (:mod:`zarr_cryoet.measure.injection`: zarr-python's reads that
  much slower): each compared with the clean run ``proof-clean-<i>a``, the share of the timings the
  alarm flags is the detection rate.

The runs alternate (clean, injected, clean, injected …), so the machine's drift meets all of them
alike. The alarm is evaluated with each rule the nightly job can use: the noise profile (measured, for
each pair, from the *other* clean runs only: leave one pair out) and the rank test of the two results'
processes (:mod:`zarr_cryoet.stats.compare`, Benjamini–Hochberg across the run's timings).
``--evaluate-only`` evaluates runs already made. Every number of the table comes from these runs.
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
from dataclasses import dataclass
from pathlib import Path

from zarr_cryoet.util.errors import ZarrCryoetError
from zarr_cryoet.measure.injection import SLOWDOWN_ENV
from zarr_cryoet.asv import config as asv_config, noise
from zarr_cryoet.tracking import regressions
from zarr_cryoet.util import markdown
from zarr_cryoet.asv.entries import History, load_history

#: the reads the proof slows and watches (zarr-python's Array.__getitem__ in every one of them)
BENCH = r"^(chunking|access)\.Read\."
SLOWDOWNS = (0.10, 0.25)


class AlarmProofError(ZarrCryoetError):
    """The proof cannot run: a bad config, environment or slowdown, or runs missing for --evaluate-only."""


def machines(runs: int, slowdowns) -> list[tuple[str, float]]:
    """(machine name, injected slowdown) of every run, in the order they run."""
    order = []
    for i in range(1, runs + 1):
        order.append((f"proof-clean-{i}a", 0.0))
        for k, slowdown in enumerate(slowdowns):
            order.append((f"proof-{round(slowdown * 100)}-{i}", slowdown))
            if k == 0:
                order.append((f"proof-clean-{i}b", 0.0))
    return order


def run_all(config: Path, env_name: str, runs: int, slowdowns, *, bench: str = BENCH, cpu: str = "auto",
            log=print) -> Path:
    """Make every run of the proof; the results directory."""
    from zarr_cryoet.tracking.focused_run import focused_config
    from zarr_cryoet.asv.process import ensure_machine, run_suite

    conf_dir = config.resolve().parent
    conf = asv_config.load(config)
    chosen = [(py, z) for py, z in asv_config.environments(conf) if f"py{py}-zarr{z}" in env_name]
    if not chosen:
        known = ", ".join(f"virtualenv-py{py}-zarr{z}" for py, z in asv_config.environments(conf))
        raise AlarmProofError(f"--env {env_name} is not an environment of {config}; choose one of {known}")
    focused = focused_config(conf, conf_dir, *chosen[0])
    handle, path = tempfile.mkstemp(prefix="alarm-proof-", suffix=".conf.json", dir=Path(focused["results_dir"]).parent)
    with os.fdopen(handle, "w") as out:
        json.dump(focused, out, indent=2)
    conf_path = Path(path)
    try:
        for machine, slowdown in machines(runs, slowdowns):
            ensure_machine(conf_path, machine, conf_dir)
            env = {**os.environ, SLOWDOWN_ENV: str(slowdown)} if slowdown else \
                {k: v for k, v in os.environ.items() if k != SLOWDOWN_ENV}
            log(f"[alarm-proof] {machine}: slowdown {slowdown:.0%}")
            run_suite(conf_path, focused, ["HEAD^!", "--machine", machine, "--bench", bench,
                                           *asv_config.cpu_affinity(cpu)], conf_dir, env)
    finally:
        conf_path.unlink(missing_ok=True)
    return Path(focused["results_dir"])


@dataclass
class Outcome:
    """One rule's record over the proof's runs."""

    rule: str
    false_alarms: list[int]  # per clean pair: timings flagged as regressions
    false_improvements: list[int]  # per clean pair: timings flagged as improvements
    detected: dict  # slowdown -> [share flagged, per run]
    timings: int  # timings per run


def _values(history: History) -> dict:
    return {(env, name): e for (env, _, name), e in history.entries.items() if ".time_" in name
            and e.value is not None and e.value == e.value}


def evaluate(results_dir: Path, runs: int, slowdowns) -> tuple[list[Outcome], dict]:
    """The false alarms and detection rates of every rule; and the measured slowdowns (median ratio per run)."""
    order = machines(runs, slowdowns)
    histories = {m: load_history(results_dir, m) for m, _ in order}
    missing = [m for m, h in histories.items() if not h.entries]
    if missing:
        raise AlarmProofError(f"no results for {', '.join(missing)} in {results_dir}; make the runs first "
                              "(without --evaluate-only)")
    values = {m: _values(h) for m, h in histories.items()}
    commit = histories[order[0][0]].commits()[0]
    pairs = [(f"proof-clean-{i}a", f"proof-clean-{i}b") for i in range(1, runs + 1)]
    rules = {"asv compare's rules, factor 1.1 (Mann-Whitney on the samples)":
             lambda i: regressions.Thresholds(factor=1.1),
             "the rank test of the two results' processes (Benjamini–Hochberg across the run)":
             lambda i: regressions.Thresholds()}
    if runs >= 2:
        def leave_one_out(i):
            others = {m: histories[m] for pair in pairs if pair != pairs[i] for m in pair}
            return regressions.Thresholds(noise=noise.measure(others, commit))
        rules["noise profile (other pairs)"] = leave_one_out
    outcomes, measured = [], {}
    for (rule, make), confirm in [(item, False) for item in rules.items()] + [(item, True) for item in rules.items()
                                                                              if "noise profile" in item[0]]:
        rule = f"{rule}, then the suspects again" if confirm else rule
        false_alarms, false_improvements = [], []
        detected = {s: [] for s in slowdowns}
        for i, (a, b) in enumerate(pairs):
            thresholds = make(i)
            # the second look: the first look's suspects in the next run of the same kind (an independent set of
            # processes, as the nightly job's re-run)
            again = pairs[(i + 1) % len(pairs)][1]
            kinds = _classify(values[a], values[b], thresholds, values[again] if confirm else None)
            false_alarms.append(kinds.count(regressions.REGRESSED))
            false_improvements.append(kinds.count(regressions.IMPROVED))
            for slowdown in slowdowns:
                injected = f"proof-{round(slowdown * 100)}-{i + 1}"
                again = f"proof-{round(slowdown * 100)}-{(i + 1) % runs + 1}"
                kinds = _classify(values[a], values[injected], thresholds, values[again] if confirm else None)
                detected[slowdown].append(kinds.count(regressions.REGRESSED) / len(kinds))
                common = set(values[a]) & set(values[injected])
                measured.setdefault(slowdown, []).append(
                    statistics.median(values[injected][k].value / values[a][k].value for k in common))
        outcomes.append(Outcome(rule, false_alarms, false_improvements, detected, len(values[pairs[0][0]])))
    return outcomes, {s: v[:runs] for s, v in measured.items()}


def _classify(before: dict, after: dict, thresholds, again: dict | None = None) -> list[str]:
    """The verdicts on every timing both runs have; with ``again`` (another run of the same kind), the suspects
    judged a second time on its results, as the nightly job confirms an alarm with a fresh run of them."""
    keys = sorted(set(before) & set(after))
    rows = [regressions.Comparison(env, name, before[(env, name)], after[(env, name)]) for env, name in keys]
    kinds = [verdict.kind for verdict in regressions.judge(rows, thresholds)]
    if again is None or regressions.REGRESSED not in kinds:
        return kinds
    second = [row._replace(after=again[key])
              if kind == regressions.REGRESSED and ".time_" in row.name and key in again else row
              for row, kind, key in zip(rows, kinds, keys)]
    return [first if first != regressions.REGRESSED else verdict.kind
            for first, verdict in zip(kinds, regressions.judge(second, thresholds))]


def table(outcomes: list[Outcome], measured: dict, runs: int) -> str:
    lines = markdown.table(["rule", f"false alarms per clean run (regressions; each of {runs} pairs)",
                            "false improvements per run",
                            *(f"flagged at +{round(s * 100)} % (mean; each run)" for s in measured)])
    for o in outcomes:
        cells = [f"{statistics.mean(o.false_alarms):.1f} of {o.timings} ({', '.join(map(str, o.false_alarms))})",
                 f"{statistics.mean(o.false_improvements):.1f}"]
        cells += [f"{statistics.mean(o.detected[s]):.0%} ({', '.join(f'{d:.0%}' for d in o.detected[s])})"
                  for s in measured]
        lines.append(markdown.row([o.rule, *cells]))
    lines += ["", "Measured slowdown of the injected runs (median over timings of injected ÷ clean, per run): "
              + "; ".join(f"+{round(s * 100)} %: " + ", ".join(f"{r:.3f}" for r in v) for s, v in measured.items())]
    return "\n".join(lines)
