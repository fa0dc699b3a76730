"""The suite's statistic: the fastest process, with an interval from how many processes were that fast.

This machine (a 2-core VM) runs at one of two speeds, about 1.7× apart, switching every second or
so, and the slow one is the usual one (docs/measurement.md, "The machine's two speeds"). A
process's samples therefore reflect the moment it ran: medians of two runs of one commit agree
within ±5 % on a quarter to a half of the timings, however many samples each process takes.
What reproduces is the *fast* speed, caught by some process in every run when the processes of a
combination are spread over the run: so the suite reports

* **the value**: the smallest sample of all processes (rounds) of a combination, and
* **its interval**: the 2.5th to 97.5th percentile of that minimum over bootstrap resamples of
  the processes (:data:`RESAMPLES`, seeded: the same samples give the same interval). When
  several processes reached the fast speed the interval is narrow; when one process alone did,
  it reaches up to what the others saw, and says that the value is uncertain.

Chosen from measurements, not habit: with 48 fresh processes per zarr release and read, drawn
into disjoint halves, the minimum agreed between halves more often than the median, the mean
or a low quantile for every schedule, and more processes helped more than more samples per
process (docs/measurement.md has the table and the command).

asv's result files keep every sample (``asv run --record-samples``), so nothing is lost;
:mod:`zarr_cryoet.tracking.restate` writes this statistic into them as asv's ``result`` and the
interval as its ``ci_99`` columns, which the dashboard, ``asv compare`` and the report then use.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Sequence

#: what every figure of the suite is, in words (report labels, the README)
NAME = "fastest of the processes"

#: The process schedules (asv's ``rounds``: processes per combination; ``repeat``: samples in each, a fixed
#: number so that asv's recorded samples can be told apart by process), by kind of operation. The asv
#: benchmarks (benchmarks/common.py) and the plain-loop cross-check use these same numbers.
#: reads of micro- to milliseconds
QUICK_READ = {"rounds": 5, "repeat": 2}
#: writes and reads of ~0.1-1 s
WRITE = {"rounds": 3, "repeat": 1}
#: reads over slow HTTP and of whole portal-sized volumes (0.1-2 s)
SLOW = {"rounds": 3, "repeat": 1}
#: writes of seconds (portal-sized volumes)
LONG = {"rounds": 2, "repeat": 1}
#: reads from object storage (benchmarks/object_storage.py): waiting on the network, they hardly feel the
#: machine's two speeds. Measured over 54 of them with 3 processes each: the fastest process is at most 1.077×
#: the slowest in the median, and the fastest of 2 is within 5 % of the fastest of 3 in 92 % of the cases
#: (98 % within 10 %; docs/object_storage.md). So 2 processes, a third less of the tier's run time.
REMOTE = {"rounds": 2, "repeat": 1}
#: bootstrap resamples of the processes for the interval, and its coverage
RESAMPLES = 1000
COVERAGE = 0.95
_SEED = 20261202


@dataclass(frozen=True)
class Estimate:
    """The statistic of one combination: ``value`` in ``[low, high]``, from ``processes`` × ``per_process``."""

    value: float
    low: float
    high: float
    processes: int
    samples: int

    @property
    def relative_width(self) -> float:
        """The interval's width as a fraction of the value (0.05: the precision written ± 5 %)."""
        return (self.high - self.low) / self.value if self.value > 0 else math.nan

    def overlaps(self, other: "Estimate") -> bool:
        return self.low <= other.high and other.low <= self.high

    def plus_minus(self) -> str:
        """``± 4 %``: the precision (the interval's low end is usually the value itself: the width is how far
        another run's value may land above it)."""
        return f"± {self.relative_width * 100:.0f} %" if math.isfinite(self.relative_width) else "± ?"


def split_processes(samples: Sequence[float], per_process: int | None) -> list[list[float]]:
    """asv's flat list of samples as one list per process: asv appends each round's ``repeat`` samples in
    turn. Without a whole number of rounds (``per_process`` unknown or not dividing), every sample is
    treated as a process of its own."""
    values = [float(s) for s in samples if s is not None and not math.isnan(s)]
    if per_process and per_process > 0 and values and len(values) % per_process == 0:
        return [values[i:i + per_process] for i in range(0, len(values), per_process)]
    return [[v] for v in values]


def estimate(samples: Sequence[float], per_process: int | None = None) -> Estimate | None:
    """The statistic of one combination's recorded samples (None without any)."""
    processes = split_processes(samples, per_process)
    if not processes:
        return None
    minima = [min(p) for p in processes]
    low, high = interval(minima)
    return Estimate(min(minima), low, high, len(processes), sum(len(p) for p in processes))


def interval(minima: Sequence[float], coverage: float = COVERAGE) -> tuple[float, float]:
    """The bootstrap interval of the minimum of the per-process ``minima`` (resampling processes)."""
    minima = sorted(minima)
    n = len(minima)
    if n == 1:
        return minima[0], minima[0]
    rng = random.Random(_SEED + n)
    # the minimum of a resample is minima[k] for the smallest index k drawn: draw that index directly
    boot = sorted(minima[min(rng.randrange(n) for _ in range(n))] for _ in range(RESAMPLES))
    tail = (1 - coverage) / 2
    return boot[int(tail * RESAMPLES)], boot[min(RESAMPLES - 1, math.ceil((1 - tail) * RESAMPLES) - 1)]


def of_processes(processes: Sequence[Sequence[float]]) -> Estimate | None:
    """The statistic of samples already grouped by process (the plain loop's, outside asv)."""
    flat = [s for p in processes for s in p]
    sizes = {len(p) for p in processes}
    if not flat:
        return None
    if len(sizes) == 1:
        return estimate(flat, sizes.pop())
    minima = [min(p) for p in processes if p]
    low, high = interval(minima)
    return Estimate(min(minima), low, high, len(minima), len(flat))
