"""Reading from object storage (benchmarks/object_storage.py): every client's time and traffic per layout and workload.

Tables (CSV under ``storage/``):

* ``object_storage.csv``: per release, data, layout, client and workload (``open`` included) the time over the
  default network with its interval (``low_ms``–``high_ms``) and processes, and the traffic counted at the proxy: requests (all kinds), read
  amplification (bytes fetched ÷ bytes selected) and the most requests in flight;
* ``object_storage_concurrency.csv``: the full read of 32³ chunks per client and requests in flight (the sweep);
* ``object_storage_open.csv``: opening the portal's OME-Zarr image, with and without consolidated metadata.

:func:`zarr_cryoet.answer.notes.object_storage_lines` gives the README's answer its object-storage lines: the fastest client per workload and
layout (``~`` where the comparison rule cannot tell a client from the best), and what consolidated metadata
saves.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from zarr_cryoet.asv.families import OBJECT_STORAGE
from zarr_cryoet.asv.results import ReportResults, finite
from zarr_cryoet.store.stores import implied_format, layout_label

MODULE = OBJECT_STORAGE.module
READS_CSV = Path("storage", "object_storage.csv")
SWEEP_CSV = Path("storage", "object_storage_concurrency.csv")
OPEN_CSV = Path("storage", "object_storage_open.csv")
NETWORK = "20ms-1gbit"
#: what the default network is, in words
NETWORK_TEXT = "S3 API (moto) on loopback, 20 ms per request, a 1 Gbit/s link"
WORKLOAD_TEXT = {"xy": "XY plane", "orthogonal": "three orthogonal planes", "box32": "16 boxes of 32³",
                 "box64": "16 boxes of 64³", "full": "full read", "open": "open the array"}


def _time_columns(found) -> dict:
    """A timing's CSV columns: its value, its interval's ends (ms) and its processes; empty without a time."""
    if found is None:
        return {"ms": "", "low_ms": "", "high_ms": "", "processes": ""}
    return {"ms": found.value * 1e3, "low_ms": found.low * 1e3, "high_ms": found.high * 1e3,
            "processes": found.processes}


def _traffic(results, env, cell: dict, workload: str) -> dict:
    out = {}
    for column, metric in (("requests", "track_requests"), ("amplification", "track_read_amplification"),
                           ("max_in_flight", "track_max_in_flight")):
        value = results.value(env, OBJECT_STORAGE.traffic(metric), **cell, workload=workload)
        out[column] = value if finite(value) else ""
    return out


def read_rows(results: ReportResults) -> list[dict]:
    """One row per release, data, layout, client and workload that has a time or a count."""
    rows = []
    workloads = results.choices(MODULE, "workload")
    for env in results.envs:
        for data in results.choices(MODULE, "data"):
            for chunks in results.choices(MODULE, "chunks"):
                fmt = implied_format(chunks)
                for client in results.choices(MODULE, "client"):
                    cell = {"data": data, "chunks": chunks, "client": client}
                    for workload in workloads:
                        time = (None if workload == "open" else
                                results.estimate(env, OBJECT_STORAGE.read(workload), **cell, network=NETWORK))
                        traffic = _traffic(results, env, cell, workload)
                        if time is None and not any(v != "" for v in traffic.values()):
                            continue
                        rows.append({"chunks": chunks, "zarr_format": fmt, "client": client, "workload": workload,
                                     "network": NETWORK, **_time_columns(time), **traffic,
                                     **results.context(env, data)})
    return rows


def _per_client(results: ReportResults, param: str):
    """(env, data, client, value of ``param``) for every cell of the tier's grid, in table order."""
    for env in results.envs:
        for data in results.choices(MODULE, "data"):
            for client in results.choices(MODULE, "client"):
                for value in results.choices(MODULE, param):
                    yield env, data, client, value


def sweep_rows(results: ReportResults) -> list[dict]:
    rows = []
    for env, data, client, concurrency in _per_client(results, "concurrency"):
        time = results.estimate(env, OBJECT_STORAGE.concurrency, data=data, client=client, concurrency=concurrency)
        if time:
            rows.append({"client": client, "concurrency": concurrency, **_time_columns(time),
                         **results.context(env, data)})
    return rows


def open_rows(results: ReportResults) -> list[dict]:
    rows = []
    for env, data, client, metadata in _per_client(results, "metadata"):
        cell = {"data": data, "metadata": metadata, "client": client}
        time = results.estimate(env, OBJECT_STORAGE.open, **cell, network=NETWORK)
        requests = results.value(env, OBJECT_STORAGE.image_requests, **cell)
        if time is not None or finite(requests):
            rows.append({"client": client, "metadata": metadata, **_time_columns(time),
                         "requests": requests if finite(requests) else "", **results.context(env, data)})
    return rows


#: each client in its engine's colour
CLIENT_ENGINES = {"zarr-python+obstore": "zarr-python", "zarr-python+s3fs": "zarr-python",
                  "zarr-python-fused+obstore": "zarr-python-fused", "zarrs+obstore": "zarrs", "tensorstore": "tensorstore"}
FIGURE = Path("storage", "object_storage.png")


def build_figure(results: ReportResults):
    """One panel per workload: layouts along x, a bar per client with its interval (log time where the panel's
    times span > 20×); the newest zarr release."""
    env = results.newest
    data = next(iter(results.choices(MODULE, "data")), None)
    cells = [{"workload": workload, "chunks": chunks, "zarr_format": implied_format(chunks), "client": client,
              "found": results.estimate(env, OBJECT_STORAGE.read(workload), data=data, chunks=chunks, client=client,
                                        network=NETWORK)}
             for workload in WORKLOAD_TEXT for chunks in results.choices(MODULE, "chunks")
             for client in results.choices(MODULE, "client")]
    return client_figure(cells, f"Reads from object storage\n{NETWORK_TEXT}",
                         results.run_label(data, zarr=env.zarr_version))


def client_figure(cells: list[dict], what: str, run_label: str):
    """The object-storage figures' one drawing (this tier's at 128³, the portal-size tier's): one panel per workload
    (``cells``' ``workload``, in :data:`WORKLOAD_TEXT`'s order) with a time, layouts (``chunks``, ``zarr_format``)
    along x, a bar per ``client`` (its engine's colour, s3fs hatched) with the whiskers of its estimate ``found``
    where it has an interval (the title says what they are), a log time axis; ``run_label`` its footer."""
    from zarr_cryoet.report.bar_axes import layout_key, whiskers
    from zarr_cryoet.report.style import (ENGINE_COLOURS, STATISTIC_LABEL, add_run_label, label_axis, log_if_wide,
                                          new_figure)
    from zarr_cryoet.report.tables import whiskers_text

    cells = [c for c in cells if c["found"] is not None]
    workloads = [w for w in WORKLOAD_TEXT if any(c["workload"] == w for c in cells)]
    workloads += list(dict.fromkeys(c["workload"] for c in cells if c["workload"] not in workloads))
    found = [c["found"] for c in cells]
    n = max(len(workloads), 1)
    width_in = max(4.8 * n, 9)
    fig, axes = new_figure(1, n, figsize=(width_in, 5.6), squeeze=False,
                           title="\n".join(textwrap.fill(line, int(width_in * 9.5)) for line in what.split("\n"))
                                 + f"\nlower is faster; {STATISTIC_LABEL}"
                                 + (f"; {whiskers_text(found)}" if whiskers_text(found) else ""))
    clients = [c for c in CLIENT_ENGINES if any(cell["client"] == c for cell in cells)]
    clients += list(dict.fromkeys(c["client"] for c in cells if c["client"] not in clients))
    width = 0.8 / max(len(clients), 1)
    for ax, workload in zip(axes[0], workloads):
        here = [c for c in cells if c["workload"] == workload]
        layouts = sorted(dict.fromkeys((c["zarr_format"], c["chunks"]) for c in here),
                         key=lambda key: layout_key(key[1], key[0]))
        drawn = [c["found"] for c in here]
        for i, client in enumerate(clients):
            xs, ys, estimates = [], [], []
            for j, layout in enumerate(layouts):
                match = [c["found"] for c in here
                         if (c["zarr_format"], c["chunks"]) == layout and c["client"] == client]
                if match:
                    xs.append(j + (i - (len(clients) - 1) / 2) * width)
                    ys.append(match[0].value * 1e3)
                    estimates.append(match[0])
            ax.bar(xs, ys, width=width, label=client, color=ENGINE_COLOURS.get(CLIENT_ENGINES.get(client), "#7f7f7f"),
                   hatch="///" if "s3fs" in client else "", edgecolor="#333333", linewidth=0.4)
            whiskers(ax, xs, ys, estimates)
        log = log_if_wide(ax, [e.value * 1e3 for e in drawn] + [e.high * 1e3 for e in drawn])
        ax.set_xticks(range(len(layouts)), [layout_label(c, f, sep="\n") for f, c in layouts], fontsize=8)
        ax.set_title(WORKLOAD_TEXT.get(workload, workload) + (" (log scale)" if log else ""))
        label_axis(ax, y="time (ms)")
    if not workloads:
        axes[0][0].set_axis_off()
        axes[0][0].text(0.5, 0.5, "no results", transform=axes[0][0].transAxes, ha="center", color="#7f7f7f")
    else:  # beside the panels: over the bars it would hide some
        handles, labels = axes[0][0].get_legend_handles_labels()
        fig.legend(handles, labels, title="client", loc="outside lower center", ncols=len(labels), fontsize=9)
    return add_run_label(fig, run_label)
