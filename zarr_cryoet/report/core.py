"""Tables and figures of asv results: the reference gallery's outputs, made from the benchmarks.

``zarr-cryoet report`` reads what ``asv run`` left in ``.asv/results`` (with asv's own
loader, :meth:`asv.results.Results.load`) for one machine and one commit, and writes:

================================================  ==========================================================
file (under ``--out``)                            content
================================================  ==========================================================
``cryoet_benchmarks/cryoet_benchmark.csv``        per codec × zarr version × format: write / read time,
                                                  compression ratio, stored bytes, size (MB), savings (%)
``cryoet_benchmarks/cryoet_benchmark.png``        2 × 2: write time, read time, ratio, size per codec
``chunking_benchmarks/chunking_results.csv``      per chunk shape × zarr version × format: files, write,
                                                  full read, XY / XZ / YZ slice reads, compression ratio
``chunking_benchmarks/chunking_comparison.png``   2 × 3: write, reads by operation, file count (log),
                                                  ratio, storage size, slice time vs file count
``version_comparison/version_comparison.csv``     every benchmark value of every environment, long format
``version_comparison/version_comparison.png``     the zarr releases side by side, one row per zarr format
``access_patterns/access_results.csv``            per layout × access pattern × zarr version × format: read
                                                  time, GET requests, bytes fetched, bytes selected, the
                                                  read time as a multiple of the raw-file limit, and the
                                                  read time over HTTP with added latency (when the access
                                                  benchmarks ran)
``access_patterns/access_patterns.png``           1 × 3 per pattern and layout: local read time next to the
                                                  raw-file time of the same bytes, GET requests (log), and
                                                  the read time over HTTP with added latency
================================================  ==========================================================

Every number is asv's stored ``result`` (for ``time_*`` benchmarks the median of the
samples), never recomputed; derived columns (``size_mb``, ``savings_pct``, ``*_ms``) are
plain unit conversions of it. Every row names its data, zarr version, Python, zarr
format, commit and machine. Skipped cells (asv's NaN, e.g. format 3 on zarr 2) and failed
ones (asv's null) are empty in the CSVs and not drawn; failed ones are reported through
``warn``. The single-version figures show the newest zarr release with zarr format 2, the
reference gallery's setting.

asv is needed only here, and only in the development environment, so it is imported
when results are loaded.
"""

from __future__ import annotations

import ast
import csv
import itertools
import math
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from matplotlib.patches import Patch

from zarr_cryoet.store.codecs import CODECS
from zarr_cryoet.errors import ZarrCryoetError
from zarr_cryoet.report.style import DPI_WEB, codec_colours, figure_style, label_axis, new_figure, save_figure, series_colour

__all__ = [
    "ACCESS_CSV", "ACCESS_PNG", "access_rows", "build_access_figure", "CHUNKING_CSV", "CHUNKING_PNG",
    "COMPRESSION_CSV", "COMPRESSION_PNG", "DEFAULT_OUT", "DEFAULT_RESULTS",
    "FIGSIZES", "VERSION_CSV", "VERSION_PNG", "Env", "ReportError", "ReportResults", "build_chunking_figure",
    "build_compression_figure", "build_version_figure", "chunking_rows", "compression_rows", "report",
    "version_rows",
]

DEFAULT_RESULTS = Path(".asv", "results")
DEFAULT_OUT = Path("data", "output")
COMPRESSION_CSV = Path("cryoet_benchmarks", "cryoet_benchmark.csv")
COMPRESSION_PNG = Path("cryoet_benchmarks", "cryoet_benchmark.png")
CHUNKING_CSV = Path("chunking_benchmarks", "chunking_results.csv")
CHUNKING_PNG = Path("chunking_benchmarks", "chunking_comparison.png")
VERSION_CSV = Path("version_comparison", "version_comparison.csv")
ACCESS_CSV = Path("access_patterns", "access_results.csv")
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

# The benchmarks of the suite (benchmarks/compression.py, benchmarks/chunking.py).
C_WRITE, C_READ = "compression.Write.time_write", "compression.Read.time_read"
C_RATIO, C_BYTES = "compression.Storage.track_compression_ratio", "compression.Storage.track_stored_bytes"
K_WRITE, K_FULL = "chunking.Write.time_write", "chunking.Read.time_read_full"
K_SLICES = {p: f"chunking.Read.time_read_slice_{p.lower()}" for p in ("XY", "XZ", "YZ")}
K_FILES, K_RATIO = "chunking.Storage.track_file_count", "chunking.Storage.track_compression_ratio"
# The physical limit (benchmarks/limits.py): the same bytes as one raw file, and in memory.
L_WRITE, L_READ, L_COPY = "limits.RawIO.time_write_file", "limits.RawIO.time_read_file", "limits.RawIO.time_memory_copy"

#: Wide CSV columns: (column, benchmark, factor applied to asv's value).
COMPRESSION_VALUES = [("write_s", C_WRITE, 1), ("read_s", C_READ, 1), ("compression_ratio", C_RATIO, 1),
                      ("stored_bytes", C_BYTES, 1)]
CHUNKING_VALUES = [("files", K_FILES, 1), ("write_s", K_WRITE, 1), ("full_read_s", K_FULL, 1),
                   *((f"slice_{p.lower()}_ms", b, 1000) for p, b in K_SLICES.items()),
                   ("compression_ratio", K_RATIO, 1)]
ROW_CONTEXT = ["data", "python", "commit", "machine"]
_UNITS = {"seconds": "s"}
_TIME_MS = "Time (ms)"
_RATIO_LABEL = "Ratio (uncompressed / stored)"


class ReportError(ZarrCryoetError, ValueError):
    """The asv results cannot be reported: asv missing, no results, or an unknown machine/commit."""


# --- loading ------------------------------------------------------------------------


@dataclass(frozen=True)
class Env:
    """One asv environment of a commit: a zarr release on one Python."""

    name: str
    zarr_version: str
    python: str
    label: str  # "zarr 3.4.2" (with the Python when two environments share a zarr release)


@dataclass
class ReportResults:
    """The asv results of one machine and one commit, one :class:`Env` per environment.

    ``values`` maps ``(env name, benchmark, params)`` (params as a tuple in the
    benchmark's parameter order) to asv's stored result: a number, ``nan`` when
    skipped, ``None`` when failed.
    """

    results_dir: Path
    machine: str
    commit: str
    date: int | None
    envs: list[Env]
    values: dict = field(repr=False)
    param_names: dict[str, list[str]] = field(repr=False)
    units: dict[str, str] = field(repr=False)

    @classmethod
    def load(cls, results_dir=DEFAULT_RESULTS, machine: str | None = None,
             commit: str | None = None) -> ReportResults:
        """Load one machine's results for one commit (default: the latest commit by date)."""
        asv_results, asv_util = _import_asv()
        results_dir = Path(results_dir)
        if not results_dir.is_dir():
            raise ReportError(f"no asv results directory at {results_dir}; run python3 tasks.py benchmark "
                              "first, or pass --results DIR")
        machines = {d.name: files for d in sorted(results_dir.iterdir())
                    if (d / "machine.json").is_file() and (files := _result_files(d))}
        if not machines:
            raise ReportError(f"no asv results in {results_dir}; run python3 tasks.py benchmark first")
        if machine is None:
            if len(machines) > 1:
                raise ReportError(f"{results_dir} holds results of several machines ({', '.join(machines)}); "
                                  "choose one with --machine")
            machine = next(iter(machines))
        elif machine not in machines:
            raise ReportError(f"no results for machine {machine!r} in {results_dir}; "
                              f"known machines: {', '.join(machines)}")
        benchmarks_json = results_dir / "benchmarks.json"
        if not benchmarks_json.is_file():
            raise ReportError(f"{benchmarks_json} is missing; run python3 tasks.py benchmark (asv run writes it)")
        try:
            benchmarks = asv_util.load_json(str(benchmarks_json), api_version=2)
            loaded = [asv_results.Results.load(str(path)) for path in machines[machine]]
        except asv_util.UserError as err:
            raise ReportError(f"{' '.join(str(err).split())}; run python3 tasks.py benchmark again") from None
        benchmarks.pop("version", None)

        chosen = _choose_commit(loaded, commit, machine)
        chosen_results = [r for r in loaded if r.commit_hash == chosen]
        envs = _envs(chosen_results)
        values, param_names, units = {}, {}, {}
        for env, result in zip(envs, chosen_results):
            for key in sorted(result.get_result_keys(benchmarks)):
                raw_params = result.get_result_params(key) or []
                combos = _product([[_decode(v) for v in values_] for values_ in raw_params])
                for combo, value in zip(combos, result.get_result_value(key, raw_params)):
                    values[(env.name, key, combo)] = value
                param_names[key] = list(benchmarks[key].get("param_names") or [])
                units[key] = _unit(benchmarks[key])
        order = sorted(range(len(envs)), key=lambda i: (_version_key(envs[i].zarr_version),
                                                        _version_key(envs[i].python)))
        return cls(results_dir, machine, chosen, max((r.date or 0) for r in chosen_results) or None,
                   [envs[i] for i in order], values, param_names, units)

    # -- queries --

    @property
    def newest(self) -> Env:
        """The environment with the newest zarr release."""
        return self.envs[-1]

    @property
    def short_commit(self) -> str:
        return self.commit[:8]

    def has(self, module: str) -> bool:
        """Whether there are results of any benchmark of ``module`` (``"compression"``, ``"chunking"``)."""
        return any(key.startswith(module + ".") for key in self.param_names)

    def value(self, env: Env, benchmark: str, **params):
        """asv's result for one cell: a number, ``nan`` (skipped or absent) or ``None`` (failed)."""
        combo = tuple(params.get(name) for name in self.param_names.get(benchmark, ()))
        return self.values.get((env.name, benchmark, combo), math.nan)

    def choices(self, module: str, name: str) -> list:
        """Every value parameter ``name`` takes in ``module``'s benchmarks, in asv's order."""
        seen = {}
        for (_, key, combo) in self.values:
            names = self.param_names[key]
            if key.startswith(module + ".") and name in names:
                seen.setdefault(combo[names.index(name)], None)
        return list(seen)

    def failed(self) -> list[str]:
        """One description per failed cell (asv stored null), e.g. ``compression.Read.time_read(…) on zarr 3.4.2``."""
        labels = {env.name: env.label for env in self.envs}
        return [f"{key}({', '.join(f'{n}={v}' for n, v in zip(self.param_names[key], combo) if n != 'data')}) "
                f"on {labels[env]}" for (env, key, combo), value in self.values.items() if value is None]

    def context(self, env: Env, data) -> dict:
        """The columns every CSV row carries."""
        return {"zarr_version": env.zarr_version, "python": env.python, "data": data,
                "commit": self.commit, "machine": self.machine}


def _import_asv():
    try:
        import asv.results
        import asv.util
    except ImportError:
        raise ReportError("reading benchmark results needs asv; install asv (pip install asv) into this "
                          "environment, e.g. with python3 tasks.py benchmark") from None
    return asv.results, asv.util


def _result_files(machine_dir: Path) -> list[Path]:
    return sorted(p for p in machine_dir.glob("*.json") if p.name not in ("machine.json", "benchmarks.json"))


def _choose_commit(loaded, prefix: str | None, machine: str) -> str:
    dates = {}
    for result in loaded:
        dates[result.commit_hash] = max(dates.get(result.commit_hash, 0), result.date or 0)
    if prefix is None:
        return max(dates, key=lambda h: (dates[h], h))
    matches = [h for h in dates if h.lower().startswith(prefix.strip().lower())] if prefix.strip() else []
    if len(matches) != 1:
        known = ", ".join(h[:8] for h in sorted(dates, key=dates.get, reverse=True))
        problem = "matches several commits" if matches else "matches no commit"
        raise ReportError(f"--commit {prefix!r} {problem} with results on machine {machine!r}; "
                          f"known commits: {known}")
    return matches[0]


def _envs(results) -> list[Env]:
    raw = []
    for result in results:
        zarr_version = str(result.params.get("zarr") or "unknown")
        raw.append((result.env_name, zarr_version, str(result.params.get("python") or "")))
    versions = [v for _, v, _ in raw]
    return [Env(name, v, py, f"zarr {v}" + (f" (Python {py})" if versions.count(v) > 1 else ""))
            for name, v, py in raw]


def _decode(value):
    """A parameter value as asv stores it (its ``repr``) back to the value: ``"'none'"`` → ``"none"``."""
    try:
        return ast.literal_eval(value)
    except (ValueError, SyntaxError, TypeError):
        return value


def _product(params):
    """asv's order of parameter combinations (``itertools.product``)."""
    return list(itertools.product(*params))


def _unit(benchmark: dict) -> str:
    unit = benchmark.get("unit") or ""
    return _UNITS.get(unit, unit)


def _version_key(version: str):
    return tuple(int(n) for n in re.findall(r"\d+", version or ""))


# --- tables -------------------------------------------------------------------------


def _cell(value, factor=1):
    """A CSV cell: asv's value (times ``factor``), or empty when skipped or failed."""
    if not _finite(value):
        return ""
    return value * factor if factor != 1 else value


def _finite(value) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def _derived(func, *values):
    return func(*values) if all(_finite(v) for v in values) else ""


def codec_label(codec: str) -> str:
    """The method's name in tables and figures, e.g. ``"Blosc-Zstd"``."""
    return CODECS[codec].label if codec in CODECS else str(codec)


def chunk_label(chunks: str) -> str:
    """``"16x16x16"`` → ``"16³"``, ``"16x128x128"`` → ``"16×128×128"``.

    Sharded layouts: ``"32x32x32/128x128x128"`` → ``"32³ in 128³"``.
    """
    if "/" in str(chunks):
        inner, _, shards = str(chunks).partition("/")
        return f"{chunk_label(inner)} in {chunk_label(shards)}"
    parts = str(chunks).split("x")
    return f"{parts[0]}³" if len(parts) == 3 and len(set(parts)) == 1 else "×".join(parts)


def compression_rows(results: ReportResults) -> list[dict]:
    """One row per codec × zarr version × format (× data) of the compression benchmarks."""
    rows = []
    for data in results.choices("compression", "data"):
        for env in results.envs:
            for fmt in results.choices("compression", "zarr_format"):
                for codec in results.choices("compression", "codec"):
                    raw = {col: results.value(env, bench, data=data, codec=codec, zarr_format=fmt)
                           for col, bench, _ in COMPRESSION_VALUES}
                    row = {"method": codec_label(codec), "codec": codec, "zarr_version": env.zarr_version,
                           "zarr_format": fmt}
                    row.update({col: _cell(raw[col]) for col, _, _ in COMPRESSION_VALUES})
                    row["size_mb"] = _derived(lambda b: b / 1e6, raw["stored_bytes"])
                    row["savings_pct"] = _derived(lambda r: (1 - 1 / r) * 100, raw["compression_ratio"])
                    row.update(_versus_limit(results, env, data, write_x_raw=raw["write_s"],
                                             read_x_raw=raw["read_s"]))
                    row.update(results.context(env, data))
                    rows.append(row)
    return rows


def chunking_rows(results: ReportResults) -> list[dict]:
    """One row per chunk shape × zarr version × format (× data) of the chunking benchmarks."""
    rows = []
    for data in results.choices("chunking", "data"):
        for env in results.envs:
            for fmt in results.choices("chunking", "zarr_format"):
                for chunks in results.choices("chunking", "chunks"):
                    row = {"chunks": chunks, "zarr_version": env.zarr_version, "zarr_format": fmt}
                    row.update({col: _cell(results.value(env, bench, data=data, chunks=chunks, zarr_format=fmt),
                                           factor) for col, bench, factor in CHUNKING_VALUES})
                    row.update(_versus_limit(
                        results, env, data,
                        write_x_raw=results.value(env, K_WRITE, data=data, chunks=chunks, zarr_format=fmt),
                        full_read_x_raw=results.value(env, K_FULL, data=data, chunks=chunks, zarr_format=fmt)))
                    row.update(results.context(env, data))
                    rows.append(row)
    return rows


def _versus_limit(results: ReportResults, env: Env, data, **times) -> dict:
    """``<op>_x_raw``: a zarr time divided by the raw-file time of the same bytes (1.0 = the limit).

    Keyword names ending in ``write_x_raw`` are divided by the raw write,
    the others by the raw read. Empty where either time is missing.
    """
    limits = {"write": results.value(env, L_WRITE, data=data), "read": results.value(env, L_READ, data=data)}
    return {name: _derived(lambda t, limit: t / limit, value, limits["write" if "write" in name else "read"])
            for name, value in times.items()}


def version_rows(results: ReportResults) -> list[dict]:
    """Every cell of every benchmark and environment, one row each (long format)."""
    names = sorted({n for ns in results.param_names.values() for n in ns}, key=_param_order)
    rows = []
    for env in results.envs:
        for (env_name, key, combo), value in results.values.items():
            if env_name != env.name:
                continue
            params = dict(zip(results.param_names[key], combo))
            status = "failed" if value is None else "ok" if _finite(value) else "skipped"
            row = {"metric": key.rsplit(".", 1)[-1].removeprefix("time_").removeprefix("track_"),
                   "benchmark": key, **{n: params.get(n, "") for n in names},
                   "zarr_version": env.zarr_version, "python": env.python, "value": _cell(value),
                   "unit": results.units.get(key, ""), "status": status,
                   "commit": results.commit, "machine": results.machine}
            rows.append(row)
    return rows


def _param_order(name: str):
    return {"data": 0, "codec": 1, "chunks": 2, "zarr_format": 9}.get(name, 5), name


def _write_csv(rows: list[dict], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = list(rows[0]) if rows else []
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _csv_text(v) for k, v in row.items()})
    return path


def _csv_text(value) -> str:
    """Numbers in full precision (``repr`` round-trips exactly), so the CSV equals asv's JSON."""
    if isinstance(value, float):
        return repr(value)
    return str(value)


# --- figures ------------------------------------------------------------------------


def _ms(value):
    return value * 1000 if _finite(value) else math.nan


def _bars(ax, labels, values, colours, *, fmt="%.1f", width=0.7, annotate=True):
    """One bar per category; skipped/failed ones are not drawn but marked ``n/a``."""
    x = np.arange(len(labels))
    keep = [i for i, v in enumerate(values) if _finite(v)]
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
        keep = [i for i, v in enumerate(values) if _finite(v)]
        ax.bar(x[keep] + (j - (len(series) - 1) / 2) * width, [values[i] for i in keep], width=width,
               color=colour, label=name, edgecolor="#333333", linewidth=0.4)
    _ticks(ax, x, labels)
    ax.margins(y=0.08)
    missing = [name for name, _, values in series if not any(_finite(v) for v in values)]
    if missing and len(missing) < len(series):
        ax.text(0.02, 0.97, "n/a: " + ", ".join(missing), transform=ax.transAxes, ha="left", va="top",
                fontsize=9, color="#7f7f7f")


def _limit_line(ax, seconds, what: str, legend: bool = True) -> None:
    """A dashed line at the raw-file time of the same bytes (benchmarks/limits.py): the physical limit."""
    if not _finite(seconds):
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
    env, data = _pick(results, "compression", env, data)
    codecs = results.choices("compression", "codec")
    labels = [codec_label(c) for c in codecs]
    colours = list(codec_colours(codecs).values())

    def series(bench):
        return [results.value(env, bench, data=data, codec=c, zarr_format=zarr_format) for c in codecs]

    with figure_style():
        fig, axes = new_figure(2, 2, figsize=FIGSIZES[COMPRESSION_PNG.name], layout=None,
                               gridspec_kw=_GRIDS[COMPRESSION_PNG.name],
                               title=_suptitle("Compression benchmarks", results, data, env, zarr_format))
        panels = [
            (axes[0, 0], "Write time", [_ms(v) for v in series(C_WRITE)], "Write time (ms)", "%.1f"),
            (axes[0, 1], "Read time", [_ms(v) for v in series(C_READ)], "Read time (ms)", "%.1f"),
            (axes[1, 0], "Compression ratio (higher is better)", series(C_RATIO), _RATIO_LABEL, "%.3f×"),
            (axes[1, 1], "Storage size (lower is better)",
             [v / 1e6 if _finite(v) else v for v in series(C_BYTES)], "Size (MB)", "%.2f"),
        ]
        for ax, title, values, ylabel, fmt in panels:
            ax.set_title(title)
            _bars(ax, labels, values, colours, fmt=fmt)
            label_axis(ax, "Codec (name)", ylabel)
        _limit_line(axes[0, 0], results.value(env, L_WRITE, data=data), "write")
        _limit_line(axes[0, 1], results.value(env, L_READ, data=data), "read")
        ratio_ax = axes[1, 0]
        ratios = [v for v in panels[2][2] if _finite(v)]
        if ratios:  # ratios sit near 1: start the axis below the smallest so differences show
            ratio_ax.set_ylim(min(0.95, min(ratios) - 0.02), max(ratios) + 0.03)
    return fig


def _data_shape(data) -> tuple[tuple[int, int, int], int] | None:
    """(shape, bytes per voxel) from a data label such as ``"phantom 128³ float32"`` or ``"… 64x128x128@centre float32"``."""
    text = str(data)
    dtype = re.search(r"\b(u?int\d+|float\d+)\b", text)
    cube = re.search(r"(\d+)³", text)
    box = re.search(r"\b(\d+)x(\d+)x(\d+)\b", text)
    if not dtype or not (cube or box):
        return None
    shape = (int(cube.group(1)),) * 3 if cube else tuple(int(n) for n in box.groups())
    return shape, np.dtype(dtype.group(1)).itemsize


def _volume_bytes(data) -> int | None:
    """Uncompressed bytes of the data a label names, or None when the label does not say."""
    described = _data_shape(data)
    return math.prod(described[0]) * described[1] if described else None


A_READ, A_GETS, A_BYTES = "access.Read.time_read", "access.Requests.track_get_requests", \
    "access.Requests.track_bytes_fetched"
A_REMOTE = "access.RemoteRead.time_read"


def _selected_bytes(results: ReportResults, data) -> dict:
    """Bytes each access pattern selects from the volume ``data`` names ({} when the label does not say)."""
    from zarr_cryoet.store.access import pattern as pattern_selections
    from zarr_cryoet.store.access import selected_voxels

    described = _data_shape(data)
    if not described:
        return {}
    shape, itemsize = described
    return {p: selected_voxels(pattern_selections(p, shape), shape) * itemsize
            for p in results.choices("access", "pattern")}


def access_rows(results: ReportResults) -> list[dict]:
    """One row per layout × pattern × zarr version × format: time, GETs, bytes fetched, and the limit.

    ``read_x_raw`` divides the pattern's read time by the time the raw-file
    read (limits.RawIO.time_read_file) takes for the same number of bytes.
    ``remote_<L>ms_read_s`` is the same read over HTTP with L ms added to every
    request (access.RemoteRead; empty for patterns it does not time).
    """
    rows = []
    patterns = results.choices("access", "pattern")
    latencies = results.choices("access", "latency_ms")
    for data in results.choices("access", "data"):
        selected_bytes = _selected_bytes(results, data)
        volume_bytes = _volume_bytes(data)
        for env in results.envs:
            raw_read = results.value(env, L_READ, data=data)
            for fmt in results.choices("access", "zarr_format"):
                for chunks in results.choices("access", "chunks"):
                    for pattern in patterns:
                        cell = dict(data=data, chunks=chunks, zarr_format=fmt, pattern=pattern)
                        time_s = results.value(env, A_READ, **cell)
                        selected = selected_bytes.get(pattern, "")
                        row = {"chunks": chunks, "pattern": pattern, "zarr_version": env.zarr_version,
                               "zarr_format": fmt, "read_s": _cell(time_s),
                               "get_requests": _cell(results.value(env, A_GETS, **cell)),
                               "bytes_fetched": _cell(results.value(env, A_BYTES, **cell)),
                               "bytes_selected": selected,
                               "read_x_raw": _derived(lambda t, r, b, v: t / (r * b / v),
                                                      time_s, raw_read, selected or math.nan,
                                                      volume_bytes or math.nan)}
                        for latency in latencies:
                            row[f"remote_{latency}ms_read_s"] = _cell(results.value(env, A_REMOTE, **cell,
                                                                                    latency_ms=latency))
                        row.update(results.context(env, data))
                        rows.append(row)
    return rows


def _access_format(results: ReportResults, env: Env, data) -> int:
    """Format 3 where this environment has access results for it (it shows the sharded layouts), else 2."""
    formats = results.choices("access", "zarr_format")
    for fmt in sorted(formats, reverse=True):
        if any(_finite(results.value(env, A_READ, data=data, chunks=c, zarr_format=fmt, pattern=p))
               for c in results.choices("access", "chunks") for p in results.choices("access", "pattern")):
            return fmt
    return min(formats, default=2)


def build_access_figure(results: ReportResults, *, env: Env | None = None, zarr_format=None, data=None):
    """1 × 3 per pattern and layout: local read time with the raw limit, GET requests, reads over slow HTTP."""
    env, data = _pick(results, "access", env, data)
    zarr_format = zarr_format if zarr_format is not None else _access_format(results, env, data)
    patterns = results.choices("access", "pattern")
    layouts = [c for c in results.choices("access", "chunks")
               if any(_finite(results.value(env, b, data=data, chunks=c, zarr_format=zarr_format, pattern=p))
                      for b in (A_READ, A_GETS) for p in patterns)]
    colours = {c: series_colour(i) for i, c in enumerate(results.choices("access", "chunks"))}

    def series(bench, shown_patterns, factor=1000, **extra):
        out = []
        for c in layouts:
            values = [results.value(env, bench, data=data, chunks=c, zarr_format=zarr_format, pattern=p, **extra)
                      for p in shown_patterns]
            out.append((chunk_label(c), colours[c], [v * factor if _finite(v) else math.nan for v in values]))
        return out

    raw_read, volume_bytes = results.value(env, L_READ, data=data), _volume_bytes(data)
    selected = _selected_bytes(results, data)
    with figure_style():
        fig, axes = new_figure(1, 3, figsize=FIGSIZES[ACCESS_PNG.name], layout=None,
                               gridspec_kw=_GRIDS[ACCESS_PNG.name],
                               title=_suptitle("Access patterns (Blosc-Zstd)", results, data, env, zarr_format))
        ax = axes[0]
        ax.set_title("Read time, local disk")
        _grouped(ax, patterns, series(A_READ, patterns))
        if _finite(raw_read) and volume_bytes and selected:  # the raw-file time of the bytes each pattern selects
            limits = [raw_read * 1000 * selected[p] / volume_bytes for p in patterns]
            ax.hlines(limits, np.arange(len(patterns)) - 0.42, np.arange(len(patterns)) + 0.42, colors="#333333",
                      linestyles="--", linewidth=1.2, label="raw file, same bytes (the limit)")
        ax.legend(title="Layout", loc="upper left", fontsize=9)
        label_axis(ax, "Access pattern (name)", _TIME_MS)

        ax = axes[1]
        ax.set_title("GET requests over HTTP (log scale)")
        _grouped(ax, patterns, series(A_GETS, patterns, factor=1))
        ax.set_yscale("log")
        label_axis(ax, "Access pattern (name)", "Requests (count)")

        ax = axes[2]
        latencies = results.choices("access", "latency_ms")
        remote = [p for p in patterns if latencies and any(
            _finite(results.value(env, A_REMOTE, data=data, chunks=c, zarr_format=zarr_format, pattern=p,
                                  latency_ms=latencies[0])) for c in layouts)]
        if remote:
            ax.set_title(f"Read time over HTTP, +{latencies[0]} ms per request")
            _grouped(ax, remote, series(A_REMOTE, remote, latency_ms=latencies[0]))
            label_axis(ax, "Access pattern (name)", _TIME_MS)
        else:
            ax.set_title("Read time over HTTP")
            ax.set_axis_off()
            _no_data(ax, "no access.RemoteRead results")
    return fig


def build_chunking_figure(results: ReportResults, *, env: Env | None = None, zarr_format=2, data=None):
    """2 × 3 per chunk shape: write, reads by operation, file count (log), ratio, storage size, efficiency."""
    env, data = _pick(results, "chunking", env, data)
    shapes = results.choices("chunking", "chunks")

    def series(bench):
        return [results.value(env, bench, data=data, chunks=c, zarr_format=zarr_format) for c in shapes]

    # leave out layouts with no result at all here (e.g. sharded ones on zarr format 2)
    shown = [i for i in range(len(shapes)) if any(_finite(results.value(env, b, data=data, chunks=shapes[i],
                                                                         zarr_format=zarr_format))
                                                  for b in (K_WRITE, K_FULL, K_FILES))] or list(range(len(shapes)))
    shapes = [shapes[i] for i in shown]
    labels = [chunk_label(c) for c in shapes]
    colours = [series_colour(i) for i in range(len(shapes))]

    files, ratios = series(K_FILES), series(K_RATIO)
    volume_bytes = _volume_bytes(data)
    with figure_style():
        fig, axes = new_figure(2, 3, figsize=FIGSIZES[CHUNKING_PNG.name], layout=None,
                               gridspec_kw=_GRIDS[CHUNKING_PNG.name],
                               title=_suptitle("Chunking benchmarks (Blosc-Zstd)", results, data, env, zarr_format))
        ax = axes[0, 0]
        ax.set_title("Write time")
        _bars(ax, labels, [_ms(v) for v in series(K_WRITE)], colours)
        label_axis(ax, "Chunk shape (voxels)", "Write time (ms)")
        _limit_line(ax, results.value(env, L_WRITE, data=data), "write")

        ax = axes[0, 1]
        ax.set_title("Read time by operation")
        operations = {"full volume": K_FULL, **{f"{p} slice": b for p, b in K_SLICES.items()}}
        _grouped(ax, labels, [(name, series_colour(len(shapes) + j), [_ms(v) for v in series(bench)])
                              for j, (name, bench) in enumerate(operations.items())])
        _limit_line(ax, results.value(env, L_READ, data=data), "full read", legend=False)
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
        finite = [v for v in ratios if _finite(v)]
        if finite:
            ax.set_ylim(min(0.95, min(finite) - 0.02), max(finite) + 0.03)
        label_axis(ax, "Chunk shape (voxels)", _RATIO_LABEL)

        ax = axes[1, 1]
        ax.set_title("Storage size")
        if volume_bytes:
            _bars(ax, labels, [volume_bytes / r / 1e6 if _finite(r) else r for r in ratios], colours, fmt="%.2f")
            label_axis(ax, "Chunk shape (voxels)", "Size (MB)")
        else:
            ax.set_axis_off()
            _no_data(ax, f"storage size needs the volume's size,\nwhich the data label\n{data!r}\ndoes not give")

        ax = axes[1, 2]
        ax.set_title("Efficiency: XY slice vs file count")
        xy = [_ms(v) for v in series(K_SLICES["XY"])]
        for i, label in enumerate(labels):
            if _finite(files[i]) and _finite(xy[i]):
                ax.scatter(files[i], xy[i], s=70, color=colours[i], edgecolor="#333333", zorder=3, label=label)
                ax.annotate(label, (files[i], xy[i]), xytext=(6, 4), textcoords="offset points", fontsize=9)
        ax.set_xscale("log")
        ax.margins(x=0.2, y=0.15)
        label_axis(ax, "Files (count)", "XY slice read (ms)")
    return fig


#: The version comparison's columns: (title, module, parameter, benchmark, factor to the axis unit, y label).
VERSION_PANELS = [
    ("Compression: write", "compression", "codec", C_WRITE),
    ("Compression: read", "compression", "codec", C_READ),
    ("Chunking: write", "chunking", "chunks", K_WRITE),
    ("Chunking: full read", "chunking", "chunks", K_FULL),
    ("Chunking: XY slice", "chunking", "chunks", K_SLICES["XY"]),
]


def build_version_figure(results: ReportResults, *, data=None):
    """The zarr releases side by side: one bar per release per codec / chunk shape; a row per zarr format."""
    formats = sorted({f for m in ("compression", "chunking") for f in results.choices(m, "zarr_format")}) or [2]
    env_colours = {env.name: series_colour(i) for i, env in enumerate(results.envs)}
    datas = {m: (data if data is not None else next(iter(results.choices(m, "data")), None))
             for m in ("compression", "chunking")}
    with figure_style():
        fig, axes = new_figure(len(formats), len(VERSION_PANELS), figsize=FIGSIZES[VERSION_PNG.name], layout=None,
                               gridspec_kw=_GRIDS[VERSION_PNG.name],
                               squeeze=False, title=_suptitle("zarr releases side by side", results,
                                                              datas["compression"] or datas["chunking"]))
        for row, fmt in zip(axes, formats):
            for ax, (title, module, param, bench) in zip(row, VERSION_PANELS):
                ax.set_title(f"{title} (format {fmt})")
                categories = results.choices(module, param)
                label = codec_label if param == "codec" else chunk_label
                series = [(env.label, env_colours[env.name],
                           [_ms(results.value(env, bench, data=datas[module], zarr_format=fmt, **{param: c}))
                            for c in categories]) for env in results.envs]
                _grouped(ax, [label(c) for c in categories], series)
                if not any(_finite(v) for *_, values in series for v in values):
                    _no_data(ax, f"no results for format {fmt}")
                label_axis(ax, "Codec (name)" if param == "codec" else "Chunk shape (voxels)", _TIME_MS)
        handles = [Patch(facecolor=env_colours[env.name], edgecolor="#333333", label=env.label)
                   for env in results.envs]
        fig.legend(handles=handles, loc="upper right", bbox_to_anchor=(0.995, 0.995), ncols=len(handles),
                   title="Release")
    return fig


# --- the command --------------------------------------------------------------------


def report(results_dir=DEFAULT_RESULTS, out=DEFAULT_OUT, *, machine: str | None = None, commit: str | None = None,
           dpi: float = DPI_WEB, warn: Callable[[str], None] | None = None) -> list[Path]:
    """Load the results, write the CSVs and figures under ``out``; return the paths written.

    ``warn`` receives one line per problem that does not stop the report (failed
    benchmarks, a module without results); by default it goes to stderr.
    """
    if isinstance(dpi, bool) or not isinstance(dpi, (int, float)) or not dpi > 0:
        raise ReportError(f"dpi must be a positive number, got {dpi!r}; use 150 (web) or 300 (print)")
    warn = warn or _stderr_warning
    results = ReportResults.load(results_dir, machine=machine, commit=commit)
    failed = results.failed()
    if failed:
        warn(f"{len(failed)} failed benchmark(s), left empty: {'; '.join(failed)}")
    out = Path(out)
    written = []
    sections = [("compression", compression_rows, COMPRESSION_CSV, build_compression_figure, COMPRESSION_PNG),
                ("chunking", chunking_rows, CHUNKING_CSV, build_chunking_figure, CHUNKING_PNG)]
    for module, rows, csv_path, build, png_path in sections:
        if not results.has(module):
            warn(f"no {module} results for commit {results.short_commit}; skipped {csv_path.parent}/")
            continue
        if len(results.choices(module, "data")) > 1:
            warn(f"{module} results on several data; the figure shows {results.choices(module, 'data')[0]!r}, "
                 "the CSV all of them")
        written.append(_write_csv(rows(results), out / csv_path))
        written.append(save_figure(build(results), out / png_path, dpi=dpi))
    if results.has("access"):
        written.append(_write_csv(access_rows(results), out / ACCESS_CSV))
        written.append(save_figure(build_access_figure(results), out / ACCESS_PNG, dpi=dpi))
    written.append(_write_csv(version_rows(results), out / VERSION_CSV))
    written.append(save_figure(build_version_figure(results), out / VERSION_PNG, dpi=dpi))
    return written


def _stderr_warning(message: str) -> None:
    print(f"zarr-cryoet: warning: {message}", file=sys.stderr)
