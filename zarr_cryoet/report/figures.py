"""The report's figures, one builder per PNG; each returns a matplotlib Figure.

The single-version figures show the newest zarr release with zarr format 2, the
reference gallery's setting (the access figure: the newest format with results).
Skipped and failed cells are not drawn but marked ``n/a``. Panels that need the size
of the volume (storage size, the raw-file limit per access pattern) take it from the
provenance recorded next to the results, and are left out without it.

Every figure's footer is the run label (:meth:`ReportResults.run_label
<zarr_cryoet.asv.results.ReportResults.run_label>`: data, size, one core, zarr release,
commit); its title says what is drawn. Ratio axes start at 1× (no gain) or at 0, so bar
lengths compare; legends sit outside the data. Time bars carry whiskers from their interval, low to high
(asymmetric: the value is the fastest process), and the title says what they are
(:func:`~zarr_cryoet.report.tables.whiskers_text`).
"""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

import numpy as np
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from zarr_cryoet.report.panels import keep_panels
from zarr_cryoet.report.bar_axes import bars, layout_bars, layout_ticks, limit_line, no_data, ratio_axis, whiskers
from zarr_cryoet.asv.families import ACCESS, CHUNKING, COMPRESSION, LIMITS
from zarr_cryoet.asv.results import Env, ReportResults, finite
from zarr_cryoet.report import versions
from zarr_cryoet.report.style import (FORMAT_HATCH, STATISTIC_LABEL, add_run_label, codec_colours, figure_style,
                                      footer_height, label_axis, layout_colour, log_if_wide, new_figure,
                                      plain_log_ticks)
from zarr_cryoet.report.tables import (codec_label, pattern_label, selected_bytes,
                                       volume_bytes, whiskers_text)
from zarr_cryoet.report.versions import VERSION_PNG, build_version_figure  # noqa: F401  (the report's figures)
from zarr_cryoet.store.stores import chunk_label, layout_label

COMPRESSION_PNG = Path("cryoet_benchmarks", "cryoet_benchmark.png")
CHUNKING_PNG = Path("chunking_benchmarks", "chunking_comparison.png")
ACCESS_PNG = Path("access_patterns", "access_patterns.png")
#: Figure size in inches per file; the PNG is exactly ``figsize × dpi`` pixels.
FIGSIZES = {COMPRESSION_PNG.name: (12.0, 9.0), CHUNKING_PNG.name: (20.0, 12.0), VERSION_PNG.name: versions.FIGSIZE,
            ACCESS_PNG.name: (20.0, 7.5)}
# Fixed margins (figure fractions) instead of a constrained layout, which would need an
# extra drawing pass per save: the content of these figures is known.
# The bottom margin is raised above the run label's strip (:func:`_figure`).
_GRIDS = {
    COMPRESSION_PNG.name: {"left": 0.075, "right": 0.985, "bottom": 0.1, "top": 0.875, "wspace": 0.2, "hspace": 0.5},
    CHUNKING_PNG.name: {"left": 0.05, "right": 0.855, "bottom": 0.13, "top": 0.89, "wspace": 0.2, "hspace": 0.62},
    ACCESS_PNG.name: {"left": 0.045, "right": 0.99, "bottom": 0.25, "top": 0.82, "wspace": 0.2},
}
_TIME_MS = "Time (ms)"
_RATIO_LABEL = "Ratio (uncompressed / stored)"
_FROM_ONE = "; axis from 1×: no gain"
_PATTERN_AXIS = "Access pattern (what is read)"


def _ms(value):
    return value * 1000 if finite(value) else math.nan


def _pick(results: ReportResults, module: str, env: Env | None, data):
    env = env or results.newest
    datas = results.choices(module, "data")
    return env, (data if data is not None else (datas[0] if datas else None))


def _formats(formats) -> str:
    """``2``, or ``2 and 3 (format 3 hatched)`` where a figure shows both formats; empty where it shows none (the
    title then names no format: never "none")."""
    formats = sorted(set(formats))
    return " and ".join(map(str, formats)) + (" (format 3 hatched)" if len(formats) > 1 else "")


def _suptitle(what: str, zarr_format=None, whiskers: str = "") -> str:
    """What a figure draws, with what its times and whiskers are (``whiskers``: :func:`whiskers_text`); the run
    it comes from is its footer (:func:`_figure`)."""
    return (f"{what}" + (f", zarr format {zarr_format}" if zarr_format else "") + f"\n{STATISTIC_LABEL}"
            + (f"; {whiskers}" if whiskers else ""))


def _figure(png: Path, nrows: int, ncols: int, title: str, results: ReportResults, env: Env, data):
    """``png``'s figure: its size and fixed margins, the bottom one above the footer, the run label of
    ``env`` and ``data`` (the 128³ suite runs on one core)."""
    grid = _GRIDS[png.name]
    grid = {**grid, "bottom": grid["bottom"] + footer_height(FIGSIZES[png.name][1])}
    fig, axes = new_figure(nrows, ncols, figsize=FIGSIZES[png.name], layout=None, gridspec_kw=grid, title=title)
    add_run_label(fig, results.run_label(data, zarr=env.label.removeprefix("zarr ")))
    return fig, axes


def build_compression_figure(results: ReportResults, *, env: Env | None = None, zarr_format=2, data=None):
    """2 × 2 per codec: write time, read time, compression ratio, storage size (one release, one format)."""
    env, data = _pick(results, COMPRESSION.module, env, data)
    codecs = results.choices(COMPRESSION.module, "codec")
    labels = [codec_label(c) for c in codecs]
    colours = list(codec_colours(codecs).values())

    def series(bench, get=results.value):
        return [get(env, bench, data=data, codec=c, zarr_format=zarr_format) for c in codecs]

    write, read = (series(bench, results.estimate) for bench in (COMPRESSION.write, COMPRESSION.read))
    with figure_style():
        fig, axes = _figure(COMPRESSION_PNG, 2, 2, _suptitle("Compression benchmarks", zarr_format,
                                                             whiskers_text(write + read)), results, env, data)
        panels = [
            (axes[0, 0], "Write time", [_ms(v) for v in series(COMPRESSION.write)], "Write time (ms)", "%.1f", write),
            (axes[0, 1], "Read time", [_ms(v) for v in series(COMPRESSION.read)], "Read time (ms)", "%.1f", read),
            (axes[1, 0], "Compression ratio", series(COMPRESSION.ratio), _RATIO_LABEL, "%.3f×", None),
            (axes[1, 1], "Storage size (lower is better)",
             [v / 1e6 if finite(v) else v for v in series(COMPRESSION.stored_bytes)], "Size (MB)", "%.2f", None),
        ]
        limits = {0: results.value(env, LIMITS.write, data=data), 1: results.value(env, LIMITS.read, data=data)}
        for i, (ax, title, values, ylabel, fmt, found) in enumerate(panels):
            ax.set_title(title)
            bars(ax, labels, values, colours, fmt=fmt, found=found)
            if i in limits and log_if_wide(ax, values + [_ms(limits[i])]):
                ax.set_title(f"{title} (log scale)")
            label_axis(ax, "Codec (name)", ylabel)
        limit_line(axes[0, 0], limits[0], "write")
        limit_line(axes[0, 1], limits[1], "read")
        from_one = ratio_axis(axes[1, 0], panels[2][2])
        axes[1, 0].set_title(f"Compression ratio (higher is better{_FROM_ONE if from_one else ''})")
        keep_panels(fig, axes.flat, [any(finite(v) for v in panel[2]) for panel in panels])
    return fig


def _grouped_layouts(ax, patterns, series: dict, found: dict | None = None):
    """Grouped bars per access pattern: one bar per (chunks, format) in ``series`` (only layouts with a
    result in this panel), the layout's colour, format 3 hatched; a missing value is marked ``n/a``.
    ``found``: the times' estimates per layout, drawn as whiskers (:func:`~zarr_cryoet.report.bar_axes.whiskers`)."""
    x = np.arange(len(patterns))
    width = 0.8 / max(len(series), 1)
    for j, ((chunks, fmt), values) in enumerate(series.items()):
        offset = x + (j - (len(series) - 1) / 2) * width
        label = layout_label(chunks, fmt)  # on the layout's first bar only: one legend entry each
        estimates = (found or {}).get((chunks, fmt)) or [None] * len(values)
        for i, value in enumerate(values):
            if finite(value):
                ax.bar(offset[i], value, width=width, color=layout_colour(chunks), hatch=FORMAT_HATCH.get(fmt, ""),
                       edgecolor="#333333", linewidth=0.4, label=label)
                whiskers(ax, [offset[i]], [value], [estimates[i]])
                label = None
            else:
                ax.annotate("n/a", (offset[i], 0), xytext=(0, 3), textcoords="offset points", ha="center",
                            fontsize=7, color="#7f7f7f", rotation=90, xycoords=("data", "axes fraction"))
    # what each pattern reads, and its name in the CSV; wrapped where many patterns share the panel's width
    ax.set_xticks(x, [textwrap.fill(pattern_label(p), 13 if len(patterns) > 3 else 40) + f"\n({p})"
                      for p in patterns], fontsize=9)
    ax.margins(y=0.08)


def build_access_figure(results: ReportResults, *, env: Env | None = None, zarr_format=None, data=None):
    """Up to 1 × 3 per pattern and layout (formats 2 and 3, format 3 hatched): local read time with the raw limit,
    GET requests, reads over slow HTTP; times with their whiskers. Each panel has only the layouts it measured, and
    a panel without results is left out (a focused run has only the HTTP reads)."""
    env, data = _pick(results, ACCESS.module, env, data)
    patterns = results.choices(ACCESS.module, "pattern")
    formats = [f for f in results.choices(ACCESS.module, "zarr_format") if zarr_format in (None, f)]
    latencies = results.choices(ACCESS.module, "latency_ms")

    def series(bench, shown_patterns, factor=1000, **extra):
        out, found = {}, {}
        for c in results.choices(ACCESS.module, "chunks"):
            for f in formats:
                cells = [dict(data=data, chunks=c, zarr_format=f, pattern=p, **extra) for p in shown_patterns]
                values = [results.value(env, bench, **cell) for cell in cells]
                if any(finite(v) for v in values):
                    out[(c, f)] = [v * factor if finite(v) else math.nan for v in values]
                    found[(c, f)] = [results.estimate(env, bench, **cell) for cell in cells]
        return out, found

    raw_read, total = results.value(env, LIMITS.read, data=data), volume_bytes(results, data)
    selected = selected_bytes(results, data)
    (local, local_found), (gets, _) = series(ACCESS.read, patterns), series(ACCESS.gets, patterns, factor=1)
    remote, remote_found = series(ACCESS.remote, patterns, latency_ms=latencies[0]) if latencies else ({}, {})
    timed = [p for i, p in enumerate(patterns) if any(finite(v[i]) for v in remote.values())]
    remote = {cell: [v for p, v in zip(patterns, values) if p in timed] for cell, values in remote.items()}
    remote_found = {cell: [e for p, e in zip(patterns, found) if p in timed] for cell, found in remote_found.items()}
    panels = [name for name, shown in (("local", local), ("gets", gets), ("remote", timed)) if shown]
    which = _formats(f for (_, f) in [*local, *gets, *remote])
    drawn = [e for found in (*local_found.values(), *remote_found.values()) for e in found]
    title = _suptitle("Access patterns (Blosc-Zstd)", which, whiskers_text(drawn))
    with figure_style():
        fig, axes = _figure(ACCESS_PNG, 1, max(len(panels), 1), title, results, env, data)
        axes = dict(zip(panels, np.atleast_1d(axes)))
        if not panels:
            fig.axes[0].set_axis_off()
            no_data(fig.axes[0], f"no {ACCESS.module} results")
        if "local" in axes:
            ax = axes["local"]
            _grouped_layouts(ax, patterns, local, local_found)
            limits = []
            if finite(raw_read) and total and selected:  # the raw-file time of the bytes each pattern selects
                limits = [raw_read * 1000 * selected[p] / total for p in patterns]
                ax.hlines(limits, np.arange(len(patterns)) - 0.42, np.arange(len(patterns)) + 0.42,
                          colors="#000000", linestyles="--", linewidth=1.6, label="raw file, same bytes (the limit)",
                          zorder=4)
            log = log_if_wide(ax, [v for values in local.values() for v in values] + limits)
            ax.set_title("Read time, local disk" + (" (log scale)" if log else ""))
            label_axis(ax, _PATTERN_AXIS, _TIME_MS)
        if "gets" in axes:
            ax = axes["gets"]
            ax.set_title("GET requests over HTTP (log scale)")
            _grouped_layouts(ax, patterns, gets)
            ax.set_yscale("log")
            plain_log_ticks(ax)
            label_axis(ax, _PATTERN_AXIS, "Requests (count)")
        if "remote" in axes:
            ax = axes["remote"]
            layouts = len(set(local) | set(gets))
            ax.set_title(f"Read time over HTTP, +{latencies[0]} ms per request (log scale)"
                         + (f"\nonly the {len(remote)} of {layouts} layouts timed over HTTP"
                            if len(remote) < layouts else ""))
            _grouped_layouts(ax, timed, remote, remote_found)
            ax.set_yscale("log")
            plain_log_ticks(ax)
            label_axis(ax, _PATTERN_AXIS, _TIME_MS)
        if panels:  # the first panel's layouts (and the limit): the local one has every layout where it ran
            handles, labels = axes[panels[0]].get_legend_handles_labels()
            fig.legend(handles, labels, loc="lower center", bbox_to_anchor=(0.5, footer_height(fig)),
                       ncols=min(len(labels), 9), fontsize=9, frameon=False)
    return fig


def measured_layouts(results: ReportResults, env: Env, data, benchmarks) -> list[tuple[str, int]]:
    """Every (chunks, zarr format) of the chunking grid with a result in ``env``: nothing unmeasured is drawn."""
    return [(c, f) for c in results.choices(CHUNKING.module, "chunks") for f in results.choices(CHUNKING.module,
                                                                                               "zarr_format")
            if any(finite(results.value(env, b, data=data, chunks=c, zarr_format=f)) for b in benchmarks)]


#: the reads of the chunking figure's second panel, with a marker each (the colours are the layouts')
READ_MARKERS = {"full volume": "o", "XY plane": "s", "XZ plane": "^", "YZ plane": "v"}


def build_chunking_figure(results: ReportResults, *, env: Env | None = None, zarr_format=None, data=None):
    """2 × 3 per layout, formats 2 and 3 with the sharded layouts (hatched: format 3): write, reads by
    operation, file count (log), ratio, storage size, and XY read against file count.

    ``zarr_format`` limits it to one format; by default every format ``env`` measured.
    """
    env, data = _pick(results, CHUNKING.module, env, data)
    cells = [cell for cell in measured_layouts(results, env, data, (CHUNKING.write, CHUNKING.full_read, CHUNKING.files))
             if zarr_format is None or cell[1] == zarr_format]

    def series(bench, get=results.value):
        return [get(env, bench, data=data, chunks=c, zarr_format=f) for c, f in cells]

    files, ratios = series(CHUNKING.files), series(CHUNKING.ratio)
    total = volume_bytes(results, data)
    formats = sorted({f for _, f in cells})
    found = series(CHUNKING.write, results.estimate)
    title = _suptitle("Chunking benchmarks (Blosc-Zstd)", _formats(formats), whiskers_text(found, "write "))
    with figure_style():
        fig, axes = _figure(CHUNKING_PNG, 2, 3, title, results, env, data)
        ax = axes[0, 0]
        writes, raw_write = [_ms(v) for v in series(CHUNKING.write)], results.value(env, LIMITS.write, data=data)
        layout_bars(ax, cells, writes, found=found)
        ax.set_title("Write time" + (" (log scale)" if log_if_wide(ax, writes + [_ms(raw_write)]) else ""))
        label_axis(ax, "Layout (chunks, format)", "Write time (ms)")
        limit_line(ax, raw_write, "write", legend=False)

        ax = axes[0, 1]
        x = np.arange(len(cells))
        drawn = []
        for name, bench in {"full volume": CHUNKING.full_read, **{f"{p} plane": b for p, b in
                                                                  CHUNKING.slices.items()}}.items():
            values = [_ms(v) for v in series(bench)]
            drawn += values
            ax.scatter(x, values, marker=READ_MARKERS[name], s=55, c=[layout_colour(c) for c, _ in cells],
                       edgecolors="#333333", linewidths=0.6, zorder=3, label=name)
        raw_read = results.value(env, LIMITS.read, data=data)
        ax.set_title("Read time by operation" + (" (log scale)" if log_if_wide(ax, drawn + [_ms(raw_read)]) else ""))
        limit_line(ax, raw_read, "full read", legend=False)
        layout_ticks(ax, cells)
        label_axis(ax, "Layout (chunks, format)", "Read time (ms)")

        ax = axes[0, 2]
        ax.set_title("File count (log scale)")
        layout_bars(ax, cells, files, fmt="%d")
        ax.set_yscale("log")
        plain_log_ticks(ax)
        label_axis(ax, "Layout (chunks, format)", "Files (count)")

        ax = axes[1, 0]
        layout_bars(ax, cells, ratios, fmt="%.3f×")
        ax.set_title("Compression ratio" + (" (axis from 1×: no gain)" if ratio_axis(ax, ratios) else ""))
        label_axis(ax, "Layout (chunks, format)", _RATIO_LABEL)

        ax = axes[1, 1]
        ax.set_title("Storage size")
        if total:
            layout_bars(ax, cells, [total / r / 1e6 if finite(r) else r for r in ratios], fmt="%.2f")
            label_axis(ax, "Layout (chunks, format)", "Size (MB)")
        else:
            ax.set_axis_off()
            no_data(ax, f"storage size needs the volume's size;\nno provenance is recorded for\n{data!r}")

        ax = axes[1, 2]
        ax.set_title("Efficiency: XY plane vs file count")
        xy = [_ms(v) for v in series(CHUNKING.slice_xy)]
        for (chunks, fmt), n, t in zip(cells, files, xy):
            if finite(n) and finite(t):
                ax.scatter(n, t, s=110, color=layout_colour(chunks), marker=READ_MARKERS["XY plane"],
                           hatch=FORMAT_HATCH.get(fmt, ""), edgecolor="#333333", zorder=3)
        ax.set_xscale("log")
        plain_log_ticks(ax, "x")
        log_if_wide(ax, xy)
        ax.margins(x=0.25, y=0.15)
        label_axis(ax, "Files (count)", "XY plane read (ms)")
        _chunking_legend(fig, cells, {"write": raw_write, "full read": raw_read})
        # the size panel stays where there are ratios: without the volume's size it says why it has no bars
        shown = [writes, drawn, files, ratios, ratios, [n * t for n, t in zip(files, xy)]]
        keep_panels(fig, axes.flat, [any(finite(v) for v in values) for values in shown])
    return fig


def _chunking_legend(fig, cells, limits: dict) -> None:
    """The chunking figure's one legend, right of its panels: a colour per layout, the hatch of zarr format 3,
    a marker per read, the raw-file limits."""
    headers = []

    def header(text):
        headers.append(text)
        return Line2D([], [], linestyle="", label=text)

    handles = [header("Layout (colour)")]
    handles += [Patch(facecolor=layout_colour(c), edgecolor="#333333", label=chunk_label(c))
                for c in dict.fromkeys(c for c, _ in cells)]
    if any(f == 3 for _, f in cells):
        handles.append(Patch(facecolor="white", edgecolor="#333333", hatch=FORMAT_HATCH[3],
                             label="zarr format 3 (hatched)"))
    handles.append(header("Read (marker)"))
    handles += [Line2D([], [], marker=marker, linestyle="", markersize=8, markerfacecolor="white",
                       markeredgecolor="#333333", label=name) for name, marker in READ_MARKERS.items()]
    shown = {what: seconds for what, seconds in limits.items() if finite(seconds)}
    if shown:
        handles.append(header("Raw-file limit (dashed)"))
        handles += [Line2D([], [], color="#333333", linestyle="--", label=f"{what}: {seconds * 1000:.1f} ms")
                    for what, seconds in shown.items()]
    legend = fig.legend(handles=handles, loc="center left", bbox_to_anchor=(_GRIDS[CHUNKING_PNG.name]["right"] + 0.01,
                                                                            0.5), frameon=False)
    for text in legend.get_texts():
        if text.get_text() in headers:
            text.set_fontweight("bold")
