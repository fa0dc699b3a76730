"""The engines' tables and figure: which library reads and writes each layout fastest, and can they share stores.

* ``engines/engine_comparison.csv``: per zarr release × data × layout × operation × engine,
  the time (ms), its ratio to the fastest engine of that cell, and its ratio to the raw-I/O
  limit of the same bytes (``limits.RawIO``: one raw file write or read, scaled to the bytes
  the operation selects), plus peak memory and, for ``xy``/``box32``, GET requests and the
  read over HTTP with 20 ms latency (zarr-python's from ``access.RemoteRead`` where the default
  grid leaves it out of ``engines.RemoteRead``: the same reads; ``remote_20ms_from`` says which);
* ``engines/engine_comparison.png``: one panel per operation, layouts along x, one bar per
  engine (log scale), for the newest zarr release;
* ``engines/interop.csv``: per zarr release × layout × writer × reader, ``bit-exact``,
  ``differs`` (with the count of differing voxels), ``failed`` (asv stored no value; the
  recorded error says why) or ``skipped`` (with the reason);
* ``engines/engine_settings.csv``: each environment's engine versions and the concurrency
  they ran with, next to the libraries' defaults.

The interop details and the settings come from the record the benchmarks wrote next to
asv's results (:func:`benchmarks.engines.interop_cache`).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from matplotlib.patches import Patch

from zarr_cryoet.data import provenance
from zarr_cryoet.asv.families import ACCESS, ENGINES, LIMITS
from zarr_cryoet.asv.results import ReportResults, finite
from zarr_cryoet.report.bar_axes import whiskers
from zarr_cryoet.report.style import (ENGINE_COLOURS, STATISTIC_LABEL, add_run_label, label_axis, new_figure,
                                      plain_log_ticks)
from zarr_cryoet.store.stores import chunk_label
from zarr_cryoet.report.tables import _cell, interval_columns, whiskers_text
from zarr_cryoet.store.access import pattern as pattern_selections
from zarr_cryoet.store.access import selected_voxels

COMPARISON_CSV = Path("engines", "engine_comparison.csv")
COMPARISON_PNG = Path("engines", "engine_comparison.png")
INTEROP_CSV = Path("engines", "interop.csv")
SETTINGS_CSV = Path("engines", "engine_settings.csv")


def _layout_cells(results: ReportResults):
    for data in results.choices(ENGINES.module, "data"):
        for env in results.envs:
            for chunks in results.choices(ENGINES.module, "chunks"):
                for fmt in results.choices(ENGINES.module, "zarr_format"):
                    yield env, {"data": data, "chunks": chunks, "zarr_format": fmt}


def _fraction(results: ReportResults, data, operation: str) -> float | None:
    """The share of the volume's bytes an operation selects (1 for writes and full reads)."""
    if operation in ("write", "full"):
        return 1.0
    volume = results.volume(data)
    if volume is None:
        return None
    shape = volume.shape
    total = math.prod(shape)
    if operation in ("xy", "xz", "yz"):
        return 1 / shape["zyx".index({"xy": "z", "xz": "y", "yz": "x"}[operation])]
    return selected_voxels(pattern_selections(operation, shape), shape) / total


def comparison_rows(results: ReportResults) -> list[dict]:
    """One row per zarr release × data × layout × operation × engine that has a time."""
    rows = []
    engines = results.choices(ENGINES.module, "engine")
    for env, cell in _layout_cells(results):
        limits = {"write": results.value(env, LIMITS.write, data=cell["data"]),
                  "read": results.value(env, LIMITS.read, data=cell["data"])}
        for operation, benchmark in ENGINES.operations.items():
            times = {e: results.value(env, benchmark, **cell, engine=e) for e in engines}
            measured = {e: t for e, t in times.items() if finite(t)}
            if not measured:
                continue
            fastest = min(measured.values())
            fraction = _fraction(results, cell["data"], operation)
            limit = limits["write" if operation == "write" else "read"]
            for engine in engines:
                time = times[engine]
                if not finite(time):
                    continue
                row = {"chunks": cell["chunks"], "layout": chunk_label(cell["chunks"]), "zarr_format": cell["zarr_format"],
                       "operation": operation, "engine": engine, "time_ms": time * 1000,
                       **interval_columns(results.estimate(env, benchmark, **cell, engine=engine), "time"),
                       "x_fastest": time / fastest,
                       "x_raw": time / (limit * fraction) if finite(limit) and fraction else "",
                       "fastest": engine == min(measured, key=measured.get),
                       "zarr_version": env.zarr_version, "data": cell["data"]}
                if operation == "full":
                    row.update(_memory(results, env, cell, engine))
                if operation in ("xy", "box32"):
                    row.update(_remote(results, env, cell, engine, operation))
                rows.append(row)
    columns = list(dict.fromkeys(key for row in rows for key in row))  # memory and HTTP columns on some rows only
    return [{**{key: row.get(key, "") for key in columns},
             **results.context(next(e for e in results.envs if e.zarr_version == row["zarr_version"]), row["data"])}
            for row in rows]


def _memory(results, env, cell, engine) -> dict:
    peaks = {name: results.value(env, bench, **cell, engine=engine)
             for name, bench in (("open", ENGINES.peak_open), ("read", ENGINES.peak_read), ("write", ENGINES.peak_write))}
    mb = {name: _cell(value, 1e-6) for name, value in peaks.items()}
    extra = {f"{name}_extra_mb": (peaks[name] - peaks["open"]) / 1e6 if finite(peaks[name]) and finite(peaks["open"]) else ""
             for name in ("read", "write")}
    return {"peak_open_mb": mb["open"], "peak_full_read_mb": mb["read"], "peak_write_mb": mb["write"], **extra}


def _remote(results, env, cell, engine, pattern) -> dict:
    params = {**cell, "pattern": pattern, "engine": engine}
    latencies = results.choices(ENGINES.module, "latency_ms") or [20]
    out = {"get_requests": _cell(results.value(env, ENGINES.gets, **params)),
           "bytes_fetched": _cell(results.value(env, ENGINES.bytes_fetched, **params))}
    for latency in latencies:
        value = results.value(env, ENGINES.remote, **params, latency_ms=latency)
        source = "engines"
        if engine == "zarr-python" and not finite(value):  # the default grid: access.RemoteRead has these reads
            value = results.value(env, ACCESS.remote, **{k: v for k, v in params.items() if k != "engine"},
                                  latency_ms=latency)
            source = "access"
        out[f"remote_{latency}ms_ms"] = _cell(value, 1000)
        out[f"remote_{latency}ms_from"] = source if finite(value) else ""
    return out


def _records(results: ReportResults) -> dict:
    """(zarr version, data) -> the engines record the benchmarks wrote next to the results."""
    out = {}
    for path in sorted(provenance.provenance_dir(results.results_dir).glob("engines_zarr_*.json")):
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        out[(record.get("zarr"), record.get("data"))] = record
    return out


def interop_rows(results: ReportResults) -> list[dict]:
    """One row per zarr release × data × layout × writer × reader of ``engines.Interop``."""
    records = _records(results)
    rows = []
    engines = results.choices(ENGINES.module, "writer")
    for env, cell in _layout_cells(results):
        details = {(r["chunks"], r["zarr_format"], r["writer"], r["reader"]): r
                   for r in records.get((env.zarr_version, cell["data"]), {}).get("interop", [])}
        for writer in engines:
            for reader in engines:
                value = results.value(env, ENGINES.interop, **cell, writer=writer, reader=reader)
                recorded = details.get((cell["chunks"], int(cell["zarr_format"]), writer, reader), {})
                if value is None:
                    status = "failed"
                elif not finite(value):
                    if not recorded:
                        continue  # not in this grid
                    status = "skipped"
                else:
                    status = "bit-exact" if value == 0 else "differs"
                rows.append({"chunks": cell["chunks"], "layout": chunk_label(cell["chunks"]),
                             "zarr_format": cell["zarr_format"], "writer": writer, "reader": reader, "status": status,
                             "mismatched_voxels": _cell(value), "detail": recorded.get("detail", ""),
                             **results.context(env, cell["data"])})
    return rows


def settings_rows(results: ReportResults) -> list[dict]:
    """Per environment and engine: version, or why it did not run, and the pinned and default settings."""
    rows = []
    for (zarr_version, data), record in sorted(_records(results).items(), key=lambda kv: str(kv[0])):
        for engine, entry in record.get("engines", {}).items():
            rows.append({"zarr_version": zarr_version, "data": data, "engine": engine,
                         "version": entry.get("version") or "", "reason": entry.get("reason") or "",
                         "thread_budget": record.get("thread_budget", ""),
                         "settings": json.dumps(entry.get("settings") or {}, sort_keys=True),
                         "library_defaults": json.dumps(entry.get("library_defaults") or {}, sort_keys=True)})
    return rows


def cores(results: ReportResults, zarr_version: str) -> str:
    """The cores the engines ran on, from the thread budget each environment's record names (``"one core"``:
    asv pins the suite to one; :func:`zarr_cryoet.engines.base.thread_budget`)."""
    budgets = {record.get("thread_budget") for (version, _), record in _records(results).items()
               if version == zarr_version} - {None, ""}
    if len(budgets) != 1 or next(iter(budgets)) == 1:
        return "one core"
    return f"{next(iter(budgets))} cores"


def build_engine_figure(results: ReportResults):
    """One panel per operation: layouts along x, a bar per engine, log time; the newest zarr release."""
    zarr = results.newest.zarr_version
    rows = [r for r in comparison_rows(results) if r["zarr_version"] == zarr]
    operations = [op for op in ENGINES.operations if any(r["operation"] == op for r in rows)]
    data = rows[0]["data"] if rows else ""
    fig, axes = new_figure(1, max(len(operations), 1), figsize=(3.6 * max(len(operations), 1), 4.6), squeeze=False,
                           title=f"Engines, each with {cores(results, zarr)}: time per operation (log scale, lower "
                                 "is faster)")
    engines = list(ENGINE_COLOURS)
    env = next((e for e in results.envs if e.zarr_version == zarr), results.newest)

    def estimate(row):
        return results.estimate(env, ENGINES.operations[row["operation"]], data=row["data"], chunks=row["chunks"],
                                zarr_format=row["zarr_format"], engine=row["engine"])
    found = [estimate(r) for r in rows]
    if whiskers_text(found):
        fig.suptitle(f"{fig.get_suptitle()}\n{STATISTIC_LABEL}; {whiskers_text(found)}")
    for ax, operation in zip(axes[0], operations):
        here = [r for r in rows if r["operation"] == operation and r["data"] == data]
        layouts = list(dict.fromkeys((r["layout"], r["zarr_format"]) for r in here))
        width = 0.8 / len(engines)
        for i, engine in enumerate(engines):
            xs, ys, estimates = [], [], []
            for j, key in enumerate(layouts):
                match = [r for r in here if (r["layout"], r["zarr_format"]) == key and r["engine"] == engine]
                if match:
                    xs.append(j + (i - (len(engines) - 1) / 2) * width)
                    ys.append(match[0]["time_ms"])
                    estimates.append(estimate(match[0]))
            ax.bar(xs, ys, width=width, color=ENGINE_COLOURS[engine], label=engine)
            whiskers(ax, xs, ys, estimates)
        ax.set_yscale("log")
        plain_log_ticks(ax)
        ax.set_xticks(range(len(layouts)), [f"{layout}\nv{fmt}" for layout, fmt in layouts], fontsize=8)
        ax.set_title({"write": "write", "full": "full read", "xy": "middle XY plane", "xz": "middle XZ plane",
                      "yz": "middle YZ plane", "box32": "16 particle boxes (32³)"}[operation])
        label_axis(ax, y="time (ms)")
    drawn = [e for e in engines if any(r["engine"] == e for r in rows)]
    if drawn:  # beside the panels: over the bars it would hide some
        fig.legend(handles=[Patch(color=ENGINE_COLOURS[e], label=e) for e in drawn], title="engine",
                   loc="outside lower center", ncols=len(drawn))
    return add_run_label(fig, results.run_label(data or None, cores=cores(results, zarr), zarr=zarr))
