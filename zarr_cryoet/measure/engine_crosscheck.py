"""``zarr-cryoet crosscheck --engines``: the engines compared by a plain loop outside asv, at 128³ and 512³.

For every asv environment this writes the phantom (at 128³ and at 512³, the latter cached
per machine) in 16³, 64³ and 128³ chunks (format 2) and in 32³ chunks inside 128³ shards
(format 3) with that environment's zarr-python, then times full reads, the middle XY and
YZ planes and writes through each engine the environment has
(:func:`zarr_cryoet.measure.crosscheck.measure_in_fresh_process`, allocator pinned): at 128³
on one core, as the asv suite runs, at 512³ on every core, as a user's reader runs. The
table puts asv's median next to the plain loop's where the suite measured the same case,
and gives each engine's time as a multiple of the fastest engine's.
"""

from __future__ import annotations

import math
import shutil
import subprocess
import tempfile
from pathlib import Path

from zarr_cryoet.engines import ENGINE_NAMES
from zarr_cryoet.measure.crosscheck import child_environment, measure_in_fresh_process
from zarr_cryoet.measure.crosscheck_report import asv_median, environments
from zarr_cryoet.store.stores import Layout

SIZES = ("128", "512")
LAYOUTS = [("16x16x16", 2), ("64x64x64", 2), ("128x128x128", 2), ("32x32x32/128x128x128", 3)]
OPERATIONS = ("full", "xy", "yz", "write")
#: at 512³ writes of many small chunks take minutes on zarr 3: time the writes of larger ones only
LARGE_WRITES = {"64x64x64", "32x32x32/128x128x128"}
BENCHMARKS = {"full": "engines.Read.time_read_full", "xy": "engines.Read.time_read_slice_xy",
              "yz": "engines.Read.time_read_slice_yz", "write": "engines.Write.time_write"}

_PREPARE = """
import sys, numpy as np
from zarr_cryoet.data.phantom_cache import load_phantom
from zarr_cryoet.store import compat
from zarr_cryoet.store.stores import Layout, parse_chunks, write_store
out, size = sys.argv[1], sys.argv[2]
volume = load_phantom(parse_chunks(size)).volume
np.save(f"{out}/volume.npy", volume)
for item in sys.argv[3:]:
    spec, fmt = item.split("@")
    if int(fmt) in compat.supported_formats():
        layout = Layout.from_spec("blosc-zstd", spec, int(fmt))
        write_store(f"{out}/{layout.slug}", volume, layout)
"""


def run(env_dir, *, reads: int = 5, sizes=SIZES, log=print) -> dict:
    """Plain-loop medians: ``{(zarr version, size, chunks, format, operation, engine): seconds}``."""
    measured = {}
    for zarr, python in environments(env_dir):
        for size in sizes:
            work = Path(tempfile.mkdtemp(prefix="zarr-cryoet-engines-"))
            try:
                subprocess.run([str(python), "-c", _PREPARE, str(work), size,
                                *(f"{spec}@{fmt}" for spec, fmt in LAYOUTS)],
                               check=True, env=child_environment("pinned"), capture_output=True, text=True)
                for spec, fmt in LAYOUTS:
                    layout = Layout.from_spec("blosc-zstd", spec, fmt)
                    if not (work / layout.slug).is_dir():
                        continue  # format 3 on zarr 2
                    for operation in OPERATIONS:
                        if operation == "write" and size != "128" and spec not in LARGE_WRITES:
                            continue
                        for engine in ENGINE_NAMES:
                            key = (zarr, size, spec, fmt, operation, engine)
                            try:
                                result = measure_in_fresh_process(
                                    work / layout.slug, operation, work / "volume.npy",
                                    reads if size == "128" else max(2, reads // 2), state="pinned",
                                    python=str(python), layout=layout, engine=engine,
                                    cores="one" if size == "128" else "all")
                            except RuntimeError as err:  # the engine is not in this environment
                                log(f"zarr {zarr:<7} {size:>4}³ {spec:<22} v{fmt} {operation:<5} {engine:<12} "
                                    f"skipped: {err}")
                                continue
                            measured[key] = result["median"]
                            log(f"zarr {zarr:<7} {size:>4}³ {spec:<22} v{fmt} {operation:<5} {engine:<12} "
                                f"{result['median'] * 1e3:10.2f} ms")
            finally:
                shutil.rmtree(work, ignore_errors=True)
    return measured


def table(measured: dict, results=None) -> str:
    """Markdown: per zarr, size, layout and operation, each engine's plain-loop time (asv's at 128³) and its
    multiple of the fastest engine."""
    lines = ["| zarr | size | layout | operation | " + " | ".join(ENGINE_NAMES) + " | fastest |",
             "|---|---|---|---|" + "---|" * (len(ENGINE_NAMES) + 1)]
    cells = sorted({k[:5] for k in measured}, key=lambda k: (_version(k[0]), k[1], _layout_order(k[2], k[3]),
                                                            OPERATIONS.index(k[4])))
    for zarr, size, spec, fmt, operation in cells:
        times = {e: measured.get((zarr, size, spec, fmt, operation, e)) for e in ENGINE_NAMES}
        present = {e: t for e, t in times.items() if t is not None}
        fastest = min(present, key=present.get)
        row = []
        for engine in ENGINE_NAMES:
            t = times[engine]
            if t is None:
                row.append("–")
                continue
            asv = (asv_median(results, zarr, BENCHMARKS[operation], data_prefix="phantom 128³", chunks=spec,
                              zarr_format=fmt, engine=engine) if size == "128" else math.nan)
            asv_text = f" (asv {asv * 1e3:.1f})" if math.isfinite(asv) else ""
            row.append(f"{t * 1e3:.1f}{asv_text} ×{t / present[fastest]:.2f}")
        lines.append(f"| {zarr} | {size}³ | {spec} v{fmt} | {operation} | {' | '.join(row)} | {fastest} |")
    return "\n".join(lines)


def _version(version: str):
    return tuple(int(x) for x in version.split(".") if x.isdigit())


def _layout_order(spec, fmt):
    return [s for s, _ in LAYOUTS].index(spec) if (spec, fmt) in LAYOUTS else len(LAYOUTS)
