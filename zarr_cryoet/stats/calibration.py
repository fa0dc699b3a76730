"""A machine's measured interval bands: where another run of the same commit lands, and how often it really does.

The processes of one run cannot show how the machine differs from one hour to the next (this VM has slow hours in
which every timing is ~11 % higher; docs/measurement.md), so a timing's interval is **measured across runs**: for
every pair of runs of one commit, made at different times, and every timing they share, the score
``log(value in run j / value in run i)``. Per schedule (processes × samples per process, :mod:`.schedule`), the
band is the scores' central ``coverage`` quantiles (split-conformal: the ``ceil((n + 1)·p)``-th order statistic),
fitted on some runs and **checked on runs held out**: the share of held-out pairs whose second value falls inside
the first's band is the measured coverage, printed beside the stated one (``zarr-cryoet intervals``).

A :class:`Profile` holds a machine's bands, the benchmark modules or classes they were measured and checked on (a
band is only given to timings of those: other tiers of the suite, with other noise, print the range of their
processes instead), and the
run-to-run spread of a release ratio (:mod:`.release`). Standard library only.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Iterable, Sequence

from zarr_cryoet.stats.estimate import Band, Estimate

#: the coverage the suite states for its bands
COVERAGE = 0.90
FORMAT = 1


def schedule_key(found: Estimate) -> str:
    """``5x2``: processes × samples per process."""
    return f"{found.processes}x{max(1, found.samples // max(1, found.processes))}"


@dataclass
class Run:
    """One run of a commit: when it started (seconds since the epoch) and its timings (name → estimate)."""

    started: float
    timings: dict[str, Estimate]
    label: str = ""


def scores(runs: Sequence[Run], pairs: Iterable[tuple[int, int]]) -> dict[str, list[float]]:
    """Per schedule, ``log(v_j / v_i)`` over the given pairs of runs (both directions) and their shared timings."""
    out: dict[str, list[float]] = {}
    for i, j in pairs:
        for name in runs[i].timings.keys() & runs[j].timings.keys():
            a, b = runs[i].timings[name], runs[j].timings[name]
            if a.value > 0 and b.value > 0:
                s = math.log(b.value / a.value)
                out.setdefault(schedule_key(a), []).extend((s, -s))
    return out


def fit(runs: Sequence[Run], pairs: Iterable[tuple[int, int]], coverage: float = COVERAGE,
        source: str = "") -> dict[str, Band]:
    """The band of each schedule from the scores of ``pairs``."""
    bands = {}
    for key, values in scores(runs, pairs).items():
        lo, hi = conformal_quantile(values, (1 - coverage) / 2), conformal_quantile(values, 1 - (1 - coverage) / 2)
        bands[key] = Band(math.exp(lo), math.exp(hi), coverage, source)
    return bands


def conformal_quantile(values: Sequence[float], p: float) -> float:
    """The ``ceil((n + 1)·p)``-th smallest of ``values`` (clamped): split-conformal's finite-sample quantile."""
    ordered = sorted(values)
    n = len(ordered)
    k = math.ceil((n + 1) * p) if p > 0.5 else math.floor((n + 1) * p)
    return ordered[min(n, max(1, k)) - 1]


@dataclass
class Coverage:
    """How often a held-out run's value fell inside the band of another run's, per group (schedule, family …)."""

    stated: float
    inside: dict[str, int] = field(default_factory=dict)
    total: dict[str, int] = field(default_factory=dict)

    def add(self, group: str, hit: bool) -> None:
        self.inside[group] = self.inside.get(group, 0) + hit
        self.total[group] = self.total.get(group, 0) + 1

    def measured(self, group: str | None = None) -> float:
        groups = [group] if group else list(self.total)
        total = sum(self.total[g] for g in groups)
        return sum(self.inside[g] for g in groups) / total if total else math.nan


def check(runs: Sequence[Run], pairs: Iterable[tuple[int, int]], bands: dict[str, Band], group=None) -> Coverage:
    """The measured coverage of ``bands`` over ``pairs`` of held-out runs (both directions): run j's value inside
    run i's band. ``group(name, estimate)`` names the row a timing counts in (default: its schedule)."""
    group = group or (lambda name, found: schedule_key(found))
    stated = next(iter(bands.values())).coverage if bands else COVERAGE
    result = Coverage(stated)
    for i, j in pairs:
        for x, y in ((i, j), (j, i)):
            for name in runs[x].timings.keys() & runs[y].timings.keys():
                a, b = runs[x].timings[name], runs[y].timings[name]
                band = bands.get(schedule_key(a))
                if band is not None:
                    result.add(group(name, a), a.value * band.low <= b.value <= a.value * band.high)
    return result


def apart(runs: Sequence[Run], indices: Sequence[int], at_least_s: float) -> list[tuple[int, int]]:
    """The pairs of ``indices`` whose runs started at least ``at_least_s`` seconds apart."""
    return [(i, j) for i, j in combinations(indices, 2) if abs(runs[j].started - runs[i].started) >= at_least_s]


@dataclass
class Profile:
    """A machine's measured bands (per schedule), the modules they apply to, and a release ratio's run-to-run
    spread (standard deviation of its logarithm between runs)."""

    machine: str
    bands: dict[str, Band]
    modules: tuple[str, ...]
    release_log_sd: float | None = None
    notes: dict = field(default_factory=dict)

    def band(self, benchmark: str, found: Estimate) -> Band | None:
        """The band of one timing, or None where this profile does not cover it: a benchmark outside the modules or
        classes it was measured on (``chunking`` or ``chunking.Read``), or another schedule."""
        if not any(benchmark == m or benchmark.startswith(m + ".") for m in self.modules):
            return None
        return self.bands.get(schedule_key(found))

    def save(self, path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {"format": FORMAT, "machine": self.machine, "modules": list(self.modules),
                "release_log_sd": self.release_log_sd,
                "bands": {k: {"low": b.low, "high": b.high, "coverage": b.coverage} for k, b in self.bands.items()},
                "notes": self.notes}
        from zarr_cryoet.util.files import write_atomically

        write_atomically(path, json.dumps(data, indent=1, sort_keys=True) + "\n")
        return path

    @classmethod
    def load(cls, path) -> "Profile":
        data = json.loads(Path(path).read_text())
        if data.get("format") != FORMAT:
            raise ValueError(f"{path}: not an interval profile of format {FORMAT}; measure it again with "
                             "zarr-cryoet intervals")
        source = str(path)
        bands = {k: Band(b["low"], b["high"], b["coverage"], source) for k, b in data["bands"].items()}
        return cls(data["machine"], bands, tuple(data["modules"]), data.get("release_log_sd"), data.get("notes", {}))


def default_path(results_dir, machine: str) -> Path | None:
    """A machine's interval profile: ``<results dir>/../noise/<machine>-intervals.json``, where measured."""
    path = Path(results_dir).parent / "noise" / f"{machine}-intervals.json"
    return path if path.is_file() else None
