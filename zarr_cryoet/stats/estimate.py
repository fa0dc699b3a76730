"""One timing: the fastest of its processes, every process's minimum, and an interval whose meaning is stated.

This machine (a 2-core VM) runs at one of two speeds, about 1.7× apart, switching every second or so
(docs/measurement.md, "The machine's two speeds"). What reproduces is the *fast* speed, caught by some process in
every run when a combination's processes are spread over the run, so a timing's **value** is the smallest sample of
all its processes (asv rounds): chosen from measurements (``zarr-cryoet schedule-study``: with 48 fresh processes per
release and read in disjoint halves, the minimum agreed between halves more often than the median, the mean or a low
quantile).

Its **interval** says one of two things, and its text says which:

* **a measured band** (:class:`Band`, square brackets: ``25.7 ms [24.1–28.3, n=5]``): where another run of the same
  commit on the same machine lands, with the coverage stated in the band, measured on runs made hours apart and
  checked on held-out runs (:mod:`zarr_cryoet.stats.calibration`). Only machines with a measured profile have one.
* **the range of the processes** (``261.0 ms (range 261.0–594.0, n=2)``): the fastest to the slowest process's
  minimum, with their count. It is what was seen, not a confidence interval: with 2 processes the median process
  lies inside it half of the time.

A percentile bootstrap of the minimum, which this module used before, returns exactly that range for 2 or 3
processes and claims 95 %: the bootstrap is inconsistent for extremes (Bickel & Freedman, 1981).
Standard library only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Sequence

#: what every time of the suite is, in words (report labels, the README)
NAME = "fastest of the processes"


@dataclass(frozen=True)
class Band:
    """A measured interval: another run of the same commit on this machine lands in ``[low, high]`` × the value with
    probability ``coverage`` (measured on held-out runs, ``source`` says where)."""

    low: float
    high: float
    coverage: float
    source: str = field(default="", compare=False, repr=False)  # where it was read from: not part of its value


@dataclass(frozen=True)
class Estimate:
    """The statistic of one combination: ``value`` (the fastest process) from ``minima`` (each process's fastest
    sample, in run order) over ``samples`` samples, with a measured :class:`Band` where the machine has one."""

    value: float
    minima: tuple[float, ...]
    samples: int
    band: Band | None = None

    @property
    def processes(self) -> int:
        return len(self.minima)

    @property
    def calibrated(self) -> bool:
        return self.band is not None

    @property
    def low(self) -> float:
        return self.value * self.band.low if self.band else min(self.value, *self.minima)

    @property
    def high(self) -> float:
        return self.value * self.band.high if self.band else max(self.minima)

    def with_band(self, band: Band | None) -> "Estimate":
        return replace(self, band=band)

    def interval_text(self) -> str:
        """``[24.1–28.3, n=5]`` (a measured band), ``(range 261.0–594.0, n=2)`` or ``(n=1)``: the interval alone, its
        ends in the value's unit."""
        scale, unit = _unit(self.value)
        low, high = _number(self.low * scale, unit), _number(self.high * scale, unit)
        if self.band:
            return f"[{low}–{high}, n={self.processes}]"
        if self.processes < 2:
            return f"(n={self.processes})"
        return f"(range {low}–{high}, n={self.processes})"

    def __str__(self) -> str:
        return f"{time_text(self.value)} {self.interval_text()}"


def split_processes(samples: Sequence[float], per_process: int | None) -> list[list[float]]:
    """asv's flat list of samples as one list per process: asv appends each round's ``repeat`` samples in
    turn. Without a whole number of rounds (``per_process`` unknown or not dividing), every sample is
    treated as a process of its own."""
    values = [float(s) for s in samples if s is not None and not math.isnan(s)]
    if per_process and per_process > 0 and values and len(values) % per_process == 0:
        return [values[i:i + per_process] for i in range(0, len(values), per_process)]
    return [[v] for v in values]


def estimate(samples: Sequence[float], per_process: int | None = None, band: Band | None = None) -> Estimate | None:
    """The statistic of one combination's recorded samples (None without any)."""
    return of_processes(split_processes(samples, per_process), band)


def of_processes(processes: Sequence[Sequence[float]], band: Band | None = None) -> Estimate | None:
    """The statistic of samples already grouped by process (the plain loop's, outside asv)."""
    minima = tuple(min(p) for p in processes if p)
    if not minima:
        return None
    return Estimate(min(minima), minima, sum(len(p) for p in processes), band)


def summed(parts: Sequence[Estimate]) -> Estimate:
    """The statistic of a sum of timings (a use case's reads): the sum of the values (each the fastest of its
    processes, so the sum may lie below every process's sum), and per process the sum of the parts' minima in run
    order (asv runs round k of every benchmark close together), as many as the shortest part has. The sum keeps the parts' band where they all share one (the parts move together between runs)."""
    count = min(p.processes for p in parts)
    minima = tuple(sum(p.minima[i] for p in parts) for i in range(count))
    bands = {p.band for p in parts}
    return Estimate(sum(p.value for p in parts), minima, sum(p.samples for p in parts),
                    bands.pop() if len(bands) == 1 else None)


def time_text(seconds: float) -> str:
    """``12.3 ms`` below a second, ``1.23 s`` above."""
    scale, unit = _unit(seconds)
    return f"{_number(seconds * scale, unit)} {unit}"


def _unit(seconds: float) -> tuple[float, str]:
    return (1e3, "ms") if seconds < 1 else (1.0, "s")


def _number(x: float, unit: str = "ms") -> str:
    return f"{x:.1f}" if unit == "ms" else f"{x:.2f}"
