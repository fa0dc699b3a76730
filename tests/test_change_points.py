"""Change points across nights (zarr_cryoet.tracking.change_points): a step of known size in known noise is found,
within three nights, and a clean series rarely raises one. Synthetic series, fixed seeds."""

import math
import random

import pytest

from zarr_cryoet.tracking import change_points

pytestmark = pytest.mark.once

#: night-to-night spread of a timing's value (log scale): 3 %
NOISE = 0.03


def nights(n: int, seed: int, step_at: int | None = None, step: float = 0.0) -> list[float]:
    rng = random.Random(seed)
    return [math.exp(rng.gauss(0, NOISE)) * (1 + step if step_at is not None and i >= step_at else 1)
            for i in range(n)]


def caught_within_three_nights(series: list[float], step_at: int) -> bool:
    return any((s := change_points.newest_shift(series[:n])) is not None and s.slower
               for n in range(step_at + 1, step_at + 4))


@pytest.mark.parametrize("step, at_least", [(0.10, 0.8), (0.25, 0.95)])
def test_a_step_is_found_within_three_nights(step, at_least):
    found = [caught_within_three_nights(nights(23, seed, step_at=20, step=step), 20) for seed in range(60)]
    assert sum(found) / len(found) >= at_least


def test_clean_nights_rarely_alarm_and_short_series_are_not_judged():
    alarms = judged = 0
    for seed in range(40):
        series = nights(30, 1000 + seed)
        for n in range(change_points.MIN_NIGHTS + 1, 31):
            judged += 1
            shift = change_points.newest_shift(series[:n])
            alarms += shift is not None and shift.slower
    assert alarms / judged <= 1 / 30
    assert change_points.newest_shift(nights(change_points.MIN_NIGHTS, 1, step_at=4, step=1.0)) is None


def test_the_shift_says_where_and_how_much():
    series = nights(20, 5) + [v * 1.5 for v in nights(3, 6)]
    shift = change_points.newest_shift(series)
    assert shift.index == 20 and shift.ratio == pytest.approx(1.5, rel=0.05) and shift.pvalue < 0.001
    faster = change_points.newest_shift(nights(20, 5) + [v / 1.5 for v in nights(3, 6)])
    assert not faster.slower
