"""Panels without data are left out: the one rule for every multi-panel figure of the report.

A run with only some benchmarks (a focused run, ``zarr-cryoet recommend --source``: the chunking reads, the HTTP
reads, the codec ratios) would otherwise draw panels of ``n/a`` marks and empty axes. :func:`keep_panels` removes the
panels that drew nothing and lays the others out again on a grid of the same margins, row by row.
"""

from __future__ import annotations

import math

from matplotlib.gridspec import GridSpec


def drew_data(ax) -> bool:
    """Whether ``ax`` shows data: a bar, a point, a line or an image (value labels and ``n/a`` marks are not)."""
    return ax.has_data()


def keep_panels(fig, axes, keep=None) -> list:
    """Remove from ``fig`` each axes of ``axes`` whose ``keep`` is false (default: :func:`drew_data`) and lay the
    rest out on a grid as wide as the old one (or as many as remain), same margins; returns the axes kept. Where
    none is kept, the first stays, emptied, saying "no results"."""
    axes = list(axes)
    keep = [drew_data(ax) for ax in axes] if keep is None else list(keep)
    if all(keep) or not axes:
        return axes
    if not any(keep):  # one panel left, saying so
        keep = [True] + [False] * (len(axes) - 1)
        axes[0].clear()
        axes[0].set_axis_off()
        axes[0].text(0.5, 0.5, "no results", transform=axes[0].transAxes, ha="center", va="center",
                     color="#7f7f7f")
    old = axes[0].get_subplotspec().get_gridspec()
    kept = [ax for ax, k in zip(axes, keep) if k]
    for ax, k in zip(axes, keep):
        if not k:
            fig.delaxes(ax)
    ncols = min(len(kept), old.ncols)
    grid = GridSpec(math.ceil(len(kept) / ncols), ncols, figure=fig,
                    **{name: value for name, value in old.get_subplot_params(fig).__dict__.items()
                       if name in ("left", "right", "bottom", "top", "wspace", "hspace")})
    for i, ax in enumerate(kept):
        ax.set_subplotspec(grid[i])
        ax.set_position(grid[i].get_position(fig))
    return kept
