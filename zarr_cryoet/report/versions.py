"""Did the new zarr release make it slower? Each release against a baseline release, as ratios.

The baseline of a cell (one benchmark with one set of parameters) is the oldest release in the
results that measured it: zarr 2.18.7, or for zarr format 3 (which 2.x cannot write) the oldest
3.x. Whether a time changed comes from the suite's one comparison rule
(:func:`zarr_cryoet.stats.compare.compare`: an exact two-sided Mann–Whitney test of the two releases'
per-process minima), every time of one release against its baselines adjusted together (Benjamini–Hochberg,
:func:`~zarr_cryoet.stats.compare.adjust`): ``slower`` or ``faster`` where q < 0.05, else ``~`` (not told
apart). A time recorded without samples is one process, so it is always ``~``. ``version_comparison.csv`` has
every cell with both absolute values, the ratio, p, q and the processes compared; the figure draws the ratios of
the headline benchmarks, outlined where the rule tells them apart (no whiskers: the outline is the test).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from matplotlib.patches import Patch

from zarr_cryoet.asv.families import CHUNKING, COMPRESSION
from zarr_cryoet.asv.results import ReportResults, finite
from zarr_cryoet.report.panels import keep_panels
from zarr_cryoet.report.style import (FASTER_COLOUR, SLOWER_COLOUR, STATISTIC_LABEL, add_run_label, figure_style,
                                      footer_height, label_axis, new_figure, plain_log_ticks, release_colours)
from zarr_cryoet.store.stores import chunk_label
from zarr_cryoet.report.tables import _cell, codec_label, param_order
from zarr_cryoet.stats.compare import ALPHA, Comparison, adjust, compare

VERSION_PNG = Path("version_comparison", "version_comparison.png")
VERSION_CSV = Path("version_comparison", "version_comparison.csv")
FIGSIZE = (20.0, 11.0)
_GRID = {"left": 0.05, "right": 0.99, "bottom": 0.16, "top": 0.88, "wspace": 0.22, "hspace": 0.75}
#: the figure's y axis spans at least this factor either way around 1, so that small ratios stay small
_SPAN = 1.1
#: the rule behind every outline, in the legend's words
RULE = f"Mann–Whitney, Benjamini–Hochberg q < {ALPHA:g}"
_EDGES = {"slower": (SLOWER_COLOUR, 2.0), "faster": (FASTER_COLOUR, 2.0), "~": ("#333333", 0.5)}

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


def release_comparisons(results: ReportResults) -> dict[tuple, Comparison]:
    """``(env name, benchmark, params tuple)`` → the comparison of that time with its baseline release's
    (:func:`~zarr_cryoet.stats.compare.compare`, A = the baseline, B = the release), for every time of every
    release newer than the cell's baseline; the times of one release are adjusted together (Benjamini–Hochberg:
    the release's "slower" and "faster" are at most 5 % chance, whichever of its timings they are)."""
    out = {}
    for env in results.envs:
        keys, found = [], []
        for cell in results.estimates:
            env_name, benchmark, combo = cell
            if env_name != env.name:
                continue
            params = dict(zip(results.param_names[benchmark], combo))
            base_env, _ = baseline(results, benchmark, params)
            old = results.estimate(base_env, benchmark, **params) if base_env is not None else None
            if base_env is None or base_env.name == env.name or old is None or not old.value:
                continue
            keys.append(cell)
            found.append(compare(old, results.estimates[cell]))
        out.update(zip(keys, adjust(found)))
    return out


def versus_baseline(results: ReportResults, env, benchmark: str, params: dict,
                    found: Comparison | None = None) -> dict:
    """The CSV columns of one cell against its baseline: release, value, ratio and, for times, the comparison
    ``found`` (:func:`release_comparisons`): p, q, processes (baseline v release) and the change."""
    base_env, base_value = baseline(results, benchmark, params)
    value = results.value(env, benchmark, **params)
    ratio = value / base_value if base_env is not None and finite(value) and base_value else math.nan
    return {"baseline_zarr_version": base_env.zarr_version if base_env else "",
            "baseline_value": base_value if finite(base_value) else "",
            "ratio_to_baseline": ratio if finite(ratio) else "",
            "p_value": found.p if found else "",
            "q_value": found.q if found else "",
            "processes": f"{found.processes[0]} v {found.processes[1]}" if found else "",
            "change": found.verdict if found else ""}


def version_rows(results: ReportResults) -> list[dict]:
    """Every cell of every benchmark and environment, one row each (long format), with its baseline
    release's value, the ratio to it and, for times, the comparison with it (:func:`versus_baseline`)."""
    names = sorted({n for ns in results.param_names.values() for n in ns}, key=param_order)
    comparisons = release_comparisons(results)
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
                   **versus_baseline(results, env, key, params, comparisons.get((env_name, key, combo))),
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


def build_version_figure(results: ReportResults, *, data=None):
    """One panel per headline benchmark: each newer release's time ÷ its baseline, per codec or layout, outlined
    where the comparison rule (:func:`release_comparisons`) calls it slower or faster."""
    colours = release_colours(e.zarr_version for e in results.envs)
    oldest = results.envs[0]
    datas = {m: (data if data is not None else next(iter(results.choices(m, "data")), None))
             for m in (COMPRESSION.module, CHUNKING.module)}
    shown = datas[COMPRESSION.module] or datas[CHUNKING.module]
    title = (f"Each zarr release's time ÷ the oldest release that measured it (zarr {oldest.zarr_version} unless "
             f"marked †)\n{STATISTIC_LABEL}; outlined where the two releases' processes differ ({RULE})")
    grid = {**_GRID, "bottom": _GRID["bottom"] + footer_height(FIGSIZE[1])}
    comparisons = release_comparisons(results)
    with figure_style():
        fig, axes = new_figure(2, 3, figsize=FIGSIZE, layout=None, gridspec_kw=grid, squeeze=False, title=title)
        add_run_label(fig, results.run_label(shown))
        flat = list(axes.flat)
        drawn = []
        for ax, (panel, module, param, benchmark) in zip(flat, VERSION_PANELS):
            drawn += _panel(ax, results, panel, module, param, benchmark, datas[module], colours, oldest,
                            comparisons)
        legend_ax = flat[len(VERSION_PANELS)]
        legend_ax.set_axis_off()
        handles = [Patch(facecolor=colours[e.zarr_version], edgecolor="#333333", label=f"zarr {e.zarr_version}")
                   for e in results.envs[1:]]
        handles += [Patch(facecolor="white", edgecolor=_EDGES[verdict][0], linewidth=_EDGES[verdict][1],
                          label=label)
                    for verdict, label in zip(("slower", "faster", "~"), change_labels(drawn))]
        legend_ax.legend(handles=handles, loc="upper left", title="Release / change (outline)", fontsize=11)
        legend_ax.text(0.0, 0.3, "Bar: the release's time ÷ the baseline's, the fastest\nprocess of each. "
                                 "No whiskers: the outline is the test;\np, q and processes of every time: "
                                 "version_comparison.csv.\n† zarr format 3: against the oldest 3.x\n"
                                 "(zarr 2 cannot write format 3).",
                       transform=legend_ax.transAxes, fontsize=11, va="top")
        panels = flat[:len(VERSION_PANELS)]
        keep_panels(fig, [*panels, legend_ax], [ax.has_data() for ax in panels] + [True])
    return fig


def change_labels(drawn: list[Comparison] = ()) -> tuple[str, str, str]:
    """The legend's words for slower, faster and ``~``: slower and faster by the same rule (:data:`RULE`); ``~``
    says how many of the ``drawn`` comparisons had too few processes ever to be told apart (a run without
    samples: all of them)."""
    never = sum(1 for c in drawn if not c.testable)
    same = "~: not told apart"
    if never:
        same += f"\n({'all' if never == len(drawn) else never} of {len(drawn)}: too few processes ever to tell)"
    return f"slower: {RULE}", f"faster: {RULE}", same


def _panel(ax, results, title, module, param, benchmark, data, colours, oldest, comparisons) -> list[Comparison]:
    """Draw one benchmark's ratios, each outlined by its comparison; the comparisons drawn."""
    cells = _cells(results, module, param, benchmark, data)
    label = codec_label if param == "codec" else chunk_label
    ax.set_title(title)
    if not cells:
        ax.set_axis_off()
        ax.text(0.5, 0.5, "no release to compare", transform=ax.transAxes, ha="center", color="#7f7f7f")
        return []
    newer = results.envs[1:]
    width = 0.8 / max(len(newer), 1)
    ratios, drawn = [], []
    for j, env in enumerate(newer):
        for i, (category, fmt, base_env) in enumerate(cells):
            params = {"data": data, "zarr_format": fmt, param: category}
            combo = tuple(params.get(name) for name in results.param_names.get(benchmark, ()))
            found = comparisons.get((env.name, benchmark, combo))
            if env.name == base_env.name or found is None or not finite(found.ratio):
                continue
            drawn.append(found)
            ratio = found.ratio
            ratios.append(ratio)
            edge, linewidth = _EDGES[found.verdict]
            x = i + (j - (len(newer) - 1) / 2) * width
            ax.bar(x, ratio - 1, bottom=1, width=width, color=colours[env.zarr_version], edgecolor=edge,
                   linewidth=linewidth)
            if found.differs:  # beyond the bar's end
                ax.annotate(f"{ratio:.2f}", (x, ratio), xytext=(0, 3 if ratio > 1 else -3), textcoords="offset points",
                            ha="center", va="bottom" if ratio > 1 else "top", fontsize=7, color=edge, rotation=90)
    ax.axhline(1, color="#333333", linewidth=1)
    ax.set_yscale("log")
    ax.set_ylim(min(ratios + [1 / _SPAN]) / 1.35, max(ratios + [_SPAN]) * 1.6)
    ticks = [f"{label(c)} v{fmt}" + ("†" if base.name != oldest.name else "") for c, fmt, base in cells]
    ax.set_xticks(np.arange(len(cells)), ticks, rotation=40, ha="right", rotation_mode="anchor")
    plain_log_ticks(ax)
    label_axis(ax, "Codec (name)" if param == "codec" else "Layout (chunks, format)", "Time ÷ baseline (ratio)")
    return drawn
