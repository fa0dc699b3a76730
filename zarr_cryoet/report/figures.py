"""The report's figures, one builder per PNG; each returns a matplotlib Figure.

The single-version figures show the newest zarr release with zarr format 2, the
reference gallery's setting (the access figure: the newest format with results).
Skipped and failed cells are not drawn but marked ``n/a``. Panels that need the size
of the volume (storage size, the raw-file limit per access pattern) take it from the
provenance recorded next to the results, and are left out without it.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from matplotlib.patches import Patch

from zarr_cryoet.report.families import ACCESS, CHUNKING, COMPRESSION, LIMITS
from zarr_cryoet.report.results import Env, ReportResults, finite
from zarr_cryoet.report.style import codec_colours, figure_style, label_axis, new_figure, series_colour
from zarr_cryoet.report.tables import chunk_label, codec_label, selected_bytes, volume_bytes

COMPRESSION_PNG = Path("cryoet_benchmarks", "cryoet_benchmark.png")
CHUNKING_PNG = Path("chunking_benchmarks", "chunking_comparison.png")
ACCESS_PNG = Path("access_patterns", "access_patterns.png")
VERSION_PNG = Path("version_comparison", "version_comparison.png")
#: Figure size in inches per file; the PNG is exactly ``figsize × dpi`` pixels.
FIGSIZES = {COMPRESSION_PNG.name: (12.0, 9.0), CHUNKING_PNG.name: (18.0, 10.0), VERSION_PNG.name: (22.0, 10.0),
            ACCESS_PNG.name: (20.0, 6.5)}
# Fixed margins (figure fractions) instead of a constrained layout, which would need an
# extra drawing pass per save: the content of these figures is known.
_GRIDS = {
    COMPRESSION_PNG.name: {"left": 0.075, "right": 0.985, "bottom": 0.1, "top": 0.875, "wspace": 0.2, "hspace": 0.5},
    CHUNKING_PNG.name: {"left": 0.05, "right": 0.99, "bottom": 0.095, "top": 0.885, "wspace": 0.2, "hspace": 0.45},
    VERSION_PNG.name: {"left": 0.04, "right": 0.995, "bottom": 0.095, "top": 0.865, "wspace": 0.24, "hspace": 0.5},
    ACCESS_PNG.name: {"left": 0.045, "right": 0.99, "bottom": 0.13, "top": 0.82, "wspace": 0.2},
}
_TIME_MS = "Time (ms)"
_RATIO_LABEL = "Ratio (uncompressed / stored)"


def _ms(value):
    return value * 1000 if finite(value) else math.nan


def _bars(ax, labels, values, colours, *, fmt="%.1f", width=0.7, annotate=True):
    """One bar per category; skipped/failed ones are not drawn but marked ``n/a``."""
    x = np.arange(len(labels))
    keep = [i for i, v in enumerate(values) if finite(v)]
    bars = ax.bar(x[keep], [values[i] for i in keep], width=width, color=[colours[i] for i in keep],
                  edgecolor="#333333", linewidth=0.6)
    if annotate and keep:
        ax.bar_label(bars, fmt=fmt, fontsize=9, padding=2)
    for i in set(range(len(labels))) - set(keep):
        ax.annotate("n/a", (x[i], 0), xytext=(0, 3), textcoords="offset points", ha="center", fontsize=9,
                    color="#7f7f7f")
    _ticks(ax, x, labels)
    ax.margins(y=0.12)
    return bars


def _ticks(ax, x, labels):
    """Category ticks, slanted when a label is long."""
    slant = max(map(len, labels), default=0) > 8
    ax.set_xticks(x, labels, rotation=20 if slant else 0, ha="right" if slant else "center",
                  rotation_mode="anchor" if slant else "default")


def _grouped(ax, labels, series: list[tuple[str, str, list]]):
    """Grouped bars: per category one bar per (label, colour, values) series; NaN/None not drawn."""
    x = np.arange(len(labels))
    width = 0.8 / max(len(series), 1)
    for j, (name, colour, values) in enumerate(series):
        keep = [i for i, v in enumerate(values) if finite(v)]
        ax.bar(x[keep] + (j - (len(series) - 1) / 2) * width, [values[i] for i in keep], width=width,
               color=colour, label=name, edgecolor="#333333", linewidth=0.4)
    _ticks(ax, x, labels)
    ax.margins(y=0.08)
    missing = [name for name, _, values in series if not any(finite(v) for v in values)]
    if missing and len(missing) < len(series):
        ax.text(0.02, 0.97, "n/a: " + ", ".join(missing), transform=ax.transAxes, ha="left", va="top",
                fontsize=9, color="#7f7f7f")


def _limit_line(ax, seconds, what: str, legend: bool = True) -> None:
    """A dashed line at the raw-file time of the same bytes (benchmarks/limits.py): the physical limit."""
    if not finite(seconds):
        return
    ax.axhline(seconds * 1000, color="#333333", linestyle="--", linewidth=1.2,
               label=f"raw file {what}: {seconds * 1000:.1f} ms (the limit)")
    if legend:
        ax.legend(loc="upper left", fontsize=9)


def _no_data(ax, text="no results"):
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", color="#7f7f7f", wrap=True)


def _pick(results: ReportResults, module: str, env: Env | None, data):
    env = env or results.newest
    datas = results.choices(module, "data")
    return env, (data if data is not None else (datas[0] if datas else None))


def _suptitle(what: str, results: ReportResults, data, env: Env | None = None, zarr_format=None) -> str:
    setting = f": {env.label}, zarr format {zarr_format}" if env else ""
    return (f"{what}{setting}\n{data} — asv medians, commit {results.short_commit}, "
            f"machine {results.machine}")


def build_compression_figure(results: ReportResults, *, env: Env | None = None, zarr_format=2, data=None):
    """2 × 2 per codec: write time, read time, compression ratio, storage size (one release, one format)."""
    env, data = _pick(results, COMPRESSION.module, env, data)
    codecs = results.choices(COMPRESSION.module, "codec")
    labels = [codec_label(c) for c in codecs]
    colours = list(codec_colours(codecs).values())

    def series(bench):
        return [results.value(env, bench, data=data, codec=c, zarr_format=zarr_format) for c in codecs]

    with figure_style():
        fig, axes = new_figure(2, 2, figsize=FIGSIZES[COMPRESSION_PNG.name], layout=None,
                               gridspec_kw=_GRIDS[COMPRESSION_PNG.name],
                               title=_suptitle("Compression benchmarks", results, data, env, zarr_format))
        panels = [
            (axes[0, 0], "Write time", [_ms(v) for v in series(COMPRESSION.write)], "Write time (ms)", "%.1f"),
            (axes[0, 1], "Read time", [_ms(v) for v in series(COMPRESSION.read)], "Read time (ms)", "%.1f"),
            (axes[1, 0], "Compression ratio (higher is better)", series(COMPRESSION.ratio), _RATIO_LABEL, "%.3f×"),
            (axes[1, 1], "Storage size (lower is better)",
             [v / 1e6 if finite(v) else v for v in series(COMPRESSION.stored_bytes)], "Size (MB)", "%.2f"),
        ]
        for ax, title, values, ylabel, fmt in panels:
            ax.set_title(title)
            _bars(ax, labels, values, colours, fmt=fmt)
            label_axis(ax, "Codec (name)", ylabel)
        _limit_line(axes[0, 0], results.value(env, LIMITS.write, data=data), "write")
        _limit_line(axes[0, 1], results.value(env, LIMITS.read, data=data), "read")
        ratio_ax = axes[1, 0]
        ratios = [v for v in panels[2][2] if finite(v)]
        if ratios:  # ratios sit near 1: start the axis below the smallest so differences show
            ratio_ax.set_ylim(min(0.95, min(ratios) - 0.02), max(ratios) + 0.03)
    return fig


def _access_format(results: ReportResults, env: Env, data) -> int:
    """Format 3 where this environment has access results for it (it shows the sharded layouts), else 2."""
    formats = results.choices(ACCESS.module, "zarr_format")
    layouts, patterns = results.choices(ACCESS.module, "chunks"), results.choices(ACCESS.module, "pattern")
    for fmt in sorted(formats, reverse=True):
        if any(finite(results.value(env, ACCESS.read, data=data, chunks=c, zarr_format=fmt, pattern=p))
               for c in layouts for p in patterns):
            return fmt
    return min(formats, default=2)


def build_access_figure(results: ReportResults, *, env: Env | None = None, zarr_format=None, data=None):
    """1 × 3 per pattern and layout: local read time with the raw limit, GET requests, reads over slow HTTP."""
    env, data = _pick(results, ACCESS.module, env, data)
    zarr_format = zarr_format if zarr_format is not None else _access_format(results, env, data)
    patterns = results.choices(ACCESS.module, "pattern")
    layouts = [c for c in results.choices(ACCESS.module, "chunks")
               if any(finite(results.value(env, b, data=data, chunks=c, zarr_format=zarr_format, pattern=p))
                      for b in (ACCESS.read, ACCESS.gets) for p in patterns)]
    colours = {c: series_colour(i) for i, c in enumerate(results.choices(ACCESS.module, "chunks"))}

    def series(bench, shown_patterns, factor=1000, **extra):
        out = []
        for c in layouts:
            values = [results.value(env, bench, data=data, chunks=c, zarr_format=zarr_format, pattern=p, **extra)
                      for p in shown_patterns]
            out.append((chunk_label(c), colours[c], [v * factor if finite(v) else math.nan for v in values]))
        return out

    raw_read, total = results.value(env, LIMITS.read, data=data), volume_bytes(results, data)
    selected = selected_bytes(results, data)
    with figure_style():
        fig, axes = new_figure(1, 3, figsize=FIGSIZES[ACCESS_PNG.name], layout=None,
                               gridspec_kw=_GRIDS[ACCESS_PNG.name],
                               title=_suptitle("Access patterns (Blosc-Zstd)", results, data, env, zarr_format))
        ax = axes[0]
        ax.set_title("Read time, local disk")
        _grouped(ax, patterns, series(ACCESS.read, patterns))
        if finite(raw_read) and total and selected:  # the raw-file time of the bytes each pattern selects
            limits = [raw_read * 1000 * selected[p] / total for p in patterns]
            ax.hlines(limits, np.arange(len(patterns)) - 0.42, np.arange(len(patterns)) + 0.42, colors="#333333",
                      linestyles="--", linewidth=1.2, label="raw file, same bytes (the limit)")
        ax.legend(title="Layout", loc="upper left", fontsize=9)
        label_axis(ax, "Access pattern (name)", _TIME_MS)

        ax = axes[1]
        ax.set_title("GET requests over HTTP (log scale)")
        _grouped(ax, patterns, series(ACCESS.gets, patterns, factor=1))
        ax.set_yscale("log")
        label_axis(ax, "Access pattern (name)", "Requests (count)")

        ax = axes[2]
        latencies = results.choices(ACCESS.module, "latency_ms")
        remote = [p for p in patterns if latencies and any(
            finite(results.value(env, ACCESS.remote, data=data, chunks=c, zarr_format=zarr_format, pattern=p,
                                  latency_ms=latencies[0])) for c in layouts)]
        if remote:
            ax.set_title(f"Read time over HTTP, +{latencies[0]} ms per request")
            _grouped(ax, remote, series(ACCESS.remote, remote, latency_ms=latencies[0]))
            label_axis(ax, "Access pattern (name)", _TIME_MS)
        else:
            ax.set_title("Read time over HTTP")
            ax.set_axis_off()
            _no_data(ax, f"no {ACCESS.remote.rpartition('.')[0]} results")
    return fig


def build_chunking_figure(results: ReportResults, *, env: Env | None = None, zarr_format=2, data=None):
    """2 × 3 per chunk shape: write, reads by operation, file count (log), ratio, storage size, efficiency."""
    env, data = _pick(results, CHUNKING.module, env, data)
    shapes = results.choices(CHUNKING.module, "chunks")

    def series(bench):
        return [results.value(env, bench, data=data, chunks=c, zarr_format=zarr_format) for c in shapes]

    # leave out layouts with no result at all here (e.g. sharded ones on zarr format 2)
    shown = [i for i in range(len(shapes)) if any(finite(results.value(env, b, data=data, chunks=shapes[i],
                                                                        zarr_format=zarr_format))
                                                  for b in (CHUNKING.write, CHUNKING.full_read, CHUNKING.files))]
    shown = shown or list(range(len(shapes)))
    shapes = [shapes[i] for i in shown]
    labels = [chunk_label(c) for c in shapes]
    colours = [series_colour(i) for i in range(len(shapes))]

    files, ratios = series(CHUNKING.files), series(CHUNKING.ratio)
    total = volume_bytes(results, data)
    with figure_style():
        fig, axes = new_figure(2, 3, figsize=FIGSIZES[CHUNKING_PNG.name], layout=None,
                               gridspec_kw=_GRIDS[CHUNKING_PNG.name],
                               title=_suptitle("Chunking benchmarks (Blosc-Zstd)", results, data, env, zarr_format))
        ax = axes[0, 0]
        ax.set_title("Write time")
        _bars(ax, labels, [_ms(v) for v in series(CHUNKING.write)], colours)
        label_axis(ax, "Chunk shape (voxels)", "Write time (ms)")
        _limit_line(ax, results.value(env, LIMITS.write, data=data), "write")

        ax = axes[0, 1]
        ax.set_title("Read time by operation")
        operations = {"full volume": CHUNKING.full_read, **{f"{p} slice": b for p, b in CHUNKING.slices.items()}}
        _grouped(ax, labels, [(name, series_colour(len(shapes) + j), [_ms(v) for v in series(bench)])
                              for j, (name, bench) in enumerate(operations.items())])
        _limit_line(ax, results.value(env, LIMITS.read, data=data), "full read", legend=False)
        ax.legend(title="Read", loc="upper right")
        label_axis(ax, "Chunk shape (voxels)", "Read time (ms)")

        ax = axes[0, 2]
        ax.set_title("File count (log scale)")
        _bars(ax, labels, files, colours, fmt="%d")
        ax.set_yscale("log")
        label_axis(ax, "Chunk shape (voxels)", "Files (count)")

        ax = axes[1, 0]
        ax.set_title("Compression ratio")
        _bars(ax, labels, ratios, colours, fmt="%.3f×")
        drawn = [v for v in ratios if finite(v)]
        if drawn:
            ax.set_ylim(min(0.95, min(drawn) - 0.02), max(drawn) + 0.03)
        label_axis(ax, "Chunk shape (voxels)", _RATIO_LABEL)

        ax = axes[1, 1]
        ax.set_title("Storage size")
        if total:
            _bars(ax, labels, [total / r / 1e6 if finite(r) else r for r in ratios], colours, fmt="%.2f")
            label_axis(ax, "Chunk shape (voxels)", "Size (MB)")
        else:
            ax.set_axis_off()
            _no_data(ax, f"storage size needs the volume's size;\nno provenance is recorded for\n{data!r}")

        ax = axes[1, 2]
        ax.set_title("Efficiency: XY slice vs file count")
        xy = [_ms(v) for v in series(CHUNKING.slice_xy)]
        for i, label in enumerate(labels):
            if finite(files[i]) and finite(xy[i]):
                ax.scatter(files[i], xy[i], s=70, color=colours[i], edgecolor="#333333", zorder=3, label=label)
                ax.annotate(label, (files[i], xy[i]), xytext=(6, 4), textcoords="offset points", fontsize=9)
        ax.set_xscale("log")
        ax.margins(x=0.2, y=0.15)
        label_axis(ax, "Files (count)", "XY slice read (ms)")
    return fig


#: The version comparison's columns: (title, asv module, parameter of the categories, benchmark).
VERSION_PANELS = [
    ("Compression: write", COMPRESSION.module, "codec", COMPRESSION.write),
    ("Compression: read", COMPRESSION.module, "codec", COMPRESSION.read),
    ("Chunking: write", CHUNKING.module, "chunks", CHUNKING.write),
    ("Chunking: full read", CHUNKING.module, "chunks", CHUNKING.full_read),
    ("Chunking: XY slice", CHUNKING.module, "chunks", CHUNKING.slice_xy),
]


def build_version_figure(results: ReportResults, *, data=None):
    """The zarr releases side by side: one bar per release per codec / chunk shape; a row per zarr format."""
    modules = (COMPRESSION.module, CHUNKING.module)
    formats = sorted({f for m in modules for f in results.choices(m, "zarr_format")}) or [2]
    env_colours = {env.name: series_colour(i) for i, env in enumerate(results.envs)}
    datas = {m: (data if data is not None else next(iter(results.choices(m, "data")), None)) for m in modules}
    with figure_style():
        fig, axes = new_figure(len(formats), len(VERSION_PANELS), figsize=FIGSIZES[VERSION_PNG.name], layout=None,
                               gridspec_kw=_GRIDS[VERSION_PNG.name],
                               squeeze=False, title=_suptitle("zarr releases side by side", results,
                                                              datas[COMPRESSION.module] or datas[CHUNKING.module]))
        for row, fmt in zip(axes, formats):
            for ax, (title, module, param, bench) in zip(row, VERSION_PANELS):
                ax.set_title(f"{title} (format {fmt})")
                categories = results.choices(module, param)
                label = codec_label if param == "codec" else chunk_label
                series = [(env.label, env_colours[env.name],
                           [_ms(results.value(env, bench, data=datas[module], zarr_format=fmt, **{param: c}))
                            for c in categories]) for env in results.envs]
                _grouped(ax, [label(c) for c in categories], series)
                if not any(finite(v) for *_, values in series for v in values):
                    _no_data(ax, f"no results for format {fmt}")
                label_axis(ax, "Codec (name)" if param == "codec" else "Chunk shape (voxels)", _TIME_MS)
        handles = [Patch(facecolor=env_colours[env.name], edgecolor="#333333", label=env.label)
                   for env in results.envs]
        fig.legend(handles=handles, loc="upper right", bbox_to_anchor=(0.995, 0.995), ncols=len(handles),
                   title="Release")
    return fig
