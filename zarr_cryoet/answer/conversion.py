"""``recommend``'s lines on the data engineer's job: converting a collection, what it costs, and the viewer's first view.

From the conversion tier (``benchmarks/conversion.py``: tomograms per hour to S3 and to local disk, on one and two
dask workers; requests, bytes and objects per tomogram; the requests each use case's read costs) and the multiscale
tier (``benchmarks/multiscale.py``: a viewer's first view). Money comes from those counts and the one price table
(:mod:`zarr_cryoet.store.pricing`). Every rate carries its interval and process count, inverted from the timing's.
"""

from __future__ import annotations

from zarr_cryoet.asv.results import ReportResults, finite
from zarr_cryoet.report import conversion as tables
from zarr_cryoet.report.conversion import CONVERT, FIRST_VIEW, READS, TRAFFIC
from zarr_cryoet.stats.estimate import Estimate
from zarr_cryoet.store import pricing

PORTAL = ("256x256x256", "blosc-lz4")
#: the use cases whose reads are priced, and how the answer names them
PRICED_READS = {"viewer": "a viewer's first view", "xy": "an XY plane", "box32": "16 particle boxes of 32³",
                "full": "the whole volume"}


def label(chunks: str, codec: str) -> str:
    """The report's layout label, and whether it is the portal's own layout."""
    return tables.label(chunks, codec) + (" (the portal's)" if (chunks, codec) == PORTAL else "")


def rate_text(estimate: Estimate, tomograms: int) -> str:
    """Tomograms per hour from a conversion's time, with the time's interval turned into rates (``n`` processes)."""
    rate, low, high = tables.per_hour(estimate, tomograms)
    if estimate.processes < 2 and not estimate.calibrated:
        return f"{rate:,.0f} tomograms per hour (n={estimate.processes})"
    spread = f"{low:,.0f}–{high:,.0f}"
    interval = f"[{spread}, n={estimate.processes}]" if estimate.calibrated else \
        f"(range {spread}, n={estimate.processes})"
    return f"{rate:,.0f} tomograms per hour {interval}"


def _cells(results: ReportResults, env, benchmark: str, **fixed) -> list[tuple[dict, Estimate]]:
    out = []
    names = results.param_names.get(benchmark, ())
    for (env_name, key, combo), _ in results.values.items():
        if env_name != env.name or key != benchmark:
            continue
        params = dict(zip(names, combo))
        if all(params.get(k) == v for k, v in fixed.items()):
            found = results.estimate(env, benchmark, **params)
            if found is not None:
                out.append((params, found))
    return out


def conversion_lines(results: ReportResults, env, prices: pricing.Prices | None = None) -> list[str]:
    """The conversion line (tomograms per hour to S3 per layout, how it scales with workers) and the cost lines."""
    if not results.has("conversion"):
        return []
    prices = prices or pricing.load()
    lines = []
    timed = _cells(results, env, CONVERT)
    data = timed[0][0]["data"] if timed else None
    parts = []
    for target, where in (("local", "to local disk"), ("s3", "to S3 (20 ms per request, 1 Gbit/s)")):
        here = [(p, e) for p, e in timed if p["target"] == target]
        if not here:
            continue
        most = max(int(p["workers"]) for p, _ in here)
        ranked = sorted(((p, e) for p, e in here if int(p["workers"]) == most), key=lambda c: c[1].value)
        parts.append(f"{where} on {most} worker{'s' if most != 1 else ''}: "
                     + ", ".join(f"{label(p['chunks'], p['codec'])} {rate_text(e, most)}" for p, e in ranked))
    if parts:
        lines.append("Converting a collection (MRC → OME-Zarr levels 0/1/2 by ome-zarr, one tomogram per "
                     "dask.distributed worker): " + "; ".join(parts) + f"; zarr {env.zarr_version}, {data}.")
    local = {int(p["workers"]): e for p, e in timed if p["target"] == "local" and (p["chunks"], p["codec"]) == PORTAL}
    if {1, 2} <= set(local):
        speedup = (2 / local[2].value) / (1 / local[1].value)
        lines.append(f"Workers, to local disk, {label(*PORTAL)}: one {rate_text(local[1], 1)}, two "
                     f"{rate_text(local[2], 2)} ({speedup:.2f}× the throughput of one; a worker per core here); "
                     f"zarr {env.zarr_version}.")
    # "fastest to convert" among the layouts timed alike: on the target and workers where most layouts were timed
    series = {}
    for p, e in timed:
        series.setdefault((p["target"], int(p["workers"])), {})[(p["chunks"], p["codec"])] = e
    widest = max(series, key=lambda k: (len(series[k]), k[0] == "local", k[1]), default=None)
    cost = cost_line(results, env, prices, series.get(widest, {}),
                     f"to {'local disk' if widest and widest[0] == 'local' else 'S3'}")
    if cost:
        lines.append(cost)
    reads = read_cost_line(results, env, prices)
    if reads:
        lines.append(reads)
    return lines


def cost_line(results: ReportResults, env, prices: pricing.Prices, times: dict, where: str = "") -> str | None:
    """Per 1000 tomograms: storage a month and the requests of writing them, per layout; cheapest against fastest."""
    rows = []
    for chunks in results.choices("conversion", "chunks"):
        for codec in results.choices("conversion", "codec"):
            counted = tables.per_tomogram(results, env, _data(results, TRAFFIC), chunks, codec)
            if counted is None:
                continue
            storage, writing = tables.cost(counted, prices)
            rows.append(((chunks, codec), counted, storage, writing))
    if not rows:
        return None
    parts = [f"{label(*key)} ${storage:,.2f} a month ({c['stored_bytes'] / 1e6:.0f} MB, {c['objects']:.0f} objects "
             f"each) + ${writing:,.2f} once ({sum(c['requests'].values()):.0f} requests each, "
             f"{c['peak_bytes'] / 2 ** 20:,.0f} MiB peak per worker)" for key, c, storage, writing in rows]
    text = (f"Cost per 1000 tomograms on S3 ({prices.citation}; store/s3_prices.json), zarr {env.zarr_version}: "
            + "; ".join(parts) + ".")
    cheapest = min(rows, key=lambda r: r[2])  # to keep: a month of storage outlasts the one-off writes
    timed = {k: e for k, e in times.items() if any(r[0] == k for r in rows)}
    if timed:
        fastest = min(timed, key=lambda k: timed[k].value)
        if fastest == cheapest[0]:
            text += f" The cheapest to keep is also the fastest to convert: {label(*fastest)}."
        else:
            fast_storage = next(r[2] for r in rows if r[0] == fastest)
            text += (f" The cheapest to keep, {label(*cheapest[0])}, is not the fastest to convert, {label(*fastest)}, "
                     f"which costs {fast_storage / cheapest[2] - 1:+.1%} a month to keep")
            if cheapest[0] in timed:
                text += f" and converts {timed[cheapest[0]].value / timed[fastest].value:.2f}× as fast ({where})"
            text += "."
    return text


def read_cost_line(results: ReportResults, env, prices: pricing.Prices) -> str | None:
    """Per 1000 reads of each use case from the converted image: requests, and the transfer out of the region."""
    parts = []
    data = _data(results, READS)
    for workload, text in PRICED_READS.items():
        cells = []
        for chunks in results.choices("conversion", "chunks"):
            for codec in results.choices("conversion", "codec"):
                fixed = {"data": data, "chunks": chunks, "codec": codec, "workload": workload}
                n = results.value(env, f"{READS}.track_requests", **fixed)
                fetched = results.value(env, f"{READS}.track_bytes_fetched", **fixed)
                if finite(n) and finite(fetched):
                    cells.append((prices.requests({"GET": 1000 * n}), prices.transfer_out(1000 * fetched),
                                  label(chunks, codec), n))
        if cells:
            cells.sort()
            parts.append(f"{text}: " + ", ".join(f"{name} ${req:,.3f} + ${out:,.2f} out ({n:.0f} request{'s' if n != 1 else ''})"
                                                  for req, out, name, n in cells))
    if not parts:
        return None
    return ("Per 1000 reads from S3 (requests + transfer out of the region, where the reader is outside it), "
            f"zarr {env.zarr_version}: " + "; ".join(parts) + ".")


def multiscale_line(results: ReportResults, env) -> str | None:
    """A viewer's first view (open, the coarsest level's XY plane, level 0's), locally and from S3, fastest first."""
    if not results.has("multiscale"):
        return None
    parts = []
    for target, where in (("local", "local disk"), ("s3", "S3")):
        cells = sorted(_cells(results, env, FIRST_VIEW, target=target), key=lambda c: c[1].value)
        if cells:
            parts.append(f"{where}: " + ", ".join(f"{label(p['chunks'], p['codec'])} {e}" for p, e in cells))
    if not parts:
        return None
    data = next(iter(results.choices("multiscale", "data")), "")
    return ("Multiscale viewer's first view (open the image, the coarsest level's middle XY plane, then level 0's; "
            "levels written by ome-zarr), " + "; ".join(parts) + f"; zarr {env.zarr_version}, {data}, every core.")


def _data(results: ReportResults, prefix: str):
    return next(iter(results.choices(prefix.partition(".")[0], "data")), None)
