"""How much of asv's time is measurement, and how well do two runs of the same commit agree?

* :func:`overhead`: per environment, asv's wall time per benchmark (``duration``, every
  parameter combination: process start, set-up, warm-up, samples, checks) against the
  time spent inside the timed samples (``number × repeat × median`` per combination).
  Their quotient is the overhead ratio; 1.0 would mean asv spends nothing but the
  measurement itself.
* :func:`stability`: two result sets of the same commit (e.g. a second run recorded under
  a second machine name), median against median for every ``time_`` result both have:
  the share within ±10 % (and ±20 %), and the extremes.

``zarr-cryoet overhead`` and ``zarr-cryoet stability`` print them. asv is imported when
results are read (it is in the development environment only).
"""

from __future__ import annotations

import math
import re
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from zarr_cryoet.errors import ZarrCryoetError


class QualityError(ZarrCryoetError, ValueError):
    """Results that cannot be read or compared."""


def _load(results_dir, machine: str | None, commit: str | None):
    """(machine, commit, [asv Results]) of one machine and commit (default: the only machine, latest commit)."""
    try:
        from asv.results import iter_results_for_machine
    except ImportError:
        raise QualityError("reading asv results needs asv; run this from .venv (python3 tasks.py creates it)") \
            from None
    results_dir = Path(results_dir)
    machines = sorted(p.parent.name for p in results_dir.glob("*/machine.json")) if results_dir.is_dir() else []
    if not machines:
        raise QualityError(f"no asv results in {results_dir}; run python3 tasks.py benchmark first, or pass --results")
    if machine is None:  # the report's rule: this host's machine, else the one with the newest results
        from zarr_cryoet.report.results import default_machine

        machine = default_machine({name: list((results_dir / name).glob("*.json")) for name in machines})
    elif machine not in machines:
        raise QualityError(f"no results for machine {machine!r} in {results_dir}; known: {', '.join(machines)}")
    loaded = list(iter_results_for_machine(str(results_dir), machine))
    from zarr_cryoet.report.results import choose_commit  # the report's rule, shared

    chosen = choose_commit(loaded, commit, machine)
    return machine, chosen, [r for r in loaded if r.commit_hash == chosen]


def _env_label(result) -> str:
    zarr = result.params.get("zarr") or "?"
    return f"zarr {zarr} (py{result.params.get('python', '?')})"


@dataclass
class Overhead:
    env: str
    wall: float  # s, every benchmark's duration
    timed: float  # s, inside the timed samples
    setup_cache: float  # s, building the reference stores (not in ``wall``)
    combinations: int
    by_module: dict = field(default_factory=dict)  # module -> (wall, timed)

    @property
    def ratio(self) -> float:
        return self.wall / self.timed if self.timed else math.inf


def overhead(results_dir, machine=None, commit=None) -> tuple[str, str, list[Overhead]]:
    """The overhead of every environment of one machine and commit."""
    machine, commit, results = _load(results_dir, machine, commit)
    rows = []
    for result in results:
        modules = defaultdict(lambda: [0.0, 0.0])
        combos = 0
        for key in result.get_all_result_keys():
            duration = result.duration.get(key)
            params = result.get_result_params(key)
            values = result.get_result_value(key, params)
            stats = result.get_result_stats(key, params)
            module = key.split(".")[0]
            modules[module][0] += duration or 0.0
            combos += sum(v is not None and not (isinstance(v, float) and math.isnan(v)) for v in values)
            for value, stat in zip(values, stats):
                if stat and value is not None and not math.isnan(value):
                    modules[module][1] += stat.get("number", 1) * stat.get("repeat", 1) * value
        setup = sum(v for k, v in result.duration.items() if k.startswith("<setup_cache"))
        rows.append(Overhead(_env_label(result), sum(w for w, _ in modules.values()),
                             sum(t for _, t in modules.values()), setup, combos,
                             {m: tuple(v) for m, v in sorted(modules.items())}))
    return machine, commit, sorted(rows, key=lambda r: r.env)


def format_overhead(machine: str, commit: str, rows: list[Overhead]) -> str:
    lines = [f"asv overhead: machine {machine}, commit {commit[:8]}", "",
             "| environment | benchmark wall (s) | inside timed samples (s) | overhead ratio | combinations "
             "| setup_cache (s) |", "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r.env} | {r.wall:.0f} | {r.timed:.0f} | {r.ratio:.2f} | {r.combinations} "
                     f"| {r.setup_cache:.0f} |")
    lines += ["", "per module (wall / timed, s): " + "; ".join(
        f"{r.env}: " + ", ".join(f"{m} {w:.0f}/{t:.0f}" for m, (w, t) in r.by_module.items()) for r in rows)]
    return "\n".join(lines)


@dataclass
class Stability:
    pairs: list  # (name with params, env, median a, median b)
    band: float

    @property
    def ratios(self) -> list[float]:
        return [b / a for _, _, a, b in self.pairs]

    def share_within(self, band: float) -> float:
        ratios = self.ratios
        return sum(abs(r - 1) <= band for r in ratios) / len(ratios) if ratios else math.nan


def _time_medians(results, bench: str | None) -> dict:
    from asv.commands.compare import unroll_result

    pattern = re.compile(bench) if bench else None
    out = {}
    for result in results:
        for key in result.get_all_result_keys():
            if ".time_" not in key or (pattern and not pattern.search(key)):
                continue
            params = result.get_result_params(key)
            for name, value in unroll_result(key, params, result.get_result_value(key, params)):
                if value is not None and not math.isnan(value) and value > 0:
                    out[(name, result.env_name)] = value
    return out


def stability(a: tuple, b: tuple, *, commit=None, bench: str | None = None, band: float = 0.10) -> Stability:
    """Median against median of two result sets ``(results_dir, machine)`` of the same commit."""
    _, commit_a, results_a = _load(*a, commit)
    _, commit_b, results_b = _load(*b, commit or commit_a)
    if commit_a != commit_b:
        raise QualityError(f"the two result sets are of different commits ({commit_a[:8]}, {commit_b[:8]}); "
                           "pass --commit")
    medians_a, medians_b = _time_medians(results_a, bench), _time_medians(results_b, bench)
    common = sorted(set(medians_a) & set(medians_b))
    if not common:
        raise QualityError("the two result sets have no time_ result in common; check --machine and --bench")
    labels = {r.env_name: _env_label(r) for r in results_a}
    return Stability([(name, labels.get(env, env), medians_a[(name, env)], medians_b[(name, env)])
                      for name, env in common], band)


def format_stability(s: Stability, worst: int = 10) -> str:
    ratios = s.ratios
    lines = [f"{len(ratios)} time_ results in both runs: {s.share_within(s.band):.0%} within ±{s.band:.0%}, "
             f"{s.share_within(2 * s.band):.0%} within ±{2 * s.band:.0%}; run B / run A from {min(ratios):.2f}× "
             f"to {max(ratios):.2f}× (median {statistics.median(ratios):.3f}×)"]
    spread = sorted(max(r, 1 / r) for r in ratios)
    lines.append(f"spread (the larger of B/A and A/B): 90th percentile {_percentile(spread, 0.90):.2f}×, "
                 f"95th {_percentile(spread, 0.95):.2f}×, 99th {_percentile(spread, 0.99):.2f}×; "
                 f"a regression factor above the "
                 f"95th percentile: {suggested_factor(s):.2f}")
    ranked = sorted(s.pairs, key=lambda p: -abs(math.log(p[3] / p[2])))[:worst]
    lines += ["", f"largest differences (B / A):"]
    lines += [f"  {b / a:5.2f}×  {name} on {env}" for name, env, a, b in ranked]
    return "\n".join(lines)


def _percentile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def suggested_factor(s: Stability) -> float:
    """The smallest factor (in steps of 0.05) above the 95th percentile of the run-to-run spread:
    two runs of the same commit differ by more than it on fewer than 5 % of the timings."""
    spread = sorted(max(r, 1 / r) for r in s.ratios)
    return math.ceil(_percentile(spread, 0.95) * 20 + 1e-9) / 20
