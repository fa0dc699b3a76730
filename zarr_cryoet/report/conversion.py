"""The conversion tier's table and figure: how many tomograms an hour become OME-Zarr, what they cost, the first view.

From ``benchmarks/conversion.py`` (``Convert.time_convert``: ``workers`` tomograms on ``workers`` dask workers, to
local disk or S3; ``Traffic``: per tomogram converted to S3, requests by kind, bytes and objects stored, the worker's
peak memory) and ``benchmarks/multiscale.py`` (``FirstView.time_first_view``: a viewer's first view, locally and
from S3). Money comes from those counts and the one price table (:mod:`zarr_cryoet.store.pricing`).

* ``conversion/conversion.csv``: per layout (chunks, codec) and target/workers: tomograms per hour with the
  interval of the conversion's time turned into rates (:func:`per_hour`), the first view's time and, on the S3
  rows, what one tomogram left and asked for and the cost of 1000 of them (storage a month, the writes once);
* ``conversion/conversion_reads.csv``: per layout and use case read from the converted image on S3
  (``Reads``): requests and bytes fetched per read, and what 1000 reads cost (requests, transfer out of the region);
* ``conversion/conversion.png``: tomograms per hour per layout (to S3 on the most workers measured, and the local
  bars of each layout measured on several worker counts: how it scales), the cost per 1000 tomograms, the first
  view per layout; every time with its interval's whiskers, where it has one.

Layouts, targets and worker counts come from the results; none is listed here.
"""

from __future__ import annotations

from pathlib import Path

from zarr_cryoet.asv.results import Env, ReportResults, finite
from zarr_cryoet.stats.estimate import Estimate
from zarr_cryoet.store import pricing
from zarr_cryoet.store.stores import implied_format, layout_label

MODULE = "conversion"
CONVERT = "conversion.Convert.time_convert"
TRAFFIC = "conversion.Traffic"
FIRST_VIEW = "multiscale.FirstView.time_first_view"
CSV = Path("conversion", "conversion.csv")
READS_CSV = Path("conversion", "conversion_reads.csv")
READS = "conversion.Reads"
FIGURE = Path("conversion", "conversion.png")
#: the codec every layout is written with unless its label says otherwise
DEFAULT_CODEC = "blosc-zstd"
#: the request kinds ``Traffic`` counts (the price table's names) → the name of its ``track_*_requests``
REQUEST_TRACKS = {"PUT": "put", "POST": "post", "LIST": "list", "GET": "get", "HEAD": "head", "other": "other"}
TARGETS = {"s3": "S3", "local": "local disk"}
SECONDS_PER_HOUR = 3600


def has_results(results: ReportResults) -> bool:
    """Whether the results hold any of the tier (``conversion`` or ``multiscale``): the section's condition."""
    return any(_cells(results, env, name) for env in results.envs for name in (CONVERT, FIRST_VIEW)) or \
        any(k.startswith(TRAFFIC + ".") for (_, k, _), v in results.values.items() if finite(v))


def label(chunks: str, codec: str) -> str:
    """``256³ v2 blosc-lz4``, ``64³ in 128³ v3``: the layout as the other figures name it, with the codec where it is
    not :data:`DEFAULT_CODEC`."""
    text = layout_label(chunks, implied_format(chunks))
    return text if codec == DEFAULT_CODEC else f"{text} {codec}"


def per_hour(estimate: Estimate, tomograms: int) -> tuple[float, float, float]:
    """Tomograms per hour from a conversion's time: (rate, low, high), the time's interval inverted (its slow end is
    the low rate)."""
    def rate(seconds: float) -> float:
        return tomograms * SECONDS_PER_HOUR / seconds

    return rate(estimate.value), rate(estimate.high), rate(estimate.low)


def _cells(results: ReportResults, env: Env, benchmark: str) -> list[tuple[dict, Estimate]]:
    names = results.param_names.get(benchmark, ())
    return [(dict(zip(names, combo)), found) for (env_name, key, combo), found in results.estimates.items()
            if env_name == env.name and key == benchmark]


def per_tomogram(results: ReportResults, env: Env, data, chunks: str, codec: str) -> dict | None:
    """What converting one tomogram of this layout to S3 left and asked for (``Traffic``), or None where not counted."""
    fixed = {"data": data, "chunks": chunks, "codec": codec}
    stored = results.value(env, f"{TRAFFIC}.track_stored_bytes", **fixed)
    if not finite(stored):
        return None
    requests = {kind: results.value(env, f"{TRAFFIC}.track_{name}_requests", **fixed)
                for kind, name in REQUEST_TRACKS.items()}
    return {"stored_bytes": stored, "objects": results.value(env, f"{TRAFFIC}.track_objects", **fixed),
            "peak_bytes": results.value(env, f"{TRAFFIC}.track_peak_memory", **fixed),
            "requests": {k: v for k, v in requests.items() if finite(v)}}


def cost(counted: dict, prices: pricing.Prices, tomograms: int = 1000) -> tuple[float, float]:
    """(storage a month, the writes once) of ``tomograms`` tomograms of one layout, from what one left and asked for."""
    return (prices.storage(tomograms * counted["stored_bytes"]),
            prices.requests({k: tomograms * n for k, n in counted["requests"].items()}))


def _layouts(results: ReportResults, env: Env) -> list[tuple]:
    """Every (data, chunks, codec) of the tier in this environment, in the figures' order along x."""
    from zarr_cryoet.report.bar_axes import layout_key

    seen = {}
    for (env_name, key, combo), value in results.values.items():
        if env_name == env.name and key.startswith((f"{MODULE}.", FIRST_VIEW.partition(".")[0] + ".")) \
                and finite(value):
            params = dict(zip(results.param_names[key], combo))
            if "chunks" in params and "codec" in params:
                seen.setdefault((params.get("data"), params["chunks"], params["codec"]), None)
    return sorted(seen, key=lambda k: (str(k[0]), layout_key(k[1], implied_format(k[1])), k[2]))


def rows(results: ReportResults, prices: pricing.Prices | None = None) -> list[dict]:
    """One row per layout and target/workers of each environment (``workers`` empty on a row with no conversion
    time: a first view, or the counts of a layout whose conversion was not timed; every cell not measured is empty)."""
    prices = prices or pricing.load()
    out = []
    for env in results.envs:
        converts = {(p.get("data"), p["chunks"], p["codec"], p["target"], int(p["workers"])): e
                    for p, e in _cells(results, env, CONVERT)}
        views = {(p.get("data"), p["chunks"], p["codec"], p["target"]): e for p, e in _cells(results, env, FIRST_VIEW)}
        for data, chunks, codec in _layouts(results, env):
            counted = per_tomogram(results, env, data, chunks, codec)
            keys = sorted({(t, w) for (d, c, k, t, w) in converts if (d, c, k) == (data, chunks, codec)})
            for target in {t for (d, c, k, t) in views if (d, c, k) == (data, chunks, codec)} | \
                    ({"s3"} if counted else set()):
                if not any(t == target for t, _ in keys):
                    keys.append((target, None))
            for target, workers in keys:
                row = {**results.context(env, data), "chunks": chunks, "codec": codec,
                       "zarr_format": implied_format(chunks), "layout": label(chunks, codec), "target": target,
                       "workers": "" if workers is None else workers}
                row.update(_rate_columns(converts.get((data, chunks, codec, target, workers)), workers))
                row.update(_time_columns("first_view", views.get((data, chunks, codec, target))))
                row.update(_traffic_columns(counted if target == "s3" else None, prices))
                out.append(row)
    return out


def _rate_columns(found: Estimate | None, workers) -> dict:
    if found is None:
        return dict.fromkeys(("convert_s", "tomograms_per_hour", "tomograms_per_hour_low", "tomograms_per_hour_high",
                              "processes"), "")
    rate, low, high = per_hour(found, int(workers))
    return {"convert_s": found.value, "tomograms_per_hour": rate, "tomograms_per_hour_low": low,
            "tomograms_per_hour_high": high, "processes": found.processes}


def _time_columns(name: str, found: Estimate | None) -> dict:
    if found is None:
        return dict.fromkeys((f"{name}_ms", f"{name}_low_ms", f"{name}_high_ms", f"{name}_processes"), "")
    return {f"{name}_ms": found.value * 1e3, f"{name}_low_ms": found.low * 1e3, f"{name}_high_ms": found.high * 1e3,
            f"{name}_processes": found.processes}


def _traffic_columns(counted: dict | None, prices: pricing.Prices) -> dict:
    kinds = [f"{name}_requests" for name in REQUEST_TRACKS.values()]
    names = ("stored_mb_per_tomogram", "objects_per_tomogram", "requests_per_tomogram", *kinds, "peak_memory_mib",
             "storage_per_month_per_1000", "write_per_1000", "currency", "prices")
    if counted is None:
        return dict.fromkeys(names, "")
    storage, writing = cost(counted, prices)
    return {"stored_mb_per_tomogram": counted["stored_bytes"] / 1e6, "objects_per_tomogram": counted["objects"],
            "requests_per_tomogram": sum(counted["requests"].values()),
            **{f"{name}_requests": counted["requests"].get(kind, "") for kind, name in REQUEST_TRACKS.items()},
            "peak_memory_mib": counted["peak_bytes"] / 2 ** 20 if finite(counted["peak_bytes"]) else "",
            "storage_per_month_per_1000": storage, "write_per_1000": writing, "currency": prices.currency,
            "prices": prices.citation}


def read_rows(results: ReportResults, prices: pricing.Prices | None = None) -> list[dict]:
    """One row per layout and use case (``workload``) read from the converted image on S3, per environment."""
    prices = prices or pricing.load()
    names = results.param_names.get(f"{READS}.track_requests", ())
    out = []
    for env in results.envs:
        for (env_name, key, combo), n in results.values.items():
            if env_name != env.name or key != f"{READS}.track_requests" or not finite(n):
                continue
            params = dict(zip(names, combo))
            fetched = results.value(env, f"{READS}.track_bytes_fetched", **params)
            out.append({**results.context(env, params.get("data")), "chunks": params["chunks"],
                        "codec": params["codec"], "zarr_format": implied_format(params["chunks"]),
                        "layout": label(params["chunks"], params["codec"]), "workload": params["workload"],
                        "requests": n, "bytes_fetched": fetched if finite(fetched) else "",
                        "requests_per_1000_reads": prices.requests({"GET": 1000 * n}),
                        "transfer_out_per_1000_reads": prices.transfer_out(1000 * fetched) if finite(fetched) else "",
                        "currency": prices.currency, "prices": prices.citation})
    return out


# --- the figure -----------------------------------------------------------------------------------------------------


def _given(value) -> bool:
    """Whether a cell of :func:`rows` holds a number (not empty)."""
    return value != "" and finite(value)


def _newest_env(results: ReportResults) -> Env | None:
    ran = [env for env in results.envs if _layouts(results, env)]
    return ran[-1] if ran else None  # envs are sorted oldest release first


def build_figure(results: ReportResults, prices: pricing.Prices | None = None):
    """Tomograms per hour, cost per 1000 tomograms and the first view, per layout, of the newest release that ran
    the tier (one data: the first)."""
    from zarr_cryoet.report.panels import keep_panels
    from zarr_cryoet.report.style import STATISTIC_LABEL, add_run_label, new_figure
    from zarr_cryoet.report.tables import has_interval, whiskers_text

    prices = prices or pricing.load()
    env = _newest_env(results)
    table = [r for r in rows(results, prices) if env is not None and r["zarr_version"] == env.zarr_version
             and r["python"] == env.python]
    data = table[0]["data"] if table else None
    table = [r for r in table if r["data"] == data]
    estimates = {"convert": {}, "view": {}}
    if env is not None:
        estimates["convert"] = {(p["chunks"], p["codec"], p["target"], int(p["workers"])): e
                                for p, e in _cells(results, env, CONVERT) if p.get("data") == data}
        estimates["view"] = {(p["chunks"], p["codec"], p["target"]): e for p, e in _cells(results, env, FIRST_VIEW)
                             if p.get("data") == data}
    found = [*estimates["convert"].values(), *estimates["view"].values()]
    drawn = whiskers_text(found)
    title = ("Converting a collection (MRC → OME-Zarr levels 0/1/2, one tomogram per dask worker): throughput, "
             f"cost, a viewer's first view\nprices: {prices.citation}\n{STATISTIC_LABEL}; "
             + (drawn if drawn else "no intervals drawn: one process per time"))
    fig, axes = new_figure(1, 3, figsize=(19.5, 6.4), title=title)
    _throughput_panel(axes[0], table, estimates["convert"], has_interval)
    _cost_panel(axes[1], table, prices)
    _first_view_panel(axes[2], table, estimates["view"])
    keep_panels(fig, axes)
    return add_run_label(fig, results.run_label(data, cores="one core per worker",
                                                zarr=env.zarr_version if env else None))


def _bar(ax, x, value, chunks, *, width=0.7, hatch="", alpha=1.0, fmt="%.0f", interval=None):
    """One bar in its layout's colour (format 3 hatched), its whisker from ``interval`` (low, high) and its label."""
    from zarr_cryoet.report.colours import FORMAT_HATCH, layout_colour

    ax.bar(x, value, width=width, color=layout_colour(chunks),
           alpha=alpha, hatch=FORMAT_HATCH.get(implied_format(chunks), "") + hatch, edgecolor="#333333", linewidth=0.6)
    top = value
    if interval is not None:
        low, high = interval
        ax.errorbar(x, value, yerr=[[value - low], [high - value]], fmt="none", ecolor="#333333", elinewidth=0.8,
                    capsize=2.5)
        top = high
    ax.annotate(fmt % value, (x, top), xytext=(0, 2), textcoords="offset points", ha="center", va="bottom",
                fontsize=8, rotation=90)
    return top


def _finish(ax, ticks, tops, title, ylabel, legend=None):
    from zarr_cryoet.report.bar_axes import headroom
    from zarr_cryoet.report.style import label_axis, log_if_wide

    ax.set_xticks(range(len(ticks)), ticks, rotation=30, ha="right", rotation_mode="anchor", fontsize=9)
    log = log_if_wide(ax, tops)
    ax.set_title(title + (" (log scale)" if log else ""), fontsize=11)
    label_axis(ax, "Layout (chunks, format)", ylabel)
    if not log:
        ax.set_ylim(0, max(tops, default=1) * 1.25)
    if legend:
        headroom(ax, 0.3)
        ax.legend(handles=legend, loc="upper left", fontsize=8)


def _throughput_panel(ax, table, estimates, has_interval):
    """Every timed conversion: grouped by target (local disk first, pale), then workers, then layout."""
    drawn = [r for r in table if _given(r["tomograms_per_hour"])]
    bars = sorted(drawn, key=lambda r: (r["target"] != "local", r["workers"], drawn.index(r)))
    ticks, tops = [], []
    for x, r in enumerate(bars):
        e = estimates[(r["chunks"], r["codec"], r["target"], r["workers"])]
        interval = (r["tomograms_per_hour_low"], r["tomograms_per_hour_high"]) if has_interval(e) else None
        tops.append(_bar(ax, x, r["tomograms_per_hour"], r["chunks"], interval=interval,
                         alpha=1.0 if r["target"] == "s3" else 0.55))
        ticks.append(f"{r['layout']}\n{TARGETS.get(r['target'], r['target'])}, {r['workers']} "
                     f"worker{'s' if r['workers'] != 1 else ''}")
    _finish(ax, ticks, tops, "Tomograms per hour (higher is faster; pale: local disk)", "Tomograms per hour (1/h)")


def _cost_panel(ax, table, prices):
    from matplotlib.patches import Patch

    counted = [r for r in table if r["target"] == "s3" and _given(r["storage_per_month_per_1000"])]
    counted = list({(r["chunks"], r["codec"]): r for r in counted}.values())
    ticks, tops = [], []
    for x, r in enumerate(counted):
        tops.append(_bar(ax, x - 0.2, r["storage_per_month_per_1000"], r["chunks"], width=0.38, fmt="%.2f"))
        tops.append(_bar(ax, x + 0.2, r["write_per_1000"], r["chunks"], width=0.38, fmt="%.2f", alpha=0.5,
                         hatch=".."))
        ticks.append(r["layout"])
    legend = [Patch(facecolor="#9e9e9e", edgecolor="#333333", label="storage, a month"),
              Patch(facecolor="#9e9e9e", edgecolor="#333333", alpha=0.5, hatch="..", label="writing, once")]
    _finish(ax, ticks, tops, "Cost per 1000 tomograms on S3 (counted once)", f"Cost ({prices.currency})",
            legend if counted else None)


def _first_view_panel(ax, table, estimates):
    from matplotlib.patches import Patch

    from zarr_cryoet.report.tables import has_interval

    layouts = list(dict.fromkeys((r["chunks"], r["codec"], r["layout"]) for r in table if _given(r["first_view_ms"])))
    targets = sorted({t for (_, _, t) in estimates}, key=lambda t: (t != "local", t))
    ticks, tops = [], []
    width = 0.8 / max(len(targets), 1)
    for x, (chunks, codec, text) in enumerate(layouts):
        for i, target in enumerate(targets):
            e = estimates.get((chunks, codec, target))
            if e is None:
                continue
            tops.append(_bar(ax, x - 0.4 + width * (i + 0.5), e.value * 1e3, chunks, width=width * 0.95,
                             fmt="%.1f", alpha=1.0 if target == "s3" else 0.55,
                             interval=(e.low * 1e3, e.high * 1e3) if has_interval(e) else None))
        ticks.append(text)
    legend = [Patch(facecolor="#9e9e9e", edgecolor="#333333", alpha=1.0 if t == "s3" else 0.55,
                    label=TARGETS.get(t, t)) for t in targets]
    _finish(ax, ticks, tops, "A viewer's first view (lower is faster)", "Time (ms)", legend if layouts else None)
