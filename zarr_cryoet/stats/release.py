"""Did a zarr release make the suite slower? One number with its real uncertainty.

The geometric mean of a release's time ratios against the baseline release, over every timing both measured in one
run. Its interval is not the spread of the timings treated as independent: the 134 timings come from a few dozen
benchmark methods whose parameter combinations move together, and a run's timings all move with the machine. So:

* **between methods**: a cluster bootstrap that resamples benchmark methods (each with all its timings), not timings;
* **between runs**: the measured run-to-run spread of such a geometric mean (``release_log_sd`` of the machine's
  :class:`~zarr_cryoet.stats.calibration.Profile`: two environments of one zarr release in each of many runs of one
  commit, ``zarr-cryoet intervals``), added to every bootstrap replicate as a normal term on the log scale.

What moves between machines is stated apart: a second interval adds ``machine_log_sd``, the spread of a release
ratio between two VMs of one kind (measured once: two default runs of the same benchmark code on two VMs three
days apart, docs/measurement.md), the interval an independent run on another machine should fall in. Standard
library only.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Sequence

from zarr_cryoet.stats.compare import Comparison

#: bootstrap replicates and the interval's coverage
REPLICATES = 4000
COVERAGE = 0.95
_SEED = 20261206


@dataclass(frozen=True)
class ReleaseRatio:
    """A release against the baseline: the geometric mean ``ratio`` of ``timings`` time ratios from ``methods``
    benchmark methods, its interval ``[low, high]``, and how many timings the comparison rule called slower or
    faster (Benjamini–Hochberg across the release's timings); ``testable``: timings with processes enough to be
    called different at all."""

    ratio: float
    low: float
    high: float
    timings: int
    methods: int
    slower: int
    faster: int
    testable: int
    run_to_run: bool
    #: the interval with the between-machine term too, where it is known
    machine_low: float | None = None
    machine_high: float | None = None

    def text(self) -> str:
        text = (f"{self.ratio:.2f}× [{self.low:.2f}–{self.high:.2f}] (geometric mean of {self.timings} timings "
                f"from {self.methods} benchmark methods; {COVERAGE:.0%} interval over methods"
                + (" and runs" if self.run_to_run else ", runs not included") + ")")
        if self.machine_low is not None:
            text += f", on another machine of this kind [{self.machine_low:.2f}–{self.machine_high:.2f}]"
        return text


def release_ratio(cells: Sequence[tuple[str, Comparison]], release_log_sd: float | None = None,
                  machine_log_sd: float | None = None) -> ReleaseRatio:
    """``cells``: (benchmark method, comparison against the baseline) per timing, adjusted together
    (:func:`zarr_cryoet.stats.compare.adjust`); ``release_log_sd``: the run-to-run term, ``machine_log_sd``: the
    between-machine term (both standard deviations of the ratio's logarithm)."""
    by_method: dict[str, list[float]] = {}
    for method, c in cells:
        by_method.setdefault(method, []).append(math.log(c.ratio))
    groups = list(by_method.values())
    logs = [x for g in groups for x in g]
    centre = sum(logs) / len(logs)
    rng = random.Random(_SEED)
    here, elsewhere = [], []
    for _ in range(REPLICATES):
        drawn = [groups[rng.randrange(len(groups))] for _ in groups]
        total, count = sum(sum(g) for g in drawn), sum(len(g) for g in drawn)
        replicate = total / count + (rng.gauss(0.0, release_log_sd) if release_log_sd else 0.0)
        here.append(replicate)
        elsewhere.append(replicate + (rng.gauss(0.0, machine_log_sd) if machine_log_sd else 0.0))
    low, high = _central(here)
    machine = _central(elsewhere) if machine_log_sd else (None, None)
    return ReleaseRatio(math.exp(centre), math.exp(low), math.exp(high), len(logs), len(groups),
                        sum(1 for _, c in cells if c.verdict == "slower"),
                        sum(1 for _, c in cells if c.verdict == "faster"),
                        sum(1 for _, c in cells if c.testable), bool(release_log_sd),
                        *(math.exp(x) if x is not None else None for x in machine))


def _central(replicates: list[float]) -> tuple[float, float]:
    ordered = sorted(replicates)
    tail = (1 - COVERAGE) / 2
    return ordered[int(tail * REPLICATES)], ordered[min(REPLICATES - 1, math.ceil((1 - tail) * REPLICATES) - 1)]


def method(benchmark_with_params: str) -> str:
    """``chunking.Read.time_read_full`` of ``chunking.Read.time_read_full('phantom 128³', '16x16x16', 2)``."""
    return benchmark_with_params.partition("(")[0]
