"""How much of asv's time is measurement, and how well do two runs of the same commit agree?

* :func:`overhead`: per environment, asv's wall time per benchmark (``duration``, every
  parameter combination: process start, set-up, warm-up, samples, checks) against the
  time spent inside the timed samples (``number × repeat × median`` per combination).
  Their quotient is the overhead ratio; 1.0 would mean asv spends nothing but the
  measurement itself.
* :func:`stability`: several runs of the same commit (e.g. recorded under machine names
  ``vm``, ``vm-b``), timing against timing with the suite's statistic: the share within
  5/10/20 % of each other, how well each zarr release's ratio to the oldest reproduces, how often
  one run's value lies inside the other's interval (:mod:`zarr_cryoet.stats.estimate`: the machine's
  measured band, else the range of the processes), and per timing the smallest change it can
  detect (:mod:`zarr_cryoet.asv.noise`).

``zarr-cryoet overhead`` and ``zarr-cryoet stability`` print them. asv is imported when
results are read (it is in the development environment only).
"""

from __future__ import annotations

import itertools
import math
import re
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from zarr_cryoet.util.errors import ZarrCryoetError
from zarr_cryoet.util.versions import version_key
from zarr_cryoet.asv.config import env_label, matrix_params
from zarr_cryoet.asv.results import read_asv


class QualityError(ZarrCryoetError, ValueError):
    """Results that cannot be read or compared."""


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
    """The overhead of every environment of one machine and commit (default: :func:`read_asv`'s)."""
    files = read_asv(results_dir, machine, commit)
    rows = []
    for result in files.results:
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
        rows.append(Overhead(env_label(matrix_params(result)), sum(w for w, _ in modules.values()),
                             sum(t for _, t in modules.values()), setup, combos,
                             {m: tuple(v) for m, v in sorted(modules.items())}))
    return files.machine, files.commit, sorted(rows, key=lambda r: r.env)


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
    """Several runs of one commit (machine names), timing against timing, with the suite's statistic."""

    commit: str
    machines: list[str]
    values: dict  # machine -> {(env, benchmark with parameters): Entry}
    zarr: dict  # env -> zarr version
    profile: "object"  # zarr_cryoet.asv.noise.NoiseProfile

    def pairs(self) -> list[tuple[str, str]]:
        return list(itertools.combinations(self.machines, 2))

    def common(self) -> list:
        return sorted(set.intersection(*(set(v) for v in self.values.values())))

    def ratios(self, bench: str | None = None) -> list[float]:
        """B / A for every timing and every pair of runs."""
        pattern = re.compile(bench) if bench else None
        return [self.values[b][k].value / self.values[a][k].value for a, b in self.pairs() for k in self.common()
                if not pattern or pattern.search(k[1])]

    def share_within(self, band: float, bench: str | None = None) -> float:
        ratios = self.ratios(bench)
        return sum(abs(r - 1) <= band for r in ratios) / len(ratios) if ratios else math.nan

    def release_ratios(self, bench: str | None = None) -> list[tuple[str, float, float]]:
        """(timing, ratio in run A, ratio in run B) of every zarr release against the oldest, every pair."""
        oldest = min(self.zarr, key=lambda env: version_key(self.zarr[env]))
        pattern = re.compile(bench) if bench else None
        out = []
        for a, b in self.pairs():
            for env, name in self.common():
                base = (oldest, name)
                if env == oldest or base not in self.values[a] or base not in self.values[b] \
                        or (pattern and not pattern.search(name)):
                    continue
                out.append((f"{name} on zarr {self.zarr[env]}",
                            self.values[a][(env, name)].value / self.values[a][base].value,
                            self.values[b][(env, name)].value / self.values[b][base].value))
        return out

    def inside_interval(self) -> float:
        """The share of run B's values inside run A's interval (and A's inside B's), every pair: how often another
        run lands where the interval says (for a measured band, its coverage on these runs)."""
        hits = []
        for a, b in self.pairs():
            for k in self.common():
                for x, y in ((self.values[a][k], self.values[b][k]), (self.values[b][k], self.values[a][k])):
                    if x.estimate is not None:
                        hits.append(x.estimate.low <= y.value <= x.estimate.high)
        return sum(hits) / len(hits) if hits else math.nan

    def interval_kind(self) -> str:
        """What the intervals are: the machine's measured band (with its stated coverage), or the processes' range."""
        bands = {e.estimate.band.coverage for v in self.values.values() for e in v.values()
                 if e.estimate is not None and e.estimate.band is not None}
        if bands:
            return "its measured band (stated coverage " + ", ".join(f"{c:.0%}" for c in sorted(bands)) + ")"
        return "the range of its processes' minima (no interval profile: not a confidence interval)"


def stability(results_dir, machines: list[str], *, commit=None, other_dir=None) -> Stability:
    """Load several runs of one commit (``machines``; the second from ``other_dir`` when given) and measure
    their agreement and the noise profile."""
    from zarr_cryoet.asv.entries import load_history
    from zarr_cryoet.asv.noise import measure, timing_values

    if len(machines) < 2:
        raise QualityError("stability compares runs of one commit: give --machine at least twice (and "
                           "--results-b DIR if the second run is in another results directory)")
    histories, commits = {}, []
    for i, machine in enumerate(machines):
        where = Path(other_dir) if other_dir and i == 1 else Path(results_dir)
        commits.append(read_asv(where, machine, commit).commit)
        histories[machine] = load_history(where, machine)
    if len(set(commits)) > 1:
        raise QualityError(f"the runs are of different commits ({', '.join(c[:8] for c in commits)}); pass --commit")
    chosen = commits[0]
    values = {m: {k: h.entries[(k[0], chosen, k[1])] for k in timing_values(h, chosen)} for m, h in histories.items()}
    if not set.intersection(*(set(v) for v in values.values())):
        raise QualityError("the runs have no time_ result in common; check --machine")
    zarr = {env: str(p.get("zarr", "")) for h in histories.values() for env, p in h.env_params.items()}
    return Stability(chosen, list(machines), values, zarr, measure(histories, chosen))


def format_stability(s: Stability, bench: str | None = None, worst: int = 10) -> str:
    from zarr_cryoet.asv.noise import USELESS

    ratios = s.ratios(bench)
    if not ratios:
        raise QualityError(f"no timing matches --bench {bench!r}")
    spread = sorted(max(r, 1 / r) for r in ratios)
    lines = [f"{len(ratios) // len(s.pairs())} timings in {len(s.machines)} runs of {s.commit[:8]} ({', '.join(s.machines)}), "
             f"{len(s.pairs())} pair(s); the suite's statistic (fastest process)" + (f"; --bench {bench}" if bench else ""),
             f"  run B ÷ run A within 5 %: {s.share_within(0.05, bench):.0%}, "
             f"10 %: {s.share_within(0.10, bench):.0%}, 20 %: {s.share_within(0.20, bench):.0%}; from {min(ratios):.2f}× to {max(ratios):.2f}× "
             f"(median {statistics.median(ratios):.3f}×); 90th/99th percentile of the spread "
             f"{_percentile(spread, 0.90):.2f}×/{_percentile(spread, 0.99):.2f}×",
             f"  interval check: {s.inside_interval():.0%} of values lie inside the other run's interval, "
             f"{s.interval_kind()}"]
    selections = [("the selected timings", bench)] if bench else [
        ("every timing", None), ("chunking and access reads", r"^(chunking|access)\.\w*Read\.")]
    for label, pattern in selections:
        release = s.release_ratios(pattern)
        if release:
            agree = [abs(rb / ra - 1) for _, ra, rb in release]
            lines.append(f"  release ratios (each zarr ÷ the oldest), {label}: {len(release)}, within 5 % "
                         f"{sum(d <= 0.05 for d in agree) / len(agree):.0%}, within 10 % "
                         f"{sum(d <= 0.10 for d in agree) / len(agree):.0%}; largest difference {max(agree):.1%}")
    detectable = sorted(d for k in s.common() if (d := s.profile.detectable(*k)) is not None
                        and (not bench or re.search(bench, k[1])))
    useless = [k for k in s.profile.useless() if not bench or re.search(bench, k[1])]
    lines += ["", f"smallest detectable change per timing (noise profile, one-sided p = 0.002): median "
                  f"{statistics.median(detectable):.0%}, 90th percentile {_percentile(detectable, 0.9):.0%}; "
                  f"{len(useless)} too noisy to alarm on (beyond {USELESS:.0%})"]
    pairs = [(k, s.values[a][k].value, s.values[b][k].value) for a, b in s.pairs()[:1] for k in s.common()
             if not bench or re.search(bench, k[1])]
    ranked = sorted(pairs, key=lambda p: -abs(math.log(p[2] / p[1])))[:worst]
    lines += ["", f"largest differences ({s.pairs()[0][1]} ÷ {s.pairs()[0][0]}):"]
    lines += [f"  {b / a:5.2f}×  {name} on zarr {s.zarr.get(env, env)}" for (env, name), a, b in ranked]
    return "\n".join(lines)


def _percentile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]
