"""``zarr-cryoet intervals``: measure a machine's interval bands from many runs of one commit, and prove the rule.

Input: several asv runs of one commit (``tools/aa_runs.py`` makes them: an asv config whose matrix holds one zarr
release twice, in two environments that differ by an environment variable only, run back to back for hours; each
run's result files are kept in a folder of their own). From them:

* **A/A within one run**: the two environments' timings compared by the one rule (:mod:`zarr_cryoet.stats.compare`,
  Benjamini–Hochberg across the run's timings): the share called different, per run;
* **A/A between runs**: the same environment in two runs at least an hour apart, without a margin and with the
  machine's band as the margin (how the nightly job compares nights);
* **the bands**: fitted on some runs (:func:`zarr_cryoet.stats.calibration.fit`), and their coverage measured on
  runs held out, overall, per schedule and per benchmark method;
* **a release ratio's run-to-run term**: the geometric mean of B ÷ A over the timings of each run; its spread
  between runs is the ``release_log_sd`` that :mod:`zarr_cryoet.stats.release` adds to the release line.

``--save`` writes the profile that the report reads for the machine (``<results>/../noise/<machine>-intervals.json``;
the shipped one is ``recorded/noise/vm-intervals.json``).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from pathlib import Path

from zarr_cryoet.util.errors import ZarrCryoetError
from zarr_cryoet.stats import calibration
from zarr_cryoet.stats.calibration import Profile, Run
from zarr_cryoet.stats.compare import adjust, compare
from zarr_cryoet.stats.estimate import estimate
from zarr_cryoet.stats.release import method
from zarr_cryoet.util import markdown

#: the benchmark classes a fitted band is given to: those the A/A runs measure (tools/aa_runs.py's default), where its
#: coverage is checked; other classes, with other noise (HTTP, S3, every core, portal size), keep their range
MEASURED = ("chunking.Read", "chunking.Write")
HOUR = 3600.0


class IntervalsError(ZarrCryoetError, ValueError):
    """Bad input: one line for the user."""


@dataclass
class Unit:
    """One environment of one run: its run's index, the environment's name and its timings."""

    run: int
    env: str
    timings: Run


def load_runs(folders: list[Path]) -> list[Unit]:
    """Every environment of every run folder (asv result files of one commit, ``benchmarks.json`` beside them or
    in the parent folder)."""
    from asv.commands.compare import unroll_result
    from asv.results import Results
    from asv.util import load_json

    from zarr_cryoet.asv.restate import per_process_counts

    units = []
    for index, folder in enumerate(folders):
        index_file = next((p for p in (folder / "benchmarks.json", folder.parent / "benchmarks.json") if p.is_file()),
                          None)
        if index_file is None:
            raise IntervalsError(f"no benchmarks.json in {folder} or its parent; copy asv's results/benchmarks.json "
                                 "there")
        counts = per_process_counts(load_json(str(index_file)))
        files = sorted(p for p in folder.glob("*.json") if p.name not in ("machine.json", "benchmarks.json"))
        if not files:
            raise IntervalsError(f"no asv result files in {folder}")
        for path in files:
            result = Results.load(str(path))
            timings = {}
            for key in result.get_all_result_keys():
                if key not in counts:
                    continue
                params = result.get_result_params(key)
                for name, value, _, samples in unroll_result(key, params, result.get_result_value(key, params),
                                                             result.get_result_stats(key, params),
                                                             result.get_result_samples(key, params)):
                    found = estimate(samples or [], counts[key]) if value is not None else None
                    if found is not None and math.isfinite(found.value):
                        timings[name] = found
            started = min((t for t in (result.started_at or {}).values() if t), default=0) / 1e3
            units.append(Unit(index, result.env_name, Run(started, timings, f"{folder.name}:{result.env_name}")))
    return units


def within_run(units: list[Unit]) -> list[tuple[int, int, int, int]]:
    """Per run with two environments: (run, timings, called different by the rule adjusted across the run, p < 0.05
    before the adjustment)."""
    out = []
    for run in sorted({u.run for u in units}):
        pair = [u for u in units if u.run == run]
        if len(pair) != 2:
            continue
        a, b = (u.timings.timings for u in pair)
        names = sorted(a.keys() & b.keys())
        raw = [compare(a[n], b[n]) for n in names]
        tests = adjust(raw)
        out.append((run, len(names), sum(c.differs for c in tests), sum(c.p < 0.05 for c in raw)))
    return out


def between_runs(units: list[Unit], bands: dict | None, at_least_s: float = HOUR) -> list[tuple[int, int, int, int]]:
    """Per pair of runs at least ``at_least_s`` apart, the first environment of each: (run i, run j, timings,
    called different), with the bands as the margin where given."""
    firsts = {}
    for u in units:
        firsts.setdefault(u.run, u)
    out = []
    runs = sorted(firsts)
    for x, i in enumerate(runs):
        for j in runs[x + 1:]:
            a, b = firsts[i].timings, firsts[j].timings
            if abs(b.started - a.started) < at_least_s:
                continue
            names = sorted(a.timings.keys() & b.timings.keys())
            margin = (lambda n: bands.get(calibration.schedule_key(a.timings[n]))) if bands else (lambda n: None)
            tests = adjust([compare(a.timings[n], b.timings[n], margin=margin(n)) for n in names])
            out.append((i, j, len(names), sum(c.differs for c in tests)))
    return out


def release_log_sd(units: list[Unit]) -> tuple[float | None, list[float]]:
    """The spread (standard deviation of the logarithm) between runs of the geometric mean of B ÷ A over a run's
    timings, and the per-run geometric means."""
    means = []
    for run in sorted({u.run for u in units}):
        pair = [u.timings.timings for u in units if u.run == run]
        if len(pair) != 2:
            continue
        names = pair[0].keys() & pair[1].keys()
        logs = [math.log(pair[1][n].value / pair[0][n].value) for n in names]
        if logs:
            means.append(sum(logs) / len(logs))
    return (statistics.stdev(means) if len(means) > 2 else None), [math.exp(m) for m in means]


def fit_and_check(units: list[Unit], fit_runs: set[int], check_runs: set[int], at_least_s: float = HOUR):
    """Fit the bands on pairs of ``fit_runs`` units and measure their coverage on pairs of ``check_runs`` units, both at
    least ``at_least_s`` apart: (bands, coverage by schedule, coverage by method, fitted pairs, checked pairs)."""
    runs = [u.timings for u in units]
    # fitted on pairs as far apart as the ones it is checked on: the band's meaning is "another run, hours later",
    # and pairs minutes apart miss the machine's slow hours (measured: 77 % coverage instead of 88 % here)
    fit_pairs = [(x, y) for x in range(len(units)) for y in range(x + 1, len(units))
                 if units[x].run in fit_runs and units[y].run in fit_runs and units[x].run != units[y].run
                 and abs(runs[x].started - runs[y].started) >= at_least_s]
    check_pairs = [(x, y) for x in range(len(units)) for y in range(x + 1, len(units))
                   if units[x].run in check_runs and units[y].run in check_runs and units[x].run != units[y].run
                   and abs(runs[x].started - runs[y].started) >= at_least_s]
    if not fit_pairs or not check_pairs:
        raise IntervalsError("too few runs to fit and to check the bands: give at least four runs, spread over more "
                             f"than {at_least_s / HOUR:g} h")
    bands = calibration.fit(runs, fit_pairs)
    by_schedule = calibration.check(runs, check_pairs, bands)
    by_method = calibration.check(runs, check_pairs, bands, group=lambda name, found: method(name))
    return bands, by_schedule, by_method, len(fit_pairs), len(check_pairs)


def machine_log_sd(pairs: list[str]) -> float | None:
    """The between-machine term from measured pairs ``HERE:THERE`` of one release ratio on two machines (the same
    benchmark code): the largest shift of its logarithm (with one or two pairs, no spread can be estimated; the
    largest shift is the cautious stand-in)."""
    shifts = []
    for pair in pairs:
        here, _, there = pair.partition(":")
        try:
            shifts.append(abs(math.log(float(there) / float(here))))
        except ValueError:
            raise IntervalsError(f"--between-machines {pair!r}: give two release ratios as HERE:THERE, "
                                 "e.g. 1.484:1.375") from None
    return max(shifts) if shifts else None


def analyse(folders: list[Path], machine: str, save: Path | None = None, modules=MEASURED,
            at_least_s: float = HOUR, between_machines: list[str] = ()) -> str:
    """The whole measurement as Markdown (docs/measurement.md quotes it); ``save``: write the machine's profile."""
    folders = [Path(f) for f in folders]
    missing = [str(f) for f in folders if not f.is_dir()]
    if missing:
        raise IntervalsError(f"not a folder: {', '.join(missing)}; give the run folders tools/aa_runs.py wrote")
    units = load_runs(folders)
    starts = {u.run: u.timings.started for u in units}
    order = sorted(starts, key=starts.get)
    span_h = (starts[order[-1]] - starts[order[0]]) / HOUR if order else 0
    lines = [f"{len(order)} runs of one commit, {len(units)} environments, over {span_h:.1f} h.", ""]

    inside = within_run(units)
    if inside:
        shares = [d / n for _, n, d, _ in inside if n]
        total = max(1, sum(n for _, n, _, _ in inside))
        called, raw = sum(d for _, _, d, _ in inside), sum(r for *_, r in inside)
        lines += ["**A/A within one run** (two environments of one zarr release, interleaved; the rule: exact "
                  "Mann–Whitney over the processes, Benjamini–Hochberg q < 0.05 across the run's timings):",
                  "", *markdown.table(["runs", "timings per run", "called different, all runs", "runs with any",
                                       "worst run", "p < 0.05 before the adjustment"],
                                      [[len(inside), inside[0][1], f"{called} of {total} ({called / total:.1%})",
                                        sum(1 for _, _, d, _ in inside if d), f"{max(shares):.1%}",
                                        f"{raw} ({raw / total:.1%})"]]), ""]

    # fit on the odd runs in time order, check on the even ones; then the stricter split by time
    odd, even = set(order[0::2]), set(order[1::2])
    bands, by_schedule, by_method, n_fit, n_check = fit_and_check(units, odd, even, at_least_s)
    half = len(order) // 2
    early, late = set(order[:half]), set(order[half:])
    try:
        _, late_schedule, *_ = fit_and_check(units, early, late, at_least_s / 2)
    except IntervalsError:
        late_schedule = None
    lines += ["**Coverage of the bands** (stated: another run of this commit lands inside "
              f"{calibration.COVERAGE:.0%} of the time; fitted on pairs of runs ≥ {at_least_s / HOUR:g} h apart, measured "
              "on held-out pairs as far apart, both directions):", "",
              *markdown.table(["schedule (processes × samples)", "band (× value)", "fitted on pairs", "stated",
                               "measured, odd/even split", "measured, fitted on the first half, checked on the second"])]
    for key in sorted(bands):
        band = bands[key]
        late_text = (f"{late_schedule.measured(key):.1%} ({late_schedule.total.get(key, 0)})"
                     if late_schedule and key in late_schedule.total else "–")
        lines.append(markdown.row([key, f"{band.low:.3f}–{band.high:.3f}", n_fit, f"{band.coverage:.0%}",
                                   f"{by_schedule.measured(key):.1%} ({by_schedule.total.get(key, 0)})", late_text]))
    overall = by_schedule.measured()
    lines += [f"| all | | | {calibration.COVERAGE:.0%} | {overall:.1%} | "
              + (f"{late_schedule.measured():.1%} |" if late_schedule else "– |"), ""]
    worst = sorted((by_method.measured(m), m) for m in by_method.total)
    lines += ["Per benchmark method (held out, odd/even): " + "; ".join(f"{m} {c:.0%}" for c, m in worst), ""]

    plain = between_runs(units, None, at_least_s)
    margined = between_runs(units, bands, at_least_s)
    if plain:
        def share(rows):
            return sum(d for *_, d in rows) / max(1, sum(n for *_, n, _ in rows))
        lines += [f"**A/A between runs ≥ {at_least_s / HOUR:g} h apart** ({len(plain)} pairs, the first environment "
                  "of each run):", "", *markdown.table(["rule", "called different", "pairs with any"], [
                      ["rank test alone (how timings of one run are compared)", f"{share(plain):.1%}",
                       f"{sum(1 for *_, d in plain if d)} of {len(plain)}"],
                      ["rank test with the machine's band as margin (how two runs are compared)",
                       f"{share(margined):.1%}", f"{sum(1 for *_, d in margined if d)} of {len(margined)}"]]), ""]

    sd, means = release_log_sd(units)
    if means:
        lines += [f"**A release ratio between runs**: the geometric mean of B ÷ A over each run's timings: "
                  f"{min(means):.3f}–{max(means):.3f} over {len(means)} runs; standard deviation of its logarithm "
                  f"{sd:.4f} (the run-to-run term of the release line)." if sd else "", ""]
    if save:
        notes = {"machine_log_sd": machine_log_sd(list(between_machines)),
                 "between_machines": list(between_machines), "runs": len(order), "span_hours": round(span_h, 2), "held_out_coverage": round(overall, 4),
                 "held_out_pairs": n_check, "fit": "odd runs in time order", "check": f"even runs, ≥ {at_least_s / HOUR:g} h apart",
                 "aa_within_run_share": round(sum(d for _, _, d, _ in inside) / max(1, sum(n for _, n, _, _ in inside)),
                                              4) if inside else None}
        Profile(machine, bands, tuple(modules), sd, notes).save(save)
        lines.append(f"profile: {save}")
    return "\n".join(lines)
