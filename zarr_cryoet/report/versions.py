"""Did the new zarr release make it slower? Each release against a baseline release, as ratios.

The baseline of a cell (one benchmark with one set of parameters) is the oldest release in the
results that measured it: zarr 2.18.7, or for zarr format 3 (which 2.x cannot write) the oldest
3.x. A time is marked slower or faster only when the two times differ beyond their intervals
(:mod:`zarr_cryoet.report.precision`); times without an interval (runs that recorded no samples)
fall back to :data:`THRESHOLD`. The figure draws the ratios of the headline benchmarks with their
precision; ``version_comparison.csv`` has every cell with both absolute values and the ratio's
precision.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from matplotlib.patches import Patch

from matplotlib.lines import Line2D

from zarr_cryoet.report.families import CHUNKING, COMPRESSION
from zarr_cryoet.report.precision import differ, ratio_precision, timed
from zarr_cryoet.report.results import ReportResults, finite
from zarr_cryoet.report.style import (FASTER_COLOUR, SLOWER_COLOUR, STATISTIC_LABEL, add_run_label, figure_style,
                                      footer_height, label_axis, new_figure, plain_log_ticks, release_colours)
from zarr_cryoet.report.tables import _cell, chunk_label, codec_label, param_order

VERSION_PNG = Path("version_comparison", "version_comparison.png")
VERSION_CSV = Path("version_comparison", "version_comparison.csv")
FIGSIZE = (20.0, 11.0)
_GRID = {"left": 0.05, "right": 0.99, "bottom": 0.16, "top": 0.88, "wspace": 0.22, "hspace": 0.75}
#: without intervals, a ratio beyond this (or its inverse) is marked as a change
THRESHOLD = 1.1

#: The version comparison's panels: (title, asv module, parameter of the categories, benchmark).
VERSION_PANELS = [
    ("Compression: write", COMPRESSION.module, "codec", COMPRESSION.write),
    ("Compression: read", COMPRESSION.module, "codec", COMPRESSION.read),
    ("Chunking: write", CHUNKING.module, "chunks", CHUNKING.write),
    ("Chunking: full read", CHUNKING.module, "chunks", CHUNKING.full_read),
    ("Chunking: XY slice", CHUNKING.module, "chunks", CHUNKING.slice_xy),
]


def baseline(results: ReportResults, benchmark: str, params: dict):
    """(release, value) of the oldest release with a result for this cell, or (None, nan)."""
    for env in results.envs:
        value = results.value(env, benchmark, **params)
        if finite(value):
            return env, value
    return None, math.nan


def change(ratio: float, differs: bool | None = None, threshold: float = THRESHOLD) -> str:
    """``slower``, ``faster`` or ``same`` for a time ratio (new ÷ baseline): beyond both intervals when
    ``differs`` is known (:func:`zarr_cryoet.report.precision.differ`), else beyond ``threshold``."""
    if not finite(ratio):
        return ""
    if differs is not None:
        return "same" if not differs else "slower" if ratio > 1 else "faster"
    return "slower" if ratio > threshold else "faster" if ratio < 1 / threshold else "same"


def compared(results: ReportResults, env, base_env, benchmark: str, params: dict):
    """(ratio, its precision, whether the two times differ beyond their intervals) of one cell against its
    baseline release's."""
    new, old = timed(results, env, benchmark, **params), timed(results, base_env, benchmark, **params)
    if new is None or old is None or not old.seconds:
        return math.nan, None, None
    return new.seconds / old.seconds, ratio_precision(new.precision, old.precision), differ(new, old)


def versus_baseline(results: ReportResults, env, benchmark: str, params: dict) -> dict:
    """The CSV columns of one cell against its baseline: release, value, ratio and (for times) the change."""
    base_env, base_value = baseline(results, benchmark, params)
    value = results.value(env, benchmark, **params)
    ratio = value / base_value if base_env is not None and finite(value) and base_value else math.nan
    is_time = results.units.get(benchmark) == "s"
    precision, differs = None, None
    if is_time and base_env is not None:
        _, precision, differs = compared(results, env, base_env, benchmark, params)
    return {"baseline_zarr_version": base_env.zarr_version if base_env else "",
            "baseline_value": base_value if finite(base_value) else "",
            "ratio_to_baseline": ratio if finite(ratio) else "",
            "ratio_precision_pct": round(precision * 100, 1) if precision is not None and finite(ratio) else "",
            "change": change(ratio, differs) if is_time and base_env is not None and base_env.name != env.name
            else ""}


def version_rows(results: ReportResults) -> list[dict]:
    """Every cell of every benchmark and environment, one row each (long format), with its baseline
    release's value and the ratio to it (:func:`versus_baseline`)."""
    names = sorted({n for ns in results.param_names.values() for n in ns}, key=param_order)
    rows = []
    for env in results.envs:
        for (env_name, key, combo), value in results.values.items():
            if env_name != env.name:
                continue
            params = dict(zip(results.param_names[key], combo))
            status = "failed" if value is None else "ok" if finite(value) else "skipped"
            row = {"metric": key.rsplit(".", 1)[-1].removeprefix("time_").removeprefix("track_"),
                   "benchmark": key, **{n: params.get(n, "") for n in names},
                   "zarr_version": env.zarr_version, "python": env.python, "value": _cell(value),
                   "unit": results.units.get(key, ""), "status": status,
                   **versus_baseline(results, env, key, params),
                   "commit": results.commit, "machine": results.machine}
            rows.append(row)
    return rows


def _cells(results: ReportResults, module: str, param: str, benchmark: str, data):
    """(category, format) cells with a ratio to draw: measured by a release newer than their baseline."""
    cells = []
    for category in results.choices(module, param):
        for fmt in results.choices(module, "zarr_format"):
            params = {"data": data, "zarr_format": fmt, param: category}
            base_env, _ = baseline(results, benchmark, params)
            if base_env is not None and any(finite(results.value(e, benchmark, **params))
                                            for e in results.envs if e.name != base_env.name):
                cells.append((category, fmt, base_env))
    return cells


def build_version_figure(results: ReportResults, *, data=None, threshold: float = THRESHOLD):
    """One panel per headline benchmark: each newer release's time ÷ its baseline, per codec or layout."""
    colours = release_colours(e.zarr_version for e in results.envs)
    oldest = results.envs[0]
    datas = {m: (data if data is not None else next(iter(results.choices(m, "data")), None))
             for m in (COMPRESSION.module, CHUNKING.module)}
    shown = datas[COMPRESSION.module] or datas[CHUNKING.module]
    title = (f"Each zarr release's time ÷ the oldest release that measured it (zarr {oldest.zarr_version} unless "
             f"marked †)\n{STATISTIC_LABEL}")
    grid = {**_GRID, "bottom": _GRID["bottom"] + footer_height(FIGSIZE[1])}
    with figure_style():
        fig, axes = new_figure(2, 3, figsize=FIGSIZE, layout=None, gridspec_kw=grid, squeeze=False, title=title)
        add_run_label(fig, results.run_label(shown))
        flat = list(axes.flat)
        rules = set()
        for ax, (panel, module, param, benchmark) in zip(flat, VERSION_PANELS):
            rules |= _panel(ax, results, panel, module, param, benchmark, datas[module], colours, oldest, threshold)
        legend_ax = flat[len(VERSION_PANELS)]
        legend_ax.set_axis_off()
        handles = [Patch(facecolor=colours[e.zarr_version], edgecolor="#333333", label=f"zarr {e.zarr_version}")
                   for e in results.envs[1:]]
        handles += [Patch(facecolor="white", edgecolor=edge, linewidth=width, label=label)
                    for edge, width, label in zip((SLOWER_COLOUR, FASTER_COLOUR, "#333333"), (2, 2, 0.5),
                                                  change_labels((rules - {"whisker"}) or {"intervals"}, threshold))]
        if "whisker" in rules:
            handles.append(Line2D([], [], color="#333333", linewidth=1, label="whisker: the ratio's precision (±)"))
        if "threshold" in rules:
            handles.append(Line2D([], [], color="#333333", linewidth=0.8, linestyle=":",
                                  label=f"{threshold:g}× slower or faster"))
        legend_ax.legend(handles=handles, loc="upper left", title="Release / change", fontsize=11)
        legend_ax.text(0.0, 0.25, "† zarr format 3: against the oldest 3.x\n(zarr 2 cannot write format 3).\n"
                                  "Absolute times: version_comparison.csv\n(value, baseline_value).",
                       transform=legend_ax.transAxes, fontsize=11, va="top")
    return fig


def change_labels(rules: set, threshold: float = THRESHOLD) -> tuple[str, str, str]:
    """The legend's words for slower, faster and no clear change after the rules :func:`change` applied:
    ``"intervals"`` (the two times' intervals do not overlap) and ``"threshold"`` (no intervals: a ratio
    above ``threshold`` or below its inverse). Slower and faster in the same words."""
    words = [text for rule, text in (("intervals", "the times' intervals do not overlap"),
                                     ("threshold", f"by more than {threshold:g}× (no intervals recorded)"))
             if rule in rules]
    same = {frozenset({"intervals"}): ": intervals overlap",
            frozenset({"threshold"}): f": within {threshold:g}× either way"}.get(frozenset(rules), "")
    return "slower: " + ", or ".join(words), "faster: " + ", or ".join(words), "no clear change" + same


def _panel(ax, results, title, module, param, benchmark, data, colours, oldest, threshold) -> set:
    """Draw one benchmark's ratios; the rules (:func:`change_labels`) that marked them, and ``"whisker"`` where
    a ratio has a precision to draw."""
    cells = _cells(results, module, param, benchmark, data)
    label = codec_label if param == "codec" else chunk_label
    ax.set_title(title)
    if not cells:
        ax.set_axis_off()
        ax.text(0.5, 0.5, "no release to compare", transform=ax.transAxes, ha="center", color="#7f7f7f")
        return set()
    newer = [e for e in results.envs[1:]]
    width = 0.8 / max(len(newer), 1)
    ratios, rules = [], set()
    for j, env in enumerate(newer):
        for i, (category, fmt, base_env) in enumerate(cells):
            if env.name == base_env.name:
                continue
            params = {"data": data, "zarr_format": fmt, param: category}
            ratio, precision, differs = compared(results, env, base_env, benchmark, params)
            if not finite(ratio):
                continue
            ratios.append(ratio * (1 + (precision or 0)))
            ratios.append(ratio / (1 + (precision or 0)))
            marked = change(ratio, differs, threshold)
            rules.add("threshold" if differs is None else "intervals")
            edge = {"slower": SLOWER_COLOUR, "faster": FASTER_COLOUR}.get(marked, "#333333")
            x = i + (j - (len(newer) - 1) / 2) * width
            ax.bar(x, ratio - 1, bottom=1, width=width, color=colours[env.zarr_version], edgecolor=edge,
                   linewidth=2 if marked != "same" else 0.5)
            if precision:
                rules.add("whisker")
                ax.errorbar(x, ratio, yerr=[[ratio - ratio / (1 + precision)], [ratio * precision]], fmt="none",
                            ecolor="#333333", elinewidth=0.8, capsize=1.5)
            if marked != "same":  # beyond the whisker's end, clear of it
                end = ratio * (1 + (precision or 0)) ** (1 if ratio > 1 else -1)
                ax.annotate(f"{ratio:.2f}", (x, end), xytext=(0, 3 if ratio > 1 else -3), textcoords="offset points",
                            ha="center", va="bottom" if ratio > 1 else "top", fontsize=7, color=edge, rotation=90)
    ax.axhline(1, color="#333333", linewidth=1)
    if "threshold" in rules:  # the fallback rule's bounds, the same distance from 1 both ways on the log axis
        for bound in (threshold, 1 / threshold):
            ax.axhline(bound, color="#333333", linewidth=0.8, linestyle=":")
    ax.set_yscale("log")
    low, high = min(ratios + [1 / threshold]), max(ratios + [threshold])
    ax.set_ylim(low / 1.35, high * 1.6)
    ticks = [f"{label(c)} v{fmt}" + ("†" if base.name != oldest.name else "") for c, fmt, base in cells]
    ax.set_xticks(np.arange(len(cells)), ticks, rotation=40, ha="right", rotation_mode="anchor")
    plain_log_ticks(ax)
    label_axis(ax, "Codec (name)" if param == "codec" else "Layout (chunks, format)", "Time ÷ baseline (ratio)")
    return rules
