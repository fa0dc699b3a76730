"""The one plot style of the project: colours, fonts, sizes, and how figures are made and saved.

Every figure (the data views in :mod:`zarr_cryoet.report.viz`, the benchmark report)
is built with :func:`new_figure` and written with :func:`save_figure`, so they
all share:

* sans-serif text, 12 pt body (axis labels), 10 pt tick labels and legends,
  14 pt titles (axes titles and the figure's suptitle);
* a light-gray grid at 30 % opacity on a white background;
* fixed colours per codec (:data:`CODEC_COLOURS`, :func:`codec_colour`) and
  one qualitative palette for every other categorical series
  (:func:`series_colour`);
* PNG output at :data:`DPI_WEB` or :data:`DPI_PRINT` whose pixel size is
  exactly ``figsize × dpi`` (no ``bbox_inches="tight"``; a constrained layout
  keeps labels inside the canvas instead).

Figures are plain :class:`matplotlib.figure.Figure` objects on a
:class:`~matplotlib.backends.backend_agg.FigureCanvasAgg`: nothing here
imports pyplot, switches the backend or changes global ``rcParams``
(:func:`figure_style` uses :func:`matplotlib.rc_context`).

Every axis of every figure carries a label with its unit in parentheses, e.g.
``"Time (ms)"``, ``"Size (MB)"``, ``"Intensity (a.u.)"``, ``"x (voxels)"``;
:func:`label_axis` sets them and :func:`unlabelled_axes` finds the ones
that were forgotten.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from zarr_cryoet.stats.estimate import NAME as _STATISTIC
from zarr_cryoet.report.log_axes import readable_log_ticks
# the colours, re-exported: figures take them with the rest of the style
from zarr_cryoet.report.colours import (CODEC_COLOURS, ENGINE_COLOURS, FASTER_COLOUR, FORMAT_HATCH,
                                         LAYOUT_COLOURS, PALETTE, RELEASE_PALETTE, SLOWER_COLOUR, codec_colour,
                                         codec_colours, layout_colour, release_colours, series_colour)

__all__ = [
    "CODEC_COLOURS", "DPI_PRINT", "DPI_WEB", "ENGINE_COLOURS", "FASTER_COLOUR", "FORMAT_HATCH", "GRID_ALPHA",
    "GRID_COLOUR", "LAYOUT_COLOURS", "PALETTE", "RELEASE_PALETTE", "SLOWER_COLOUR", "STATISTIC_LABEL", "STYLE_RC",
    "add_run_label", "apply_style", "close_figure", "codec_colour", "codec_colours", "figure_style", "footer_height",
    "has_units", "label_axis", "layout_colour", "log_if_wide", "new_figure", "plain_log_ticks", "release_colours",
    "scale_bar", "save_figure", "series_colour", "style_axes", "unlabelled_axes",
]

#: what every time in a figure is (the suite's statistic, :mod:`zarr_cryoet.stats.estimate`), for titles; each
#: time's interval and processes are in the CSVs (``*_low_ms``, ``*_high_ms``, ``*_processes``)
STATISTIC_LABEL = f"times: {_STATISTIC}"
DPI_WEB = 150
DPI_PRINT = 300
#: the font size (pt) of the run label every report figure carries as its footer (:func:`add_run_label`)
RUN_LABEL_SIZE = 8

GRID_COLOUR = "#d3d3d3"  # light gray
GRID_ALPHA = 0.3

#: The rcParams of the style (applied by :func:`figure_style` / :func:`apply_style`).
STYLE_RC: dict[str, object] = {
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Arial", "Helvetica", "Liberation Sans", "sans-serif"],
    "font.size": 12,
    "axes.labelsize": 12,
    "axes.titlesize": 14,
    "figure.titlesize": 14,
    "xtick.labelsize": 10,
    "ytick.labelsize": 10,
    "legend.fontsize": 10,
    "legend.title_fontsize": 10,
    "axes.grid": True,
    "axes.axisbelow": True,
    "grid.color": GRID_COLOUR,
    "grid.alpha": GRID_ALPHA,
    "grid.linestyle": "-",
    "grid.linewidth": 0.8,
    "axes.facecolor": "white",
    "axes.edgecolor": "#333333",
    "figure.facecolor": "white",
    "figure.edgecolor": "white",
    "savefig.facecolor": "white",
    "savefig.edgecolor": "white",
    "savefig.transparent": False,
    "savefig.bbox": "standard",  # never "tight": the pixel size must stay figsize × dpi
    "savefig.pad_inches": 0.1,
    "image.cmap": "gray",
    "image.interpolation": "nearest",
    "axes.prop_cycle": matplotlib.cycler(color=list(PALETTE)),
}

_UNITS = re.compile(r"\(\s*\S[^()]*\)\s*$")


def log_if_wide(ax, values, span: float = 20.0) -> bool:
    """Put the y axis on a log scale when the positive ``values`` span more than ``span``×; whether it did."""
    drawn = [float(v) for v in values if v is not None and v == v and v > 0]
    if drawn and max(drawn) / min(drawn) > span:
        ax.set_yscale("log")
        plain_log_ticks(ax)
        return True
    return False


def plain_log_ticks(ax, axis: str = "y") -> None:
    """Tick labels of a log axis as plain numbers (0.5, 2, 300), at least three of them in view: the report's one
    rule for log axes (:mod:`zarr_cryoet.report.log_axes`)."""
    readable_log_ticks(ax, axis)


def scale_bar(ax, voxel_size: float | None, image_shape) -> bool:
    """A white bar of a round length in nm (about a fifth of the image's width) in the lower left corner of an
    image drawn with ``imshow`` in voxel coordinates; nothing without a voxel size (Å). Whether it drew one."""
    if not voxel_size:
        return False
    rows, columns = image_shape[:2]
    target_nm = columns * voxel_size / 10 / 5
    length_nm = max(n for n in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000) if n <= max(target_nm, 1))
    voxels = length_nm * 10 / voxel_size
    x0, y0 = columns * 0.05, rows * 0.07
    top = ax.get_ylim()[0] > ax.get_ylim()[1]  # origin="upper": row 0 at the top
    y = rows - y0 if top else y0
    ax.plot([x0, x0 + voxels], [y, y], color="white", lw=3, solid_capstyle="butt", label="_scale bar")
    ax.text(x0, y + (-rows * 0.03 if top else rows * 0.03), f"{length_nm:g} nm", color="white", fontsize=8,
            va="bottom")
    return True


# --- style --------------------------------------------------------------------------


@contextmanager
def figure_style() -> Iterator[None]:
    """Apply the project style inside a ``with`` block, restoring rcParams afterwards."""
    with matplotlib.rc_context(STYLE_RC):
        yield


def apply_style() -> None:
    """Apply the project style to the global rcParams (for notebooks and pyplot scripts).

    Library code should use :func:`figure_style`, :func:`new_figure` and
    :func:`save_figure`, which leave the global state alone.
    """
    matplotlib.rcParams.update(STYLE_RC)


def new_figure(nrows: int = 1, ncols: int = 1, *, figsize=None, title: str | None = None,
               squeeze: bool = True, dpi: float = DPI_WEB, layout: str | None = "constrained",
               **subplots_kw):
    """A styled figure with an ``nrows × ncols`` grid of axes, like ``pyplot.subplots``.

    ``figsize`` is in inches (default 4 × 3.5 per panel); ``title`` becomes the
    14 pt suptitle. ``squeeze`` and the other keywords (``sharex``, ``sharey``,
    ``gridspec_kw``, ``subplot_kw``, …) are those of :meth:`Figure.subplots`.
    The figure has an Agg canvas and, unless ``layout`` says otherwise, a
    constrained layout (it keeps every label on the canvas; ``layout=None``
    with explicit ``gridspec_kw`` margins renders about twice as fast). No
    pyplot state is touched. Returns ``(fig, axes)``.
    """
    if figsize is None:
        figsize = (4.0 * ncols, 3.5 * nrows)
    with figure_style():
        fig = Figure(figsize=figsize, dpi=dpi, layout=layout)
        FigureCanvasAgg(fig)
        axes = fig.subplots(nrows, ncols, squeeze=squeeze, **subplots_kw) if nrows and ncols else None
        if axes is not None:
            for ax in _flat_axes(axes):
                style_axes(ax)
        if title:
            fig.suptitle(title)
    return fig, axes


def footer_height(fig: Figure | float) -> float:
    """The bottom strip (a fraction of the height of ``fig``, or of a figure that many inches high) that
    :func:`add_run_label` writes in: a figure laid out by hand keeps its axes and legends above it."""
    return RUN_LABEL_SIZE * 1.8 / 72 / (fig.get_figheight() if isinstance(fig, Figure) else float(fig))


def add_run_label(fig: Figure, label: str) -> Figure:
    """Write the run label (:meth:`ReportResults.run_label <zarr_cryoet.asv.results.ReportResults.run_label>`:
    data, size, cores, zarr release, commit) as the figure's footer, inside the canvas; returns ``fig``.

    A constrained layout keeps the axes, and the figure legends made so far at ``loc="outside lower …"``, above
    the footer's strip (:func:`footer_height`): call this after them."""
    strip = footer_height(fig)
    with figure_style():
        fig.text(0.005, strip * 0.2, label, ha="left", va="bottom", fontsize=RUN_LABEL_SIZE, color="#555555",
                 gid="run-label")
    engine = fig.get_layout_engine()
    if engine is not None and hasattr(engine, "set"):
        bottom = strip
        for legend in fig.legends:  # matplotlib puts these at the canvas's edge, over the footer: lift them
            if getattr(legend, "_outside_loc", None) == "lower":
                legend.set_bbox_to_anchor((0, strip, 1, 1 - strip), transform=fig.transFigure)
                height = legend.get_window_extent(fig.canvas.get_renderer()).height / fig.bbox.height
                bottom = max(bottom, strip + height + 0.01)
        engine.set(rect=(0, bottom, 1, 1 - bottom))
    return fig


def style_axes(ax, *, grid: bool = True) -> None:
    """Give ``ax`` the style's grid explicitly (robust to ticks created after the style block)."""
    if grid:
        ax.grid(True, color=GRID_COLOUR, alpha=GRID_ALPHA, linestyle="-", linewidth=0.8)
        ax.set_axisbelow(True)
    else:
        ax.grid(False)
    ax.set_facecolor("white")


def save_figure(fig: Figure, path, dpi: float = DPI_WEB) -> Path:
    """Write ``fig`` as a PNG of exactly ``figsize × dpi`` pixels, creating parent directories.

    The figure is closed afterwards (released from pyplot if pyplot manages it);
    returns the path written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not isinstance(fig.canvas, FigureCanvasAgg):
        FigureCanvasAgg(fig)
    with figure_style():
        fig.savefig(path, dpi=dpi, format="png", bbox_inches=None)
    close_figure(fig)
    return path


def close_figure(fig: Figure) -> None:
    """Release ``fig``: figures made by :func:`new_figure` need nothing; pyplot ones are closed."""
    pyplot = sys.modules.get("matplotlib.pyplot")  # never import pyplot just for this
    if pyplot is not None:
        pyplot.close(fig)


# --- labels -------------------------------------------------------------------------


def has_units(label: str | None) -> bool:
    """Whether an axis label ends with its unit in parentheses, e.g. ``"Time (ms)"``."""
    return bool(label) and bool(_UNITS.search(label.strip()))


def label_axis(ax, x: str | None = None, y: str | None = None) -> None:
    """Set the x and/or y label of ``ax``; each should end with its unit, e.g. ``"Size (MB)"``."""
    for label in (x, y):
        if label is not None and not has_units(label):
            raise ValueError(f"axis label {label!r} has no unit; write it as 'Quantity (unit)', e.g. 'Time (ms)'")
    if x is not None:
        ax.set_xlabel(x)
    if y is not None:
        ax.set_ylabel(y)


def unlabelled_axes(fig: Figure) -> list[str]:
    """Describe every visible axis of ``fig`` whose label is missing or has no unit.

    Axes that are switched off (text panels) are skipped; for a colour bar only
    its long axis is checked. An empty list means every axis is labelled.
    """
    problems = []
    for i, ax in enumerate(fig.axes):
        if not ax.axison or not ax.get_visible():
            continue
        colorbar = getattr(ax, "_colorbar", None)
        if colorbar is not None:
            which = ("x",) if colorbar.orientation == "horizontal" else ("y",)
        else:
            which = ("x", "y")
        name = ax.get_title() or f"axes {i}"
        for axis in which:
            label = ax.get_xlabel() if axis == "x" else ax.get_ylabel()
            if not has_units(label):
                problems.append(f"{name}: {axis} label {label!r} lacks 'Quantity (unit)'")
    return problems


def _flat_axes(axes) -> list:
    if hasattr(axes, "flat"):
        return list(axes.flat)
    return [axes]
