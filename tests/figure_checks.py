"""Checks that a figure reads at a glance: its labels do not overlap and its legends sit inside it.

Used by every figure's test::

    from tests.figure_checks import assert_readable
    assert_readable(build_chunking_figure(results))

The checks use the rendered bounding boxes (in display pixels) of

* every visible text the figure draws itself: value labels and annotations (``ax.texts``), axes titles,
  the figure's title and footer (``fig.texts``), and every legend's frame;
* every legend's frame against the figure's canvas;
* the run label (the footer, gid ``"run-label"``) against every axes with its tick labels and axis labels
  (:func:`footer_overlaps`);
* every legend's frame against the data of every axes (:func:`covered_data`): the bars (``Rectangle``
  patches), the points of scatter plots and the vertices of lines drawn in data coordinates (markers,
  error-bar caps). Reference lines across an axes (``axhline``) and error-bar stems may pass under a legend.

Tick labels are matplotlib's own business and are left out.
"""

from __future__ import annotations

import numpy as np
from matplotlib.collections import PathCollection
from matplotlib.patches import Rectangle
from matplotlib.transforms import Bbox

#: pixels two boxes may share before they count as overlapping (antialiasing, descenders)
TOLERANCE = 1.0


def _visible_text(artist) -> bool:
    return artist.get_visible() and bool(str(artist.get_text()).strip())


def labelled_boxes(fig) -> list[tuple[str, Bbox]]:
    """(what, bounding box) of each label and legend the figure draws, rendered."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = []
    for text in fig.texts:
        if _visible_text(text):
            boxes.append((f"figure text {text.get_text()!r}", text.get_window_extent(renderer)))
    if fig._suptitle is not None and fig._suptitle not in fig.texts and _visible_text(fig._suptitle):
        boxes.append((f"title {fig._suptitle.get_text()!r}", fig._suptitle.get_window_extent(renderer)))
    for legend in fig.legends:
        boxes.append(("figure legend", legend.get_window_extent(renderer)))
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        for text in ax.texts:
            if _visible_text(text):
                boxes.append((f"label {text.get_text()!r}", text.get_window_extent(renderer)))
        for title in (ax.title, ax._left_title, ax._right_title):
            if _visible_text(title):
                boxes.append((f"axes title {title.get_text()!r}", title.get_window_extent(renderer)))
        legend = ax.get_legend()
        if legend is not None and legend.get_visible():
            boxes.append((f"legend of {ax.get_title()!r}", legend.get_window_extent(renderer)))
    return boxes


def _overlap(a: Bbox, b: Bbox) -> bool:
    return (min(a.x1, b.x1) - max(a.x0, b.x0) > TOLERANCE) and (min(a.y1, b.y1) - max(a.y0, b.y0) > TOLERANCE)


def overlaps(fig) -> list[str]:
    """Every pair of labels or legends whose boxes overlap, described."""
    boxes = labelled_boxes(fig)
    return [f"{a} overlaps {b}" for i, (a, box_a) in enumerate(boxes) for b, box_b in boxes[i + 1:]
            if _overlap(box_a, box_b)]


def outside(fig) -> list[str]:
    """Every label or legend that reaches beyond the canvas, described."""
    canvas = fig.bbox
    return [f"{what} reaches beyond the figure ({box.x0:.0f}, {box.y0:.0f}, {box.x1:.0f}, {box.y1:.0f} px in "
            f"{canvas.width:.0f}×{canvas.height:.0f})" for what, box in labelled_boxes(fig)
            if box.x0 < -TOLERANCE or box.y0 < -TOLERANCE or box.x1 > canvas.x1 + TOLERANCE
            or box.y1 > canvas.y1 + TOLERANCE]


def _legends(fig):
    """(what, legend) of every visible legend, the figure's and the axes'."""
    found = [("figure legend", legend) for legend in fig.legends if legend.get_visible()]
    found += [(f"legend of {ax.get_title()!r}", ax.get_legend()) for ax in fig.axes
              if ax.get_visible() and ax.get_legend() is not None and ax.get_legend().get_visible()]
    return found


def data_boxes(ax, renderer) -> list[tuple[str, Bbox]]:
    """(what, box in display pixels) of each bar, and of each point of the scatter plots and lines drawn in
    data coordinates, that shows inside ``ax``; a point is a box of no size."""
    boxes = []
    view = ax.bbox
    for patch in ax.patches:
        if isinstance(patch, Rectangle) and patch.get_visible():
            box = patch.get_window_extent(renderer)
            if np.all(np.isfinite(box.get_points())) and box.width > 0 and box.height > 0:
                shown = Bbox.intersection(box, view)
                if shown is not None and shown.width > 0 and shown.height > 0:
                    boxes.append((f"bar at {patch.get_x() + patch.get_width() / 2:g}", shown))
    points = []
    for line in ax.get_lines():
        if line.get_visible() and line.get_transform() == ax.transData:  # not a line across the axes
            points.append((f"line {line.get_label()!r}", line.get_transform().transform(line.get_xydata())))
    for collection in ax.collections:
        if isinstance(collection, PathCollection) and collection.get_visible() and len(collection.get_offsets()):
            points.append((f"points {collection.get_label()!r}",
                           collection.get_offset_transform().transform(collection.get_offsets())))
    for what, xy in points:
        for x, y in np.asarray(xy, dtype=float).reshape(-1, 2):
            if np.isfinite(x) and np.isfinite(y) and view.contains(x, y):
                boxes.append((f"{what} at ({x:.0f}, {y:.0f}) px", Bbox([[x, y], [x, y]])))
    return boxes


def _covers(legend: Bbox, data: Bbox) -> bool:
    if data.width == 0 and data.height == 0:  # a point: strictly inside the frame
        return legend.x0 + TOLERANCE < data.x0 < legend.x1 - TOLERANCE and \
            legend.y0 + TOLERANCE < data.y0 < legend.y1 - TOLERANCE
    return _overlap(legend, data)


def covered_data(fig) -> list[str]:
    """Every bar or data point that a legend covers, described (the first few per legend and axes)."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    problems = []
    for what, legend in _legends(fig):
        frame = legend.get_window_extent(renderer)
        for ax in fig.axes:
            if not ax.get_visible():
                continue
            covered = [data for data, box in data_boxes(ax, renderer) if _covers(frame, box)]
            if covered:
                problems.append(f"{what} covers {len(covered)} data of axes {ax.get_title()!r}: "
                                + "; ".join(covered[:3]))
    return problems


def run_label(fig):
    """The figure's run label (its footer, :func:`zarr_cryoet.report.style.add_run_label`), or None."""
    return next((text for text in fig.texts if text.get_gid() == "run-label"), None)


def footer_overlaps(fig) -> list[str]:
    """Every axes whose tick labels, axis labels or title reach into the run label, described."""
    footer = run_label(fig)
    if footer is None or not _visible_text(footer):
        return []
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    box = footer.get_window_extent(renderer)
    return [f"the run label overlaps axes {ax.get_title()!r} (its ticks or labels)" for ax in fig.axes
            if ax.get_visible() and _overlap(box, ax.get_tightbbox(renderer))]


def few_log_labels(fig, least: int = 3) -> list[str]:
    """Every visible log (or symlog) axis with fewer than ``least`` labelled ticks in view, described: a reader
    cannot read a value off it (:mod:`zarr_cryoet.report.log_axes`)."""
    from zarr_cryoet.report.log_axes import labelled_ticks

    fig.canvas.draw()
    problems = []
    for ax in fig.axes:
        if not (ax.get_visible() and ax.axison):
            continue
        for axis, scale in (("x", ax.get_xscale()), ("y", ax.get_yscale())):
            if scale in ("log", "symlog"):
                labels = labelled_ticks(ax, axis)
                if len(labels) < least:
                    problems.append(f"axes {ax.get_title()!r}: log {axis} axis labels only {labels}")
    return problems


def errorbars(ax) -> int:
    """How many error bars (whiskers) ``ax`` draws."""
    from matplotlib.container import ErrorbarContainer

    return sum(len(c.lines[2][0].get_segments()) if c.lines[2] else 0 for c in ax.containers
               if isinstance(c, ErrorbarContainer))


def unkept_promises(fig) -> list[str]:
    """Where a caption promises whiskers (error bars) and none are drawn, described: the figure's title (some axes
    must draw them) and each axes title (that axes must)."""
    problems = []
    shown = [ax for ax in fig.axes if ax.get_visible() and ax.axison]
    if "whisker" in fig.get_suptitle().lower() and not any(errorbars(ax) for ax in shown):
        problems.append(f"the title promises whiskers and no panel draws any: {fig.get_suptitle()!r}")
    problems += [f"axes {ax.get_title()!r} promises whiskers and draws none" for ax in shown
                 if "whisker" in ax.get_title().lower() and not errorbars(ax)]
    return problems


def empty_panels(fig) -> list[str]:
    """Every visible panel that draws no data (a bar, a point, a line), described; and every text that says a
    missing parameter is "none" (``zarr format none``)."""
    problems = [f"axes {ax.get_title()!r} draws nothing" for ax in fig.axes
                if ax.get_visible() and ax.axison and not ax.has_data()]
    texts = [fig.get_suptitle(), *(t.get_text() for t in fig.texts),
             *(t for ax in fig.axes for t in (ax.get_title(), ax.get_xlabel(), ax.get_ylabel()))]
    problems += [f"a text names a missing parameter 'none': {t!r}" for t in texts if " none" in t.lower()
                 and "no compression" not in t.lower()]
    return problems


def assert_readable(fig) -> None:
    """Fail naming each overlap, each label or legend outside the canvas and each legend over data."""
    problems = overlaps(fig) + outside(fig) + covered_data(fig) + footer_overlaps(fig)
    assert not problems, "\n".join(problems)


# --- a focused run's results, and what a caption promises --------------------------------


def focused_results(source, tmp_path, machine: str = "vm", bench=None):
    """The results a focused run (``zarr-cryoet recommend --source``) leaves: the benchmarks of ``bench`` (asv
    --bench regexes; default :data:`zarr_cryoet.asv.config.FOCUSED_BENCH`, a crop's) on the newest zarr release only,
    cut from the recorded run ``source`` (a results directory) into ``tmp_path``; its provenance is copied along."""
    import json
    import re
    import shutil
    from pathlib import Path

    from zarr_cryoet.asv.config import FOCUSED_BENCH

    source, out = Path(source), Path(tmp_path) / "results"
    (out / machine).mkdir(parents=True)
    shutil.copy(source / "benchmarks.json", out / "benchmarks.json")
    shutil.copy(source / machine / "machine.json", out / machine / "machine.json")
    newest = sorted((source / machine).glob("*-zarr3.4.2.json"))[-1]
    run = json.loads(newest.read_text())
    run["results"] = {name: value for name, value in run["results"].items()
                      if any(re.search(pattern, name) for pattern in bench or FOCUSED_BENCH)}
    (out / machine / newest.name).write_text(json.dumps(run))
    provenance = source.parent / "provenance"
    if provenance.is_dir():
        shutil.copytree(provenance, out.parent / "provenance")
    return out
