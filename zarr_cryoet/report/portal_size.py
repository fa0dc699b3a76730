"""The figures the answer rests on: every use case, and the reads from S3, at the portal's size on every core.

``zarr-cryoet recommend`` answers from the realistic-size tier (benchmarks/realistic.py): a portal-sized phantom
(184 × 630 × 630 by default), read on every core. Its two figures, from the newest zarr release that ran the tier:

* ``realistic/realistic_use_cases.png``: one panel per use case (each ``time_read_*`` of every
  ``realistic.UseCases*`` class in the results: the XY plane, the three orthogonal planes, 16 particle boxes of 32³
  and of 64³, the whole volume), a bar per layout (its colour, format 3 hatched) with the whiskers of its interval;
* ``realistic/realistic_object_storage.png``: the XY plane and the whole volume from S3 (every
  ``realistic.ObjectStorage*`` class), a bar per layout and client with its interval
  (:func:`zarr_cryoet.report.object_storage.client_figure`).

Both take whatever layouts, classes and methods the results have (a class added beside ``UseCases``, a layout added
to its grid): nothing here lists them. The intervals are those the answer quotes ("range a–b, n=2", or a measured
band): :meth:`ReportResults.estimate <zarr_cryoet.asv.results.ReportResults.estimate>`.
"""

from __future__ import annotations

import re
from pathlib import Path

from zarr_cryoet.asv.families import REALISTIC
from zarr_cryoet.asv.results import Env, ReportResults
from zarr_cryoet.report.object_storage import NETWORK_TEXT, client_figure
from zarr_cryoet.store.stores import implied_format
from zarr_cryoet.util.versions import version_key

USE_CASES_PNG = Path("realistic", "realistic_use_cases.png")
OBJECT_STORAGE_PNG = Path("realistic", "realistic_object_storage.png")
#: the classes of each figure: every class of the tier whose name starts so (``UseCases``, ``UseCasesV3`` …)
USE_CASES_CLASS = REALISTIC.use_case("").rstrip(".")
OBJECT_STORAGE_CLASS = REALISTIC.object_storage("").rpartition(".")[0]
#: a use case's read by its method's name (after ``time_read_``), in the panels' order; another method is drawn
#: after these, under its own name
READS = {"slice_xy": "XY plane (the viewer)", "orthogonal": "three orthogonal planes",
         "particle_boxes": "16 particle boxes of 32³", "particle_boxes_64": "16 particle boxes of 64³",
         "full": "whole volume"}
_PREFIX = "time_read_"


def timings(results: ReportResults, class_prefix: str) -> dict[Env, list[dict]]:
    """Per environment, every timing of the classes named ``class_prefix…``: ``{"read": method after time_read_,
    "chunks", "zarr_format" (a parameter, else the class's :func:`class_format`, else implied by the chunks),
    "data", "params" (every other parameter), "found": its estimate}``. A class without chunks (``InPlace``: the
    source's own store, on its own network) is not one of these layouts and is left out."""
    out: dict[Env, list[dict]] = {}
    envs = {env.name: env for env in results.envs}
    for (env_name, benchmark, combo), found in results.estimates.items():
        owner, _, method = benchmark.rpartition(".")
        if not (owner.startswith(class_prefix) and method.startswith(_PREFIX)) or env_name not in envs:
            continue
        params = dict(zip(results.param_names[benchmark], combo))
        chunks = params.pop("chunks", None)
        if chunks is None:
            continue
        fmt = params.pop("zarr_format", None)
        fmt = fmt if fmt is not None else class_format(owner.rpartition(".")[2])
        out.setdefault(envs[env_name], []).append(
            {"read": method.removeprefix(_PREFIX), "chunks": chunks, "data": params.pop("data", None),
             "zarr_format": int(fmt) if fmt is not None else implied_format(chunks), "params": params,
             "found": found})
    return out


def class_format(name: str) -> int | None:
    """The zarr format a class fixes by its name (``UseCasesV3``: 3, as :meth:`Realistic.on_format_3
    <zarr_cryoet.asv.families.Realistic.on_format_3>` names it), or None: the format follows the chunks."""
    match = re.search(r"V(\d+)$", name)
    return int(match.group(1)) if match else None


def _newest(found: dict[Env, list[dict]]) -> tuple[Env | None, list[dict], object]:
    """The newest release with timings, its timings of one data (the first), and that data."""
    if not found:
        return None, [], None
    env = max(found, key=lambda e: (version_key(e.zarr_version), version_key(e.python)))
    data = found[env][0]["data"]
    return env, [c for c in found[env] if c["data"] == data], data


def has_use_cases(results: ReportResults) -> bool:
    return bool(timings(results, USE_CASES_CLASS))


def has_object_storage(results: ReportResults) -> bool:
    return bool(timings(results, OBJECT_STORAGE_CLASS))


def _cores(results: ReportResults) -> str:
    """The tier's cores, from what asv recorded about the machine: ``every core (2)``."""
    n = results.machine_info().get("num_cpu")
    return f"every core ({n})" if n else "every core"


def _size(results: ReportResults, data) -> str:
    volume = results.volume(data)
    return f" ({'×'.join(map(str, volume.shape))})" if volume is not None else ""


def build_use_case_figure(results: ReportResults):
    """One panel per use case, a bar per layout with its whiskers; the newest release that ran the tier."""
    from zarr_cryoet.report.bar_axes import layout_bars, layout_key
    from zarr_cryoet.report.style import STATISTIC_LABEL, add_run_label, label_axis, new_figure, log_if_wide
    from zarr_cryoet.report.tables import whiskers_text

    env, cells, data = _newest(timings(results, USE_CASES_CLASS))
    reads = [r for r in READS if any(c["read"] == r for c in cells)]
    reads += sorted({c["read"] for c in cells} - set(reads))
    found = [c["found"] for c in cells]
    ncols = min(max(len(reads), 1), 3)
    nrows = -(-max(len(reads), 1) // ncols)
    where = "at portal size" if str(data).startswith("phantom") else "on the whole volume"
    title = (f"Use cases {where}{_size(results, data)}, {_cores(results)}: time per read, per layout "
             f"(log scale where the layouts span > 20×; lower is faster)\n{STATISTIC_LABEL}"
             + (f"; {whiskers_text(found)}" if whiskers_text(found) else ""))
    fig, axes = new_figure(nrows, ncols, figsize=(6.2 * ncols, 4.6 * nrows + 0.8), squeeze=False, title=title)
    flat = list(axes.flat)
    for ax, read in zip(flat, reads):
        here = [c for c in cells if c["read"] == read]
        layouts = sorted({(c["zarr_format"], c["chunks"], _extra(c)) for c in here},
                         key=lambda key: (layout_key(key[1], key[0]), key[2]))
        values, estimates = [], []
        for fmt, chunks, extra in layouts:
            match = next(c["found"] for c in here if (c["zarr_format"], c["chunks"], _extra(c)) == (fmt, chunks, extra))
            values.append(match.value * 1e3)
            estimates.append(match)
        layout_bars(ax, [(chunks, fmt) for fmt, chunks, _ in layouts], values, found=estimates)
        if any(extra for _, _, extra in layouts):  # a class with other parameters: say which bar is which
            ax.set_xticks(range(len(layouts)), [t.get_text() + (f" {extra}" if extra else "")
                                                for t, (_, _, extra) in zip(ax.get_xticklabels(), layouts)])
        log = log_if_wide(ax, values + [e.high * 1e3 for e in estimates])  # log axes: log_axes' ticks
        ax.set_title(READS.get(read, read.replace("_", " ")) + (" (log scale)" if log else ""))
        label_axis(ax, "Layout (chunks, format)", "Time (ms)")
    for ax in flat[len(reads):]:
        ax.set_axis_off()
    if not reads:
        flat[0].text(0.5, 0.5, f"no {USE_CASES_CLASS} results", transform=flat[0].transAxes, ha="center",
                     color="#7f7f7f")
    return add_run_label(fig, results.run_label(data, cores=_cores(results),
                                                zarr=env.zarr_version if env else None))


def build_object_storage_figure(results: ReportResults):
    """The XY plane and the whole volume from S3 at portal size: a bar per layout and client with its whiskers."""
    env, cells, data = _newest(timings(results, OBJECT_STORAGE_CLASS))
    drawn = [{"workload": c["read"], "chunks": c["chunks"], "zarr_format": c["zarr_format"],
              "client": c["params"].get("client", "zarr-python"), "found": c["found"]} for c in cells]
    return client_figure(drawn, f"Reads from object storage at portal size{_size(results, data)}, {_cores(results)}"
                                f"\n{NETWORK_TEXT}",
                         results.run_label(data, cores=_cores(results), zarr=env.zarr_version if env else None))


def _extra(cell: dict) -> str:
    """A timing's other parameters (not data, chunks, format or client), as a bar's label says them."""
    return " ".join(f"{v}" for k, v in sorted(cell["params"].items()) if k != "client")
