"""Wall times across nights: a shift is a change point in the series of nights, not one pair of runs.

On this VM a timing moves by tens of per cent with the machine's state and ~20 % between machines
(docs/measurement.md), so two runs alone cannot tell a 10 % regression from a slow night. MongoDB's
answer for nightly performance series is change-point detection (E-divisive means; Daly et al.,
ICPE 2020), maintained as Apache Otava: a change point is where the series splits into two parts
whose means differ beyond what the spread of the parts explains (Student's t, ``MAX_PVALUE``). Here
each timing's series is its value per night (its commit's result, oldest first); the newest night is
**suspect** when a change point lies among the last :data:`RECENT` nights and the part after it is
slower. The nightly job then re-measures a suspect in the same night before it alarms
(:mod:`zarr_cryoet.tracking.alarm`).

A series shorter than :data:`MIN_NIGHTS` earlier nights has no change-point verdict: the nightly job
judges those timings as before (their noise profile or the rank test against last night), and says so.

``otava`` is installed without its declared dependencies (``tasks.py``, noxfile.py): its analysis
module needs numpy and scipy only, while the package pins numpy 2.2 and brings clients for BigQuery,
Postgres and Slack.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: earlier nights a timing needs before its newest night is judged by change points
MIN_NIGHTS = 8
#: a change point among the newest RECENT nights makes the newest night suspect
RECENT = 3
#: Otava's window (nights) and significance level (its default is 0.001); chosen with the replay in
#: docs/measurement.md ("Change points across nights")
WINDOW = 30
MAX_PVALUE = 0.001


@dataclass(frozen=True)
class Shift:
    """A change point: ``index`` of the first night after it, the ratio of the means after / before, its p."""

    index: int
    ratio: float
    pvalue: float

    @property
    def slower(self) -> bool:
        return self.ratio > 1


def change_points(values: list[float], *, window: int = WINDOW, max_pvalue: float = MAX_PVALUE) -> list[Shift]:
    """Every change point of a per-night series (oldest first), by Otava's E-divisive means with t-tests."""
    from otava.analysis import compute_change_points

    if len(values) < 3:
        return []
    points, _ = compute_change_points([float(v) for v in values], window_len=window, max_pvalue=max_pvalue)
    return [Shift(p.index, p.stats.mean_2 / p.stats.mean_1 if p.stats.mean_1 else math.inf, float(p.stats.pvalue))
            for p in points]


def newest_shift(values: list[float], **options) -> Shift | None:
    """The change point among the newest :data:`RECENT` nights (the latest one), or None; None too for a series of
    fewer than ``MIN_NIGHTS + 1`` nights."""
    if len(values) < MIN_NIGHTS + 1:
        return None
    recent = [s for s in change_points(values, **options) if s.index >= len(values) - RECENT]
    return recent[-1] if recent else None


def judged(values: list[float]) -> bool:
    """Whether a series is long enough for a change-point verdict on its newest night."""
    return len(values) >= MIN_NIGHTS + 1
