"""The one comparison rule: is timing B faster, slower, or not told apart (``~``) from timing A?

Go's ``benchstat`` convention, over the processes (the independent units of a run: samples within one process share
the machine's state): an exact two-sided Mann–Whitney U test of the two timings' per-process minima, ``~`` unless
p < :data:`ALPHA`, the processes of each side written beside the verdict. An answer that makes many comparisons at
once (a release against the baseline over every timing, the rows of ``recommend``, a night's timings) controls its
false discovery rate with Benjamini–Hochberg (:func:`adjust`): among the timings it calls different, at most 5 % are
expected to be chance, and when nothing differs at all, the chance of calling anything is at most 5 %.

Two timings of **one run** (interleaved processes: two releases, two layouts) are compared as they are. Timings of
**two runs** (the nightly job: tonight against last night) also differ by how the machine was that hour, which the
processes of one run cannot show; :func:`compare` then takes the machine's measured band
(:class:`~zarr_cryoet.stats.estimate.Band`) as a margin: B is slower only if its processes are slower even after
dividing them by the band's upper factor (and faster only beyond its lower one).

With 3 processes a side the exact test's smallest p is 0.1, with 2 a side 1/3: such timings are always ``~``, and
the text says how many processes there were (:attr:`Comparison.testable`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Sequence

from zarr_cryoet.stats.estimate import Band, Estimate

#: the false discovery rate (or, for a single comparison, the test's level)
ALPHA = 0.05


@dataclass(frozen=True)
class Comparison:
    """B against A: ``ratio`` = B's value ÷ A's, the test's two-sided ``p``, the processes of each side, and ``q``
    (the Benjamini–Hochberg adjusted p) once :func:`adjust` has seen the comparison's family."""

    ratio: float
    p: float
    processes: tuple[int, int]
    q: float | None = None
    margin: Band | None = None

    @property
    def significance(self) -> float:
        return self.q if self.q is not None else self.p

    @property
    def differs(self) -> bool:
        return self.significance < ALPHA

    @property
    def verdict(self) -> str:
        """``slower``, ``faster`` or ``~`` (B against A)."""
        return ("slower" if self.ratio > 1 else "faster") if self.differs else "~"

    @property
    def testable(self) -> bool:
        """Whether this many processes could ever give p < :data:`ALPHA`."""
        return smallest_p(*self.processes) < ALPHA

    def text(self) -> str:
        """``p = 0.008, 5 v 5`` (``q`` where adjusted)."""
        name, value = ("q", self.q) if self.q is not None else ("p", self.p)
        return f"{name} = {_p_text(value)}, {self.processes[0]} v {self.processes[1]}"


def compare(a: Estimate, b: Estimate, margin: Band | None = None) -> Comparison:
    """B against A by the rank test of their per-process minima; ``margin``: the machine's run-to-run band, for two
    timings from different runs."""
    ratio = b.value / a.value if a.value else math.nan
    if a.processes < 2 or b.processes < 2:
        return Comparison(ratio, 1.0, (a.processes, b.processes), margin=margin)
    upper, lower = (margin.high, margin.low) if margin else (1.0, 1.0)
    slower = _one_sided([m / upper for m in b.minima], a.minima, "greater")
    faster = _one_sided([m / lower for m in b.minima], a.minima, "less")
    return Comparison(ratio, min(1.0, 2 * min(slower, faster)), (a.processes, b.processes), margin=margin)


def adjust(comparisons: Sequence[Comparison | None]) -> list[Comparison | None]:
    """The comparisons of one answer with their Benjamini–Hochberg adjusted p-values (``q``); None stays None."""
    from scipy.stats import false_discovery_control

    present = [i for i, c in enumerate(comparisons) if c is not None]
    out = list(comparisons)
    if not present:
        return out
    qs = false_discovery_control([comparisons[i].p for i in present], method="bh")
    for i, q in zip(present, qs):
        out[i] = replace(comparisons[i], q=float(q))
    return out


def smallest_p(n_a: int, n_b: int) -> float:
    """The smallest two-sided p an exact rank test can give with ``n_a`` and ``n_b`` processes: 2 / C(n_a+n_b, n_a)."""
    if n_a < 1 or n_b < 1:
        return 1.0
    return min(1.0, 2 / math.comb(n_a + n_b, n_a))


def _one_sided(x: Sequence[float], y: Sequence[float], alternative: str) -> float:
    from scipy.stats import mannwhitneyu

    tied = len(set(x) | set(y)) < len(x) + len(y)
    return float(mannwhitneyu(x, y, alternative=alternative, method="asymptotic" if tied else "exact").pvalue)


def _p_text(p: float) -> str:
    return "<0.001" if p < 0.001 else f"{p:.3f}" if p < 0.01 else f"{p:.2f}"


def versus_text(c: Comparison, digits: int = 2) -> str:
    """``3.20× (p = 0.008, 5 v 5)`` where the rule calls B different from A, ``1.05× ~ (p = 0.42, 5 v 5)`` where not."""
    return f"{c.ratio:.{digits}f}×{'' if c.differs else ' ~'} ({c.text()})"
