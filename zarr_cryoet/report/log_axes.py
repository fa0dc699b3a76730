"""The one rule for a log axis in the report's figures: enough labelled ticks to read a value off it, as plain numbers.

matplotlib labels a log axis at powers of ten only; an axis spanning less than a decade (100–190 ms) then shows one
labelled tick or none. :class:`ReadableLogLocator` puts the labelled (major) ticks at the first of these sets that
gives :data:`MIN_LABELS` ticks or more inside the view, each step denser than the last:

* the powers of ten (every second, third … one where the view spans very many decades);
* 1, 2 and 5 times a power of ten;
* 1, 2, 3 and 5 times a power of ten;
* every integer multiple of a power of ten (1 … 9);
* failing that (a view of less than a few tenths of a decade), evenly spaced round numbers.

Its labels are plain numbers (0.5, 20, 300), never ``10^2``; the minor ticks stay unlabelled at 2 … 9 × each power.
:func:`log_axis` makes an axis log with these ticks; every log axis of the report is made with it (or has it applied
by :func:`readable_log_ticks`, which :func:`zarr_cryoet.report.style.plain_log_ticks` is).
"""

from __future__ import annotations

import math

import numpy as np
from matplotlib.ticker import FuncFormatter, Locator, LogLocator, MaxNLocator, NullFormatter

#: labelled ticks a log axis shows at least (where its view allows any)
MIN_LABELS = 3
#: more labels than this and the set is too dense for the axis: the next sparser one is taken
MAX_LABELS = 10
_STEPS = ((1,), (1, 2, 5), (1, 2, 3, 5), (1, 2, 3, 4, 5, 6, 7, 8, 9))


def label(value: float) -> str:
    """A tick's text: the number as written by hand (0.05, 2, 300, 1500)."""
    return f"{value:g}"


class ReadableLogLocator(Locator):
    """Major ticks of a log axis with at least :data:`MIN_LABELS` inside the view (see the module)."""

    def __call__(self):
        vmin, vmax = self.axis.get_view_interval()
        linthresh = getattr(self.axis.get_transform(), "linthresh", None)
        if linthresh is None:
            return self.tick_values(vmin, vmax)
        # a symlog axis: 0, then the ticks of its log part (below linthresh it is linear and cramped)
        ticks = self.tick_values(max(vmin, linthresh), vmax)
        return np.array([0.0, *(t for t in ticks if t >= linthresh)]) if vmin <= 0 else ticks

    def tick_values(self, vmin, vmax):
        vmin, vmax = sorted((float(vmin), float(vmax)))
        if not (math.isfinite(vmin) and math.isfinite(vmax)) or vmax <= 0:
            return np.array([])
        vmin = vmin if vmin > 0 else vmax / 1e3
        low, high = math.floor(math.log10(vmin)) - 1, math.ceil(math.log10(vmax)) + 1
        decades = high - low
        if decades - 2 > MAX_LABELS:  # very many decades: every n-th power of ten
            every = math.ceil((decades - 2) / MAX_LABELS)
            return np.array([10.0 ** e for e in range(low, high + 1) if e % every == 0])
        for steps in _STEPS:
            ticks = [s * 10.0 ** e for e in range(low, high + 1) for s in steps]
            inside = [t for t in ticks if vmin <= t * (1 + 1e-9) and t <= vmax * (1 + 1e-9)]
            if len(inside) >= MIN_LABELS:
                if len(inside) > MAX_LABELS and steps != _STEPS[0]:
                    break  # denser than readable: the sparser set before it had fewer than MIN_LABELS
                return np.array(ticks)
        # less than a few tenths of a decade (or the dense set overflowed): round numbers, evenly spaced
        return MaxNLocator(nbins=4, steps=[1, 2, 2.5, 5, 10]).tick_values(vmin, vmax)


def readable_log_ticks(ax, axis: str = "y") -> None:
    """Give the log ``axis`` (``"x"`` or ``"y"``) of ``ax`` the report's ticks: :class:`ReadableLogLocator` labelled
    with plain numbers, unlabelled minor ticks at 2 … 9 × each power of ten."""
    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_locator(ReadableLogLocator())
    target.set_major_formatter(FuncFormatter(lambda v, _: label(v)))
    if getattr(target.get_transform(), "linthresh", None) is None:  # symlog keeps its own minor ticks
        target.set_minor_locator(LogLocator(subs=tuple(range(2, 10))))
    target.set_minor_formatter(NullFormatter())


def log_axis(ax, axis: str = "y") -> None:
    """Put ``axis`` of ``ax`` on a log scale with the report's ticks (:func:`readable_log_ticks`)."""
    (ax.set_yscale if axis == "y" else ax.set_xscale)("log")
    readable_log_ticks(ax, axis)


def labelled_ticks(ax, axis: str = "y") -> list[str]:
    """The texts of the labelled ticks (major and minor) inside the view of ``axis`` of a drawn figure: what a
    reader can read off it (tests check a log axis has :data:`MIN_LABELS` of them)."""
    target = ax.yaxis if axis == "y" else ax.xaxis
    low, high = sorted(target.get_view_interval())
    texts = []
    for tick in [*target.get_major_ticks(), *target.get_minor_ticks()]:
        text = tick.label1
        if text.get_visible() and text.get_text().strip() and low * (1 - 1e-9) <= tick.get_loc() <= high * (1 + 1e-9):
            texts.append(text.get_text())
    return texts
