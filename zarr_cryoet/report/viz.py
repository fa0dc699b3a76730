"""Figures of the data itself: what the tomogram the benchmarks run on looks like.

Three figures, after the reference gallery's ``cryoet_viz`` outputs, from a 3-D
``(z, y, x)`` volume:

=============================  ===========================================================
file                           content
=============================  ===========================================================
``cryoet_quick_viz.png``       XY / XZ / YZ centre slices; intensity histogram; statistics
``cryoet_data_slices.png``     3 × 3 slices: XY at z = ¼, ½, ¾; XZ at three y; YZ at three x
``cryoet_distribution.png``    histogram of every voxel; box plots of the z = ¼, ½, ¾ slices
=============================  ===========================================================

Each ``build_*`` function returns the :class:`~matplotlib.figure.Figure` (for
inspection or further editing); each ``*_viz`` function builds it and saves it
with :func:`zarr_cryoet.report.style.save_figure`; :func:`write_all` writes all three.
All slices of one figure share one grayscale contrast, the 1st–99th percentile
of the whole volume (:func:`display_range`). The input is never modified.

Slices are shown with ``origin="lower"`` (index 0 at the bottom left) and equal
aspect, so a voxel is square; axes are in voxels (the voxel size, when known
from the provenance, is printed in the statistics panel).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from zarr_cryoet.store.stores import check_volume
from zarr_cryoet.data.provenance import voxel_size_angstrom
from zarr_cryoet.report.style import (DPI_WEB, figure_style, new_figure, save_figure, scale_bar, series_colour,
                                      style_axes)

__all__ = [
    "DISTRIBUTION_FILE", "FIGSIZES", "FILENAMES", "QUICK_FILE", "SLICES_FILE", "build_distribution_viz",
    "build_quick_viz", "build_slices_viz", "display_range", "distribution_viz", "quick_viz",
    "slice_indices", "slices_viz", "volume_stats", "write_all",
]

QUICK_FILE = "cryoet_quick_viz.png"
SLICES_FILE = "cryoet_data_slices.png"
DISTRIBUTION_FILE = "cryoet_distribution.png"
FILENAMES = (QUICK_FILE, SLICES_FILE, DISTRIBUTION_FILE)

INTENSITY_LABEL = "Intensity (a.u.)"
COUNT_LABEL = "Count (voxels)"
PERCENTILES = (1.0, 99.0)
HISTOGRAM_BINS = 128
QUICK_FIGSIZE = (12.0, 8.0)
SLICES_FIGSIZE = (11.0, 10.0)
DISTRIBUTION_FIGSIZE = (12.0, 4.5)
#: Figure size in inches of each file; its PNG is exactly ``figsize × dpi`` pixels.
FIGSIZES = {QUICK_FILE: QUICK_FIGSIZE, SLICES_FILE: SLICES_FIGSIZE, DISTRIBUTION_FILE: DISTRIBUTION_FIGSIZE}
# Fixed margins (figure fractions) instead of a constrained layout: the content of these
# figures is known, and a layout pass would double the time to save them.
_QUICK_GRID = {"left": 0.07, "right": 0.9, "bottom": 0.08, "top": 0.88, "wspace": 0.32, "hspace": 0.38,
               "height_ratios": (1.25, 1.0)}
_SLICES_GRID = {"left": 0.07, "right": 0.89, "bottom": 0.06, "top": 0.91, "wspace": 0.3, "hspace": 0.38}
_DISTRIBUTION_GRID = {"left": 0.07, "right": 0.98, "bottom": 0.14, "top": 0.83, "wspace": 0.22}
# Titles sit at a fixed height above each panel (nothing is drawn above these axes), which
# spares matplotlib a measuring pass per panel when the figure is saved.
_TITLE_Y = 1.0
_HIST_COLOUR = "#45B7D1"
_SAMPLE_LIMIT = 1 << 24  # percentiles of larger volumes come from a regular subsample
# Which volume axes span each plane's image: (rows, columns), as (name, axis index).
_PLANES = {
    "XY": (("y", 1), ("x", 2), ("z", 0)),
    "XZ": (("z", 0), ("x", 2), ("y", 1)),
    "YZ": (("z", 0), ("y", 1), ("x", 2)),
}


# --- numbers ------------------------------------------------------------------------


def slice_indices(n: int) -> tuple[int, int, int]:
    """The ¼, ½ and ¾ positions along an axis of length ``n`` (clamped to ``0 … n-1``)."""
    return tuple(min(max(int(n * f), 0), n - 1) for f in (0.25, 0.5, 0.75))


def display_range(volume: np.ndarray, percentiles=PERCENTILES) -> tuple[float, float]:
    """The grayscale window shared by every slice of a figure: the 1st–99th percentile.

    Non-finite voxels are ignored; volumes above 16 Mi voxels use a regular
    subsample. A flat window (constant data) is widened so it is never empty.
    """
    volume = check_volume(volume)
    sample = volume
    if volume.size > _SAMPLE_LIMIT:
        step = int(np.ceil((volume.size / _SAMPLE_LIMIT) ** (1 / 3)))
        sample = volume[::step, ::step, ::step]
    values = _finite(sample)
    if values.size == 0:
        raise ValueError("volume has no finite values; nothing to display")
    lo, hi = (float(v) for v in np.percentile(values, percentiles))
    if not hi > lo:
        lo, hi = _widen(lo, hi)
    return lo, hi


def volume_stats(volume: np.ndarray) -> dict:
    """Shape, dtype, min, max, mean and std (float64 sums) over the finite voxels."""
    volume = check_volume(volume)
    values = _finite(volume)
    if values.size == 0:
        raise ValueError("volume has no finite values; nothing to display")
    return {
        "shape": tuple(int(n) for n in volume.shape),
        "dtype": str(volume.dtype),
        "min": float(values.min()),
        "max": float(values.max()),
        "mean": float(values.mean(dtype=np.float64)),
        "std": float(values.std(dtype=np.float64)),
        "non_finite": int(volume.size - values.size),
    }


def _finite(values: np.ndarray) -> np.ndarray:
    """The finite values (a read-only view of ``values`` when they are all finite)."""
    if np.issubdtype(values.dtype, np.integer):
        return values
    mask = np.isfinite(values)
    return values if mask.all() else values[mask]


def _widen(lo: float, hi: float) -> tuple[float, float]:
    pad = abs(lo) * 1e-3 or 1.0
    return lo - pad, hi + pad


def _histogram(volume: np.ndarray, stats: dict):
    lo, hi = stats["min"], stats["max"]
    if not hi > lo:
        lo, hi = _widen(lo, hi)
    return np.histogram(_finite(volume), bins=HISTOGRAM_BINS, range=(lo, hi))


def _plane(volume: np.ndarray, plane: str, index: int) -> np.ndarray:
    """The 2-D image of ``plane`` at ``index`` (rows, columns as in :data:`_PLANES`)."""
    if plane == "XY":
        return volume[index, :, :]
    if plane == "XZ":
        return volume[:, index, :]
    return volume[:, :, index]


# --- building blocks ----------------------------------------------------------------


def _show_plane(ax, volume, plane, index, window, voxel_size=None):
    (row_name, _), (col_name, _), (fixed_name, _) = _PLANES[plane]
    shown = _plane(volume, plane, index)
    image = ax.imshow(shown, cmap="gray", vmin=window[0], vmax=window[1],
                      origin="lower", aspect="equal", interpolation="nearest")
    scale_bar(ax, voxel_size, shown.shape)
    style_axes(ax, grid=False)
    ax.set_title(f"{plane} plane, {fixed_name} = {index}", y=_TITLE_Y)
    ax.set_xlabel(f"{col_name} (voxels)")
    ax.set_ylabel(f"{row_name} (voxels)")
    return image


def _draw_histogram(ax, volume, stats, window, *, legend_ax=None):
    counts, edges = _histogram(volume, stats)
    ax.stairs(counts, edges, fill=True, color=_HIST_COLOUR, alpha=0.85, label="voxels")
    mean = ax.axvline(stats["mean"], color="#333333", linestyle="-", linewidth=1.2, label="mean")
    for x in window:
        ax.axvline(x, color="#F38181", linestyle="--", linewidth=1.2)
    ax.set_xlim(edges[0], edges[-1])
    ax.set_ylim(bottom=0)
    ax.ticklabel_format(axis="both", style="sci", scilimits=(-3, 4))
    ax.set_xlabel(INTENSITY_LABEL)
    ax.set_ylabel(COUNT_LABEL)
    handles = [Patch(color=_HIST_COLOUR, alpha=0.85, label=f"voxels ({HISTOGRAM_BINS} bins)"), mean,
               Line2D([], [], color="#F38181", linestyle="--", linewidth=1.2,
                      label=f"display range ({PERCENTILES[0]:g}–{PERCENTILES[1]:g} %)")]
    (legend_ax or ax).legend(handles=handles, loc="center" if legend_ax else "upper left",
                             title="Histogram" if legend_ax else None, frameon=legend_ax is None)
    return counts, edges


def _stats_lines(stats: dict, window, provenance: Mapping | None) -> list[tuple[str, str]]:
    z, y, x = stats["shape"]
    rows = [
        ("shape (z, y, x)", f"{z} × {y} × {x}"),
        ("dtype", stats["dtype"]),
        ("min", f"{stats['min']:.4g}"),
        ("max", f"{stats['max']:.4g}"),
        ("mean", f"{stats['mean']:.4g}"),
        ("std", f"{stats['std']:.4g}"),
        (f"display {PERCENTILES[0]:g}–{PERCENTILES[1]:g} %", f"{window[0]:.3g} … {window[1]:.3g}"),
    ]
    if stats["non_finite"]:
        rows.append(("non-finite voxels", str(stats["non_finite"])))
    if provenance:
        source = provenance.get("identity") or provenance.get("source")
        if source:
            rows.append(("source", _shorten(str(source), 34)))
        voxel = _format_voxel_size(provenance.get("voxel_size"))
        if voxel:
            rows.append(("voxel size", voxel))
    return rows


def _draw_stats(ax, stats, window, provenance):
    ax.set_axis_off()
    ax.set_title("Statistics", y=_TITLE_Y)
    rows = _stats_lines(stats, window, provenance)
    width = max(len(key) for key, _ in rows)
    text = "\n".join(f"{key:<{width}}  {value}" for key, value in rows)
    ax.text(0.02, 0.98, text, transform=ax.transAxes, va="top", ha="left", family="monospace",
            fontsize=11, linespacing=1.5)


def _format_voxel_size(voxel) -> str | None:
    if voxel is None:
        return None
    if isinstance(voxel, (int, float, np.number)):
        return f"{float(voxel):g} Å" if voxel else None
    try:
        values = [float(v) for v in voxel]
    except (TypeError, ValueError):
        return None
    if not values or not any(values):
        return None
    if len(set(values)) == 1:
        return f"{values[0]:g} Å"
    return " × ".join(f"{v:g}" for v in values) + " Å (z, y, x)"


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _title(title: str | None, default: str, volume: np.ndarray, provenance: Mapping | None) -> str:
    if title:
        return title
    z, y, x = volume.shape
    what = None
    if provenance:
        what = provenance.get("identity") or provenance.get("source")
    return f"{default}: {what}" if what else f"{default}: {z} × {y} × {x} {volume.dtype}"


def _colorbar(fig, image, rect):
    """A colour bar in its own axes at ``rect`` (figure fraction: left, bottom, width, height)."""
    bar = fig.colorbar(image, cax=fig.add_axes(rect))
    bar.set_label(INTENSITY_LABEL)
    bar.ax.ticklabel_format(axis="y", style="sci", scilimits=(-3, 4))
    bar.ax.grid(False)
    return bar


# --- figures ------------------------------------------------------------------------


def build_quick_viz(volume: np.ndarray, *, title: str | None = None, provenance: Mapping | None = None):
    """XY / XZ / YZ centre slices (top); histogram, statistics and legend (bottom)."""
    volume = check_volume(volume)
    stats = volume_stats(volume)
    window = display_range(volume)
    centre = tuple(n // 2 for n in volume.shape)
    with figure_style():
        fig, axes = new_figure(2, 3, figsize=QUICK_FIGSIZE, title=_title(title, "Tomogram overview", volume, provenance),
                               layout=None, gridspec_kw=_QUICK_GRID)
        image = None
        for ax, plane in zip(axes[0], _PLANES):
            fixed_axis = _PLANES[plane][2][1]
            image = _show_plane(ax, volume, plane, centre[fixed_axis], window, voxel_size_angstrom(provenance))
        _colorbar(fig, image, (0.925, 0.50, 0.013, 0.36))
        axes[1, 0].set_title("Intensity histogram", y=_TITLE_Y)
        _draw_histogram(axes[1, 0], volume, stats, window, legend_ax=axes[1, 2])
        _draw_stats(axes[1, 1], stats, window, provenance)
        axes[1, 2].set_axis_off()
    return fig


def build_slices_viz(volume: np.ndarray, *, title: str | None = None, provenance: Mapping | None = None):
    """3 × 3 slices: XY at z = ¼, ½, ¾ of depth; XZ at three y; YZ at three x."""
    volume = check_volume(volume)
    window = display_range(volume)
    with figure_style():
        fig, axes = new_figure(3, 3, figsize=SLICES_FIGSIZE, title=_title(title, "Orthogonal slices", volume, provenance),
                               layout=None, gridspec_kw=_SLICES_GRID)
        image = None
        for row, plane in zip(axes, _PLANES):
            fixed_axis = _PLANES[plane][2][1]
            for ax, index in zip(row, slice_indices(volume.shape[fixed_axis])):
                image = _show_plane(ax, volume, plane, index, window, voxel_size_angstrom(provenance))
        _colorbar(fig, image, (0.915, 0.25, 0.015, 0.5))
    return fig


def build_distribution_viz(volume: np.ndarray, *, title: str | None = None,
                           provenance: Mapping | None = None):
    """Histogram of every voxel (left); box plots of the z = ¼, ½, ¾ slices (right)."""
    volume = check_volume(volume)
    stats = volume_stats(volume)
    window = display_range(volume)
    zs = slice_indices(volume.shape[0])
    with figure_style():
        fig, (hist_ax, box_ax) = new_figure(1, 2, figsize=DISTRIBUTION_FIGSIZE, layout=None,
                                            gridspec_kw=_DISTRIBUTION_GRID,
                                            title=_title(title, "Intensity distribution", volume, provenance))
        hist_ax.set_title(f"All {volume.size:,} voxels", y=_TITLE_Y)
        _draw_histogram(hist_ax, volume, stats, window)

        data = [_finite(volume[z]).ravel() for z in zs]
        boxes = box_ax.boxplot(data, positions=list(range(1, len(zs) + 1)), widths=0.55, patch_artist=True,
                               showfliers=True, flierprops={"marker": ".", "markersize": 2, "alpha": 0.4,
                                                            "markeredgecolor": "#7f7f7f"},
                               medianprops={"color": "#333333", "linewidth": 1.5})
        for i, box in enumerate(boxes["boxes"]):
            box.set_facecolor(series_colour(i))
            box.set_alpha(0.75)
        box_ax.set_xticks(list(range(1, len(zs) + 1)))
        box_ax.set_xticklabels([f"z = {z}" for z in zs])
        box_ax.ticklabel_format(axis="y", style="sci", scilimits=(-3, 4))
        box_ax.set_title("XY slices at ¼, ½, ¾ depth", y=_TITLE_Y)
        box_ax.set_xlabel("Slice position z (voxels)")
        box_ax.set_ylabel(INTENSITY_LABEL)
    return fig


# --- files --------------------------------------------------------------------------


def quick_viz(volume: np.ndarray, path, *, title: str | None = None, dpi: float = DPI_WEB,
              provenance: Mapping | None = None) -> Path:
    """Write the overview figure (``cryoet_quick_viz.png``) to ``path`` (a file or a directory)."""
    return _write(build_quick_viz, volume, path, QUICK_FILE, title, dpi, provenance)


def slices_viz(volume: np.ndarray, path, *, title: str | None = None, dpi: float = DPI_WEB,
               provenance: Mapping | None = None) -> Path:
    """Write the 3 × 3 slice figure (``cryoet_data_slices.png``) to ``path`` (a file or a directory)."""
    return _write(build_slices_viz, volume, path, SLICES_FILE, title, dpi, provenance)


def distribution_viz(volume: np.ndarray, path, *, title: str | None = None, dpi: float = DPI_WEB,
                     provenance: Mapping | None = None) -> Path:
    """Write the distribution figure (``cryoet_distribution.png``) to ``path`` (a file or a directory)."""
    return _write(build_distribution_viz, volume, path, DISTRIBUTION_FILE, title, dpi, provenance)


def write_all(volume: np.ndarray, out_dir, *, dpi: float = DPI_WEB, provenance: Mapping | None = None) -> list[Path]:
    """Write the three figures into ``out_dir`` (created if needed); return their paths.

    The volume is checked before anything is written, so bad input leaves no file behind.
    """
    volume = check_volume(volume)
    _check_dpi(dpi)
    out_dir = Path(out_dir)
    return [
        quick_viz(volume, out_dir / QUICK_FILE, dpi=dpi, provenance=provenance),
        slices_viz(volume, out_dir / SLICES_FILE, dpi=dpi, provenance=provenance),
        distribution_viz(volume, out_dir / DISTRIBUTION_FILE, dpi=dpi, provenance=provenance),
    ]


def _write(build, volume, path, default_name, title, dpi, provenance) -> Path:
    volume = check_volume(volume)
    _check_dpi(dpi)
    path = Path(path)
    if path.is_dir():
        path = path / default_name
    fig = build(volume, title=title, provenance=provenance)
    return save_figure(fig, path, dpi=dpi)


def _check_dpi(dpi) -> None:
    if isinstance(dpi, bool) or not isinstance(dpi, (int, float, np.number)) or not dpi > 0:
        raise ValueError(f"dpi must be a positive number, got {dpi!r}; use e.g. 150 (web) or 300 (print)")
