"""``zarr-cryoet crosscheck --engines``: the engines compared by the plain loop outside asv, at 128³ and 512³.

For every asv environment this writes the phantom (at 128³ and at 512³, the latter cached per
machine) in 16³, 64³ and 128³ chunks (format 2) and in 32³ chunks inside 128³ shards (format 3)
with that environment's zarr-python, then times full reads, the middle XY and YZ planes and writes
through each engine the environment has, with the plain loop's skeleton and the suite's statistic
and schedule (:mod:`zarr_cryoet.checks.plain_loop`, allocator pinned): at 128³ on one core, as the
asv suite runs, at 512³ on every core, as a user's reader runs. The table puts asv's value next to
the plain loop's where the suite measured the same case, and gives each engine's time as a
multiple of the fastest engine's.
"""

from __future__ import annotations

import contextlib

from zarr_cryoet.engines import ENGINE_NAMES
from zarr_cryoet.checks import prepare
from zarr_cryoet.checks.plain_loop import Job, environments, run_schedule
from zarr_cryoet.checks.release_crosscheck import asv_estimate
from zarr_cryoet.stats import schedule as schedules
from zarr_cryoet.stats.estimate import time_text
from zarr_cryoet.store.stores import Layout
from zarr_cryoet.util.versions import version_key
from zarr_cryoet.util import markdown

SIZES = ("128", "512")
LAYOUTS = [("16x16x16", 2), ("64x64x64", 2), ("128x128x128", 2), ("32x32x32/128x128x128", 3)]
OPERATIONS = ("full", "xy", "yz", "write")
#: at 512³ writes of many small chunks take minutes on zarr 3: time the writes of larger ones only
LARGE_WRITES = {"64x64x64", "32x32x32/128x128x128"}
BENCHMARKS = {"full": "engines.Read.time_read_full", "xy": "engines.Read.time_read_slice_xy",
              "yz": "engines.Read.time_read_slice_yz", "write": "engines.Write.time_write"}

def _schedule(size: str, operation: str) -> dict:
    if size == "128":
        return schedules.SLOW if operation == "write" else schedules.QUICK_READ  # asv: engines.Write is SLOW
    return schedules.LONG if operation == "write" else schedules.SLOW


def run(env_dir, *, sizes=SIZES, log=print) -> dict:
    """The plain loop's statistic: ``{(zarr version, size, chunks, format, operation, engine): Estimate}``."""
    jobs = []
    with contextlib.ExitStack() as stack:
        for env in environments(env_dir):
            for size in sizes:
                layouts = [Layout.from_spec("blosc-zstd", spec, fmt) for spec, fmt in LAYOUTS]
                work = stack.enter_context(prepare.prepared(env, size, layouts))
                for (spec, fmt), layout in zip(LAYOUTS, layouts):
                    if not prepare.store(work, layout).is_dir():
                        continue  # format 3 on zarr 2
                    for operation in OPERATIONS:
                        if operation == "write" and size != "128" and spec not in LARGE_WRITES:
                            continue
                        for engine in ENGINE_NAMES:
                            jobs.append(Job((env.zarr, size, spec, fmt, operation, engine), env,
                                            prepare.store(work, layout), operation, prepare.volume(work),
                                            _schedule(size, operation), layout,
                                            cores="one" if size == "128" else "all", engine=engine))
        measured = {key: found.estimate for key, found in run_schedule(jobs, log=log).items()}
    for key, found in sorted(measured.items(), key=lambda kv: _order(kv[0])):
        zarr, size, spec, fmt, operation, engine = key
        log(f"zarr {zarr:<7} {size:>4}³ {spec:<22} v{fmt} {operation:<5} {engine:<12} "
            f"{found}")
    return measured


def table(measured: dict, results=None) -> str:
    """Markdown: per zarr, size, layout and operation, each engine's plain-loop time with its interval (asv's value
    at 128³) and its multiple of the fastest engine."""
    lines = markdown.table(["zarr", "size", "layout", "operation", *ENGINE_NAMES, "fastest"])
    for zarr, size, spec, fmt, operation in sorted({k[:5] for k in measured}, key=_order):
        found = {e: measured.get((zarr, size, spec, fmt, operation, e)) for e in ENGINE_NAMES}
        present = {e: t for e, t in found.items() if t is not None}
        fastest = min(present, key=lambda e: present[e].value)
        row = []
        for engine in ENGINE_NAMES:
            t = found[engine]
            if t is None:
                row.append("–")
                continue
            asv = (asv_estimate(results, zarr, BENCHMARKS[operation], data_prefix="phantom 128³", chunks=spec,
                                zarr_format=fmt, engine=engine) if size == "128" else None)
            asv_text = f" (asv {time_text(asv.value)})" if asv else ""
            row.append(f"{t}{asv_text} ×{t.value / present[fastest].value:.2f}")
        lines.append(markdown.row([zarr, f"{size}³", f"{spec} v{fmt}", operation, *row, fastest]))
    return "\n".join(lines)


def _order(key):
    zarr, size, spec, fmt, operation = key[:5]
    layout = [s for s, _ in LAYOUTS].index(spec) if (spec, fmt) in LAYOUTS else len(LAYOUTS)
    return version_key(zarr), size, layout, OPERATIONS.index(operation)
