"""Every number with its precision: how the report and ``recommend`` write times and ratios.

A time's precision is the width of its interval relative to it (:meth:`ReportResults.interval
<zarr_cryoet.report.results.ReportResults.interval>`: the bootstrap interval of the suite's
statistic, :mod:`zarr_cryoet.measure.statistic`), written ``12.3 ms ± 4 %``: how far the value may
move in another run of the same code here. A ratio of two times carries both precisions
(:func:`ratio_precision`). Two values differ clearly only when their intervals do not overlap
(:func:`differ`); that rule marks ≈ in ``recommend`` and "slower"/"faster" in the version comparison.
Sizes and ratios computed from bytes on disk are exact and carry no ±.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Timed:
    """A time in seconds with its interval (``low``/``high`` None where there is none)."""

    seconds: float
    low: float | None = None
    high: float | None = None

    @property
    def precision(self) -> float | None:
        """The interval's width over the value (0.04: ± 4 %), or None."""
        if self.low is None or self.high is None or not self.seconds:
            return None
        return (self.high - self.low) / self.seconds

    def overlaps(self, other: "Timed") -> bool:
        """Whether the two intervals overlap (False when either has none)."""
        return ranges_overlap((self.low, self.high), (other.low, other.high))

    def __str__(self) -> str:
        return time_text(self.seconds) + plus_minus(self.precision)


def timed(results, env, benchmark: str, **params) -> Timed | None:
    """One cell's time with its interval (a :class:`~zarr_cryoet.report.results.ReportResults` cell), or None
    where it has no time (skipped or failed)."""
    value = results.value(env, benchmark, **params)
    if value is None or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    interval = results.interval(env, benchmark, **params) or (None, None)
    return Timed(value, *interval)


def ranges_overlap(a, b) -> bool:
    """Whether two (low, high) ranges overlap; False when either is unknown (None)."""
    if None in (*a, *b):
        return False
    return a[0] <= b[1] and b[0] <= a[1]


def differ(a: Timed, b: Timed) -> bool | None:
    """Whether two times differ beyond their intervals; None when either has no interval."""
    if a.precision is None or b.precision is None:
        return None
    return not a.overlaps(b)


def time_text(seconds: float) -> str:
    """``12.3 ms`` below a second, ``1.23 s`` above."""
    return f"{seconds * 1e3:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def plus_minus(fraction: float | None) -> str:
    """`` ± 4 %`` for a precision of 0.04 (nothing when it is unknown)."""
    if fraction is None or not math.isfinite(fraction):
        return ""
    return f" ± {fraction * 100:.0f} %" if fraction >= 0.005 else " ± <1 %"


def ratio_precision(*fractions: float | None) -> float | None:
    """The precision of a ratio (or product) of values of the given precisions, their errors independent."""
    if not fractions or any(f is None or not math.isfinite(f) for f in fractions):
        return None
    return math.sqrt(sum(f * f for f in fractions))


def ratio_text(ratio: float, precision: float | None, digits: int = 1) -> str:
    """``3.4× ± 6 %``."""
    return f"{ratio:.{digits}f}×" + plus_minus(precision)
