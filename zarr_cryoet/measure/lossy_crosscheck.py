"""``zarr-cryoet crosscheck --lossy``: the lossy codecs' write and read times by a plain loop outside asv.

For every asv environment this writes the 128³ phantom with each codec of the default speed
grid (:data:`~zarr_cryoet.store.lossy_codecs.SPEED_DEFAULT`, 64³ chunks, format 2) and times
full reads and writes in fresh processes pinned to one core with the allocator pinned, as
``benchmarks/lossy.py`` runs (:func:`zarr_cryoet.measure.crosscheck.measure_in_fresh_process`;
every read is checked against numcodecs' own decoding). The table puts asv's median next to
the plain loop's.
"""

from __future__ import annotations

import math
import shutil
import subprocess
import tempfile
from pathlib import Path

from zarr_cryoet.measure.crosscheck import child_environment, measure_in_fresh_process
from zarr_cryoet.measure.crosscheck_report import asv_median, environments
from zarr_cryoet.store.lossy_codecs import SPEED_DEFAULT
from zarr_cryoet.store.stores import Layout

OPERATIONS = {"full": "lossy.Read.time_read", "write": "lossy.Write.time_write"}
CHUNKS = "64x64x64"

_PREPARE = """
import sys, numpy as np
from zarr_cryoet.data.phantom import make_phantom
from zarr_cryoet.store.stores import Layout, write_store
out = sys.argv[1]
volume = make_phantom(128).volume
np.save(f"{out}/volume.npy", volume)
for codec in sys.argv[2:]:
    layout = Layout.from_spec(codec, "64x64x64", 2)
    write_store(f"{out}/{layout.slug}", volume, layout)
"""


def run(env_dir, *, reads: int = 10, codecs=SPEED_DEFAULT, log=print) -> dict:
    """Plain-loop medians: ``{(zarr version, codec, operation): seconds}``."""
    measured = {}
    for zarr, python in environments(env_dir):
        work = Path(tempfile.mkdtemp(prefix="zarr-cryoet-lossy-"))
        try:
            subprocess.run([str(python), "-c", _PREPARE, str(work), *codecs], check=True,
                           env=child_environment("pinned"), capture_output=True, text=True)
            for codec in codecs:
                layout = Layout.from_spec(codec, CHUNKS, 2)
                for operation in OPERATIONS:
                    result = measure_in_fresh_process(work / layout.slug, operation, work / "volume.npy",
                                                      reads if operation == "full" else max(3, reads // 2),
                                                      state="pinned", python=str(python), layout=layout, cores="one")
                    measured[(zarr, codec, operation)] = result["median"]
                    log(f"zarr {zarr:<7} {codec:<22} {operation:<5} {result['median'] * 1e3:9.2f} ms")
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return measured


def table(measured: dict, results=None) -> str:
    """Markdown: per codec, each zarr release's plain-loop time with asv's median in parentheses (ms)."""
    zarrs = list(dict.fromkeys(k[0] for k in measured))
    lines = ["| codec | operation | " + " | ".join(f"zarr {z}" for z in zarrs) + " |",
             "|---|---|" + "---|" * len(zarrs)]
    for codec in dict.fromkeys(k[1] for k in measured):
        for operation in OPERATIONS:
            cells = []
            for zarr in zarrs:
                t = measured.get((zarr, codec, operation))
                asv = asv_median(results, zarr, OPERATIONS[operation], data_prefix="phantom 128³", codec=codec,
                                 zarr_format=2)
                cells.append("–" if t is None else f"{t * 1e3:.1f}" + (f" (asv {asv * 1e3:.1f})" if math.isfinite(asv) else ""))
            lines.append(f"| {codec} | {operation} | {' | '.join(cells)} |")
    return "\n".join(lines)

