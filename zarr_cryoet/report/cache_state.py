"""Warm against cold page cache (benchmarks/cold.py): what storage costs beside decoding, per layout and read.

One row per release, data, layout and read: the warm and the cold time, each with its interval and processes
(:func:`~zarr_cryoet.report.tables.interval_columns`), the difference (the storage's share: cold − warm), the ratio
cold ÷ warm, and whether cold is slower, faster or ``~`` (not told apart) by the suite's one comparison rule
(:func:`zarr_cryoet.stats.compare.compare`, warm = A, cold = B), the comparisons of one release adjusted together
(Benjamini–Hochberg): ``p_value``, ``q_value``, ``processes`` (warm v cold) and ``change``. :func:`cold_rows` also
carries the :class:`~zarr_cryoet.stats.compare.Comparison` itself (``comparison``, for the answer's line);
:func:`table_rows` is the CSV without it.
"""

from __future__ import annotations

from pathlib import Path

from zarr_cryoet.asv.families import COLD
from zarr_cryoet.asv.results import ReportResults
from zarr_cryoet.report.tables import interval_columns
from zarr_cryoet.stats.compare import adjust, compare

MODULE = COLD.module
COLD_CSV = Path("storage", "cold_cache.csv")
READS = {"full": COLD.full_read, "xy": COLD.slice_xy}


def cold_rows(results: ReportResults) -> list[dict]:
    """Warm and cold side by side for every cell the run measured both ways, with their comparison."""
    rows = []
    for env in results.envs:
        found = []
        for data in results.choices(MODULE, "data"):
            for chunks in results.choices(MODULE, "chunks"):
                for fmt in results.choices(MODULE, "zarr_format"):
                    for read, benchmark in READS.items():
                        cell = {"data": data, "chunks": chunks, "zarr_format": fmt}
                        warm, cold = (results.estimate(env, benchmark, cache=c, **cell) for c in ("warm", "cold"))
                        if warm is None or cold is None or not warm.value:
                            continue
                        found.append(({
                            "read": read, "chunks": chunks, "zarr_format": fmt,
                            "warm_ms": warm.value * 1e3, **interval_columns(warm, "warm"),
                            "cold_ms": cold.value * 1e3, **interval_columns(cold, "cold"),
                            "storage_ms": (cold.value - warm.value) * 1e3,
                            "cold_over_warm": cold.value / warm.value}, data, compare(warm, cold)))
        for (row, data, _), c in zip(found, adjust([c for *_, c in found])):
            rows.append({**row, "p_value": c.p, "q_value": c.q, "processes": f"{c.processes[0]} v {c.processes[1]}",
                         "change": c.verdict, "comparison": c, **results.context(env, data)})
    return rows


def table_rows(results: ReportResults) -> list[dict]:
    """:func:`cold_rows` as the CSV writes them: without the ``comparison`` object."""
    return [{k: v for k, v in row.items() if k != "comparison"} for row in cold_rows(results)]
