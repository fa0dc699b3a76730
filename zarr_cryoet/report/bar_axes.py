"""Bars on an axis, as the report's figures draw them: value labels, ``n/a`` for skipped cells, asymmetric
whiskers from each time's interval, one bar per layout (its colour, format 3 hatched) in one order along x
(:func:`layout_key`), the raw-file limit line, and axes that leave room for legends. Log axes: :mod:`log_axes`."""

from __future__ import annotations

import numpy as np

from zarr_cryoet.asv.results import finite
from zarr_cryoet.report.colours import FORMAT_HATCH, layout_colour
from zarr_cryoet.report.tables import has_interval
from zarr_cryoet.store.stores import layout_label, parse_chunking


def whiskers(ax, x, values, found) -> list[float]:
    """Asymmetric whiskers from each time's interval, ``low`` to ``high`` (ms; none where :func:`has_interval` is not,
    or without estimates): where each value's label goes, above its whisker or its bar."""
    tops = list(values)
    for i, (xi, e) in enumerate(zip(x, found or [None] * len(tops))):
        if has_interval(e):
            ax.errorbar(xi, tops[i], yerr=[[tops[i] - e.low * 1000], [e.high * 1000 - tops[i]]], fmt="none",
                        ecolor="#333333", elinewidth=0.8, capsize=2.5)
            tops[i] = e.high * 1000
    return tops


def bars(ax, labels, values, colours, *, fmt="%.1f", width=0.7, found=None):
    """One bar per category, labelled with its value; skipped/failed ones are not drawn but marked ``n/a``.
    ``found``: the times' estimates, drawn as whiskers (:func:`whiskers`)."""
    x = np.arange(len(labels))
    keep = [i for i, v in enumerate(values) if finite(v)]
    ax.bar(x[keep], [values[i] for i in keep], width=width, color=[colours[i] for i in keep], edgecolor="#333333",
           linewidth=0.6)
    tops = whiskers(ax, x[keep], [values[i] for i in keep], found and [found[i] for i in keep])
    for i, top in zip(keep, tops):
        ax.annotate(fmt % values[i], (x[i], top), xytext=(0, 2), textcoords="offset points", ha="center",
                    va="bottom", fontsize=9)
    for i in set(range(len(labels))) - set(keep):
        ax.annotate("n/a", (x[i], 0), xytext=(0, 3), textcoords="offset points", ha="center", fontsize=9,
                    color="#7f7f7f")
    ticks(ax, x, labels)
    ax.margins(y=0.12)


def ticks(ax, x, labels):
    """Category ticks, slanted when a label is long."""
    slant = max(map(len, labels), default=0) > 8
    ax.set_xticks(x, labels, rotation=20 if slant else 0, ha="right" if slant else "center",
                  rotation_mode="anchor" if slant else "default")


def limit_line(ax, seconds, what: str, legend: bool = True) -> None:
    """A dashed line at the raw-file time of the same bytes (benchmarks/limits.py): the physical limit; its
    legend in the upper left corner, above the data (:func:`headroom`)."""
    if not finite(seconds):
        return
    ax.axhline(seconds * 1000, color="#333333", linestyle="--", linewidth=1.2,
               label=f"raw file {what}: {seconds * 1000:.1f} ms (the limit)")
    if legend:
        headroom(ax)
        ax.legend(loc="upper left", fontsize=9)


def headroom(ax, fraction: float = 0.25) -> None:
    """Raise the top of ``ax``'s y axis so its data (and their value labels) stay in the lower ``1 - fraction``:
    the room above is the legend's."""
    low, high = ax.get_ylim()
    if ax.get_yscale() == "log":
        ax.set_ylim(low, high * (high / low) ** (fraction / (1 - fraction)))
    else:
        ax.set_ylim(low, high + (high - low) * fraction / (1 - fraction))


def ratio_axis(ax, ratios) -> bool:
    """Start a compression-ratio axis at 1× (no gain; at 0 where a ratio is clearly below 1), so the bars'
    lengths compare; whether it starts at 1 (the title must say so)."""
    shown = [v for v in ratios if finite(v)]
    if not shown:
        return False
    # no compression stores a few bytes of metadata more than the raw volume (0.99997×): still 1.000×
    floor = 1.0 if min(shown) > 0.999 else 0.0
    top = max(max(shown), floor + 0.01)
    ax.set_ylim(floor, top + (top - floor) * 0.3)
    return bool(floor)


def no_data(ax, text="no results"):
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", color="#7f7f7f", wrap=True)


def layout_bars(ax, cells, values, *, fmt="%.1f", found=None):
    """One bar per (chunks, format): the layout's colour, format 3 hatched; failed cells marked ``n/a``.
    ``found``: the times' estimates, drawn as whiskers (:func:`whiskers`; the value's label above them)."""
    x = np.arange(len(cells))
    for i, ((chunks, zarr_format), value) in enumerate(zip(cells, values)):
        if finite(value):
            ax.bar(x[i], value, width=0.75, color=layout_colour(chunks), hatch=FORMAT_HATCH.get(zarr_format, ""),
                   edgecolor="#333333", linewidth=0.6)
            [top] = whiskers(ax, [x[i]], [value], found and [found[i]])
            ax.annotate(fmt % value, (x[i], top), xytext=(0, 2), textcoords="offset points", ha="center",
                        va="bottom", fontsize=8, rotation=90)
        else:
            ax.annotate("n/a", (x[i], 0), xytext=(0, 3), textcoords="offset points", ha="center", fontsize=9,
                        color="#7f7f7f", xycoords=("data", "axes fraction"))
    layout_ticks(ax, cells)
    ax.margins(y=0.2)


def layout_ticks(ax, cells):
    ax.set_xticks(np.arange(len(cells)), [f"{layout_label(c, f)}" for c, f in cells], rotation=40, ha="right",
                  rotation_mode="anchor", fontsize=9)


def layout_key(chunks, zarr_format) -> tuple:
    """A layout's place along a figure's x axis: format 2 first, plain chunks before shards, then by the chunk's
    voxels (smallest first)."""
    inner, shards = parse_chunking(chunks)
    return int(zarr_format), shards is not None, inner[0] * inner[1] * inner[2], inner
