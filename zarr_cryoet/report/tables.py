"""The report's CSV tables, one row builder per table, and the CSV writer.

Every time is the suite's statistic (the fastest of the processes, :mod:`zarr_cryoet.stats.estimate`,
from the samples asv recorded), followed by its interval and processes (``*_low_ms``, ``*_high_ms``:
where 90 % of other runs of the commit land on a machine with a measured band, else the range of the
processes' minima; ``*_processes``; :func:`interval_columns`); every other number is asv's stored
``result``. Derived columns (``size_mb``, ``savings_pct``, ``*_ms``, ``*_x_raw``) are plain unit conversions or
ratios of them. Every row names its data, zarr
version, Python, zarr format, commit and machine. Skipped cells (asv's NaN, e.g. format 3
on zarr 2) and failed ones (asv's null) are empty. Columns that need the size of the
volume (``bytes_selected``, ``read_x_raw`` of the access table) are empty where no
provenance is recorded for the data.
"""

from __future__ import annotations

import csv
import itertools
import math
from pathlib import Path

from zarr_cryoet.store import access
from zarr_cryoet.store.codecs import CODECS
from zarr_cryoet.asv.families import ACCESS, CHUNKING, COMPRESSION, LIMITS
from zarr_cryoet.asv.results import Env, ReportResults, finite

COMPRESSION_CSV = Path("cryoet_benchmarks", "cryoet_benchmark.csv")
CHUNKING_CSV = Path("chunking_benchmarks", "chunking_results.csv")
ACCESS_CSV = Path("access_patterns", "access_results.csv")


def _cell(value, factor=1):
    """A CSV cell: asv's value (times ``factor``), or empty when skipped or failed."""
    if not finite(value):
        return ""
    return value * factor if factor != 1 else value


def _derived(func, *values):
    return func(*values) if all(finite(v) for v in values) else ""


def codec_label(codec: str) -> str:
    """The method's name in tables and figures, e.g. ``"Blosc-Zstd"``."""
    return CODECS[codec].label if codec in CODECS else str(codec)


def pattern_label(pattern: str) -> str:
    """What an access pattern (:func:`zarr_cryoet.store.access.pattern`) reads, e.g. ``"xy"`` → ``"4 random
    XY planes"``, ``"box32"`` → ``"16 boxes of 32³"``, ``"zslabs"`` → ``"whole volume, 16-plane z-slabs"``."""
    name = str(pattern)
    if name in ("xy", "xz", "yz"):
        return f"{access.PLANES_PER_AXIS} random {name.upper()} planes"
    if name.startswith("box") and name[3:].isdigit():
        return f"{access.BOXES} boxes of {name[3:]}³"
    if name == "zslabs":
        return f"whole volume, {access.SLAB}-plane z-slabs"
    return name


def _grid(results: ReportResults, module: str, *names: str):
    """``(env, cell)`` per table row of ``module``: data, then environment, format, and ``names`` in order.

    ``cell`` holds the parameters (``data``, ``zarr_format`` and ``names``) that pick
    the row's value of each benchmark of the module.
    """
    for data in results.choices(module, "data"):
        for env in results.envs:
            for fmt in results.choices(module, "zarr_format"):
                for combo in itertools.product(*(results.choices(module, name) for name in names)):
                    yield env, {"data": data, **dict(zip(names, combo)), "zarr_format": fmt}


def _measured(results: ReportResults, env: Env, family, cell: dict) -> dict:
    """The family's CSV columns taken straight from its benchmarks, for one cell; every time column ``*_ms``
    followed by its interval (:func:`interval_columns`)."""
    row = {}
    for col, bench, factor in family.columns:
        row[col] = _cell(results.value(env, bench, **cell), factor)
        if col.endswith("_ms"):
            row.update(interval_columns(results.estimate(env, bench, **cell), col.removesuffix("_ms")))
    return row


def interval_columns(found, prefix: str) -> dict:
    """``<prefix>_low_ms``, ``<prefix>_high_ms`` and ``<prefix>_processes`` of one time (an
    :class:`~zarr_cryoet.stats.estimate.Estimate`, or None: empty): its interval's ends in ms (where 90 % of
    other runs land where the machine has a measured band, else the fastest and slowest process's minimum) and its
    processes."""
    if found is None:
        return {f"{prefix}_low_ms": "", f"{prefix}_high_ms": "", f"{prefix}_processes": ""}
    return {f"{prefix}_low_ms": found.low * 1e3, f"{prefix}_high_ms": found.high * 1e3,
            f"{prefix}_processes": found.processes}


def has_interval(found) -> bool:
    """Whether a time has an interval to draw: a measured band, or the range of two processes or more."""
    return found is not None and (found.calibrated or found.processes > 1)


def whiskers_text(found, of: str = "") -> str:
    """What a figure's whiskers drawn from the estimates ``found`` (``of`` a kind of time) are: ``90 % of runs`` (a
    measured band: where 90 % of other runs of the commit on this machine land) or ``range of n processes``
    (their fastest to slowest process); empty where none is drawn."""
    found = [e for e in found if has_interval(e)]
    kinds = sorted({f"{e.band.coverage * 100:.0f} % of runs" for e in found if e.calibrated})
    counts = sorted({e.processes for e in found if not e.calibrated})
    kinds += [f"range of {' or '.join(map(str, counts))} processes"] if counts else []
    return f"{of}whiskers: " + ", else ".join(kinds) if kinds else ""


def compression_rows(results: ReportResults) -> list[dict]:
    """One row per codec × zarr version × format (× data) of the compression benchmarks."""
    rows = []
    for env, cell in _grid(results, COMPRESSION.module, "codec"):
        raw = {col: results.value(env, bench, **cell) for col, bench, _ in COMPRESSION.columns}
        row = {"method": codec_label(cell["codec"]), "codec": cell["codec"], "zarr_version": env.zarr_version,
               "zarr_format": cell["zarr_format"], **_measured(results, env, COMPRESSION, cell)}
        row["size_mb"] = _derived(lambda b: b / 1e6, raw["stored_bytes"])
        row["savings_pct"] = _derived(lambda r: (1 - 1 / r) * 100, raw["compression_ratio"])
        row.update(_versus_limit(results, env, cell["data"], write_x_raw=raw["write_ms"], read_x_raw=raw["read_ms"]))
        row.update(results.context(env, cell["data"]))
        rows.append(row)
    return rows


def chunking_rows(results: ReportResults) -> list[dict]:
    """One row per chunk shape × zarr version × format (× data) of the chunking benchmarks."""
    rows = []
    for env, cell in _grid(results, CHUNKING.module, "chunks"):
        row = {"chunks": cell["chunks"], "zarr_version": env.zarr_version, "zarr_format": cell["zarr_format"],
               **_measured(results, env, CHUNKING, cell)}
        row.update(_versus_limit(results, env, cell["data"], write_x_raw=results.value(env, CHUNKING.write, **cell),
                                 full_read_x_raw=results.value(env, CHUNKING.full_read, **cell)))
        row.update(results.context(env, cell["data"]))
        rows.append(row)
    return rows


def _versus_limit(results: ReportResults, env: Env, data, **times) -> dict:
    """``<op>_x_raw``: a zarr time divided by the raw-file time of the same bytes (1.0 = the limit).

    Keyword names ending in ``write_x_raw`` are divided by the raw write,
    the others by the raw read. Empty where either time is missing.
    """
    limits = {"write": results.value(env, LIMITS.write, data=data), "read": results.value(env, LIMITS.read, data=data)}
    return {name: _derived(lambda t, limit: t / limit, value, limits["write" if "write" in name else "read"])
            for name, value in times.items()}


def selected_bytes(results: ReportResults, data) -> dict:
    """Bytes each access pattern selects from the volume ``data`` names ({} without its provenance)."""
    from zarr_cryoet.store.access import pattern as pattern_selections
    from zarr_cryoet.store.access import selected_voxels

    volume = results.volume(data)
    if volume is None:
        return {}
    return {p: selected_voxels(pattern_selections(p, volume.shape), volume.shape) * volume.itemsize
            for p in results.choices(ACCESS.module, "pattern")}


def volume_bytes(results: ReportResults, data) -> int | None:
    """Uncompressed bytes of the volume ``data`` names, or None without its provenance."""
    volume = results.volume(data)
    return volume.nbytes if volume is not None else None


def access_rows(results: ReportResults) -> list[dict]:
    """One row per layout × pattern × zarr version × format: time, GETs, bytes fetched, and the limit.

    ``read_x_raw`` divides the pattern's read time by the time the raw-file
    read (the limits family's raw read) takes for the same number of bytes.
    ``remote_<L>ms_read_ms`` is the same read over HTTP with L ms added to every
    request (the access family's remote read; empty for patterns it does not time).
    """
    rows = []
    latencies = results.choices(ACCESS.module, "latency_ms")
    selected = {data: selected_bytes(results, data) for data in results.choices(ACCESS.module, "data")}
    for env, cell in _grid(results, ACCESS.module, "chunks", "pattern"):
        data, pattern = cell["data"], cell["pattern"]
        row = {"chunks": cell["chunks"], "pattern": pattern, "zarr_version": env.zarr_version,
               "zarr_format": cell["zarr_format"], **_measured(results, env, ACCESS, cell)}
        row["bytes_selected"] = selected[data].get(pattern, "")
        row["read_x_raw"] = _derived(lambda t, r, b, v: t / (r * b / v), results.value(env, ACCESS.read, **cell),
                                     results.value(env, LIMITS.read, data=data),
                                     row["bytes_selected"] or math.nan, volume_bytes(results, data) or math.nan)
        for latency in latencies:
            row[ACCESS.remote_column(latency)] = _cell(results.value(env, ACCESS.remote, **cell, latency_ms=latency),
                                                       1000)
        row.update(results.context(env, data))
        rows.append(row)
    return rows


def param_order(name: str):
    return {"data": 0, "codec": 1, "chunks": 2, "zarr_format": 9}.get(name, 5), name


def write_csv(rows: list[dict], path: Path) -> Path:
    """Write ``rows`` (dicts with the same keys, in column order) as a CSV file at ``path``; the path."""
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
