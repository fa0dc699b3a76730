"""``zarr-cryoet crosscheck --lossy``: the lossy codecs' write and read times by the plain loop outside asv.

For every asv environment this writes the 128³ phantom with each codec of the default speed grid
(:data:`~zarr_cryoet.store.lossy_codecs.SPEED_DEFAULT`, 64³ chunks, format 2) and times full reads
and writes with the plain loop's skeleton, statistic and schedule, on one core with the allocator
pinned, as ``benchmarks/lossy.py`` runs (:mod:`zarr_cryoet.checks.plain_loop`; every read is
checked against numcodecs' own decoding). The table puts asv's value next to the plain loop's.
"""

from __future__ import annotations

import contextlib

from zarr_cryoet.checks import prepare
from zarr_cryoet.checks.plain_loop import Job, environments, run_schedule
from zarr_cryoet.checks.release_crosscheck import asv_estimate
from zarr_cryoet.stats import schedule as schedules
from zarr_cryoet.stats.estimate import time_text
from zarr_cryoet.store.lossy_codecs import SPEED_DEFAULT
from zarr_cryoet.store.stores import Layout
from zarr_cryoet.util import markdown

OPERATIONS = {"full": "lossy.Read.time_read", "write": "lossy.Write.time_write"}
CHUNKS = "64x64x64"

def run(env_dir, *, codecs=SPEED_DEFAULT, log=print) -> dict:
    """The plain loop's statistic: ``{(zarr version, codec, operation): Estimate}``."""
    jobs = []
    with contextlib.ExitStack() as stack:
        for env in environments(env_dir):
            layouts = [Layout.from_spec(codec, CHUNKS, 2) for codec in codecs]
            work = stack.enter_context(prepare.prepared(env, "128", layouts))
            for codec, layout in zip(codecs, layouts):
                for operation in OPERATIONS:
                    schedule = schedules.WRITE if operation == "write" else schedules.QUICK_READ
                    jobs.append(Job((env.zarr, codec, operation), env, prepare.store(work, layout), operation,
                                    prepare.volume(work), schedule, layout))
        measured = {key: found.estimate for key, found in run_schedule(jobs, log=log).items()}
    for (zarr, codec, operation), found in measured.items():
        log(f"zarr {zarr:<7} {codec:<22} {operation:<5} {found}")
    return measured


def table(measured: dict, results=None) -> str:
    """Markdown: per codec, each zarr release's plain-loop time with its interval, and asv's value in
    parentheses."""
    zarrs = list(dict.fromkeys(k[0] for k in measured))
    lines = markdown.table(["codec", "operation", *(f"zarr {z}" for z in zarrs)])
    for codec in dict.fromkeys(k[1] for k in measured):
        for operation in OPERATIONS:
            cells = []
            for zarr in zarrs:
                t = measured.get((zarr, codec, operation))
                asv = asv_estimate(results, zarr, OPERATIONS[operation], data_prefix="phantom 128³", codec=codec,
                                   zarr_format=2)
                cells.append("–" if t is None else f"{t}" + (f" (asv {time_text(asv.value)})" if asv else ""))
            lines.append(markdown.row([codec, operation, *cells]))
    return "\n".join(lines)
