"""Warm against cold page cache (benchmarks/cold.py): what storage costs beside decoding, per layout and read.

One row per release, data, layout and read: the warm and the cold time, each with its precision, the
difference (the storage's share: cold − warm) and the ratio with its precision; "differ" only where the
two times' intervals do not overlap.
"""

from __future__ import annotations

from pathlib import Path

from zarr_cryoet.report.precision import differ, ratio_precision, timed
from zarr_cryoet.report.results import ReportResults

MODULE = "cold"
COLD_CSV = Path("storage", "cold_cache.csv")
READS = {"full": "cold.Read.time_read_full", "xy": "cold.Read.time_read_slice_xy"}


def cold_rows(results: ReportResults) -> list[dict]:
    """Warm and cold side by side for every cell the run measured both ways."""
    rows = []
    for env in results.envs:
        for data in results.choices(MODULE, "data"):
            for chunks in results.choices(MODULE, "chunks"):
                for fmt in results.choices(MODULE, "zarr_format"):
                    for read, benchmark in READS.items():
                        cell = {"data": data, "chunks": chunks, "zarr_format": fmt}
                        warm, cold = (timed(results, env, benchmark, cache=c, **cell) for c in ("warm", "cold"))
                        if warm is None or cold is None or not warm.seconds:
                            continue
                        precision = ratio_precision(cold.precision, warm.precision)
                        rows.append({
                            "read": read, "chunks": chunks, "zarr_format": fmt,
                            "warm_ms": warm.seconds * 1e3,
                            "warm_precision_pct": _pct(warm.precision),
                            "cold_ms": cold.seconds * 1e3,
                            "cold_precision_pct": _pct(cold.precision),
                            "storage_ms": (cold.seconds - warm.seconds) * 1e3,
                            "cold_over_warm": cold.seconds / warm.seconds,
                            "ratio_precision_pct": _pct(precision),
                            "differ": "" if differ(cold, warm) is None else differ(cold, warm),
                            **results.context(env, data)})
    return rows


def _pct(fraction: float | None):
    return round(fraction * 100, 1) if fraction is not None else ""
