"""``zarr-cryoet schedule-study``: which statistic and schedule reproduce on this machine? The measurement behind them.

The suite's statistic and schedule (:mod:`zarr_cryoet.stats.estimate`, :mod:`zarr_cryoet.stats.schedule`) were
chosen from what this command measures, and a lab can run it on its own machine:

* **the machine's speed over time** (``--trace SECONDS``): one process on the benchmarks' core runs a
  fixed pure-Python loop back to back; the share of loops within 10 % of the fastest, per half-second
  window, shows whether the machine has states and how long they last;
* **statistics × schedules**: for each zarr environment and four headline operations (full reads of
  16³ and 64³ chunks, the middle XY plane, a write of 64³ chunks; 128³ phantom, format 2, one core,
  allocator pinned), ``--processes`` fresh processes of ``--samples`` samples each, interleaved across
  the environments as the suite runs them (:func:`zarr_cryoet.checks.plain_loop.run_schedule`). Each
  schedule (p processes of s samples) is then drawn twice from disjoint processes, many times, and
  each statistic computed on both halves: the share of draws whose two halves agree within 5 % and
  10 %, for single timings and for the zarr-release ratios. A statistic and schedule that reproduce
  between disjoint halves of one session reproduce between runs.

``--out FILE`` keeps the samples; ``--from FILE`` analyses kept samples again.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import statistics
import time
from pathlib import Path

from zarr_cryoet.checks import prepare
from zarr_cryoet.checks.plain_loop import Job, environments, run_schedule
from zarr_cryoet.store.stores import Layout
from zarr_cryoet.util import markdown

CASES = {"full read 16x16x16": ("full", "16x16x16"), "full read 64x64x64": ("full", "64x64x64"),
         "xy plane 64x64x64": ("xy", "64x64x64"), "write 64x64x64": ("write", "64x64x64")}
#: the statistics compared, each of a list of processes (lists of samples)
STATISTICS = {
    "median": lambda ps: statistics.median(s for p in ps for s in p),
    "mean": lambda ps: statistics.mean(s for p in ps for s in p),
    "10th percentile": lambda ps: _quantile([s for p in ps for s in p], 0.1),
    "minimum": lambda ps: min(s for p in ps for s in p),
    "median of process minima": lambda ps: statistics.median(min(p) for p in ps),
}
#: schedules drawn from the measured processes: (processes, samples per process)
SCHEDULES = [(2, 8), (4, 2), (6, 2), (6, 8), (8, 2), (12, 2), (12, 8), (24, 2), (24, 8)]
DRAWS = 300


def trace(seconds: float, window: float = 0.5) -> dict:
    """The machine's speed over time on the benchmarks' core: share of fast loops, per window."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {max(os.sched_getaffinity(0))})
    loops, end = [], time.monotonic() + seconds
    while time.monotonic() < end:
        start = time.perf_counter()
        x = 0
        for i in range(20000):
            x += i
        loops.append((time.monotonic(), time.perf_counter() - start))
    fastest = min(t for _, t in loops)
    windows = {}
    for at, t in loops:
        windows.setdefault(int((at - loops[0][0]) / window), []).append(t <= 1.1 * fastest)
    fast_windows = [sum(w) / len(w) >= 0.5 for _, w in sorted(windows.items())]
    longest, run = 0, 0
    for fast in fast_windows:
        run = 0 if fast else run + 1
        longest = max(longest, run)
    ordered = sorted(t for _, t in loops)
    return {"loops": len(loops), "fastest_ms": fastest * 1e3, "fast_share": sum(t <= 1.1 * fastest for _, t in loops)
            / len(loops), "median_over_fastest": statistics.median(ordered) / fastest,
            "fast_windows": sum(fast_windows) / len(fast_windows), "longest_slow_s": longest * window}


def measure(env_dir, processes: int, samples: int, log=print) -> dict:
    """{zarr version: {case: [[samples of process 1], ...]}}, processes interleaved across the environments."""
    jobs = []
    with contextlib.ExitStack() as stack:
        for env in environments(env_dir):
            layouts = {chunks: Layout.from_spec("blosc-zstd", chunks, 2) for _, chunks in CASES.values()}
            work = stack.enter_context(prepare.prepared(env, "128", layouts.values()))
            for case, (operation, chunks) in CASES.items():
                jobs.append(Job((env.zarr, case), env, prepare.store(work, layouts[chunks]), operation,
                                prepare.volume(work), {"rounds": processes, "repeat": samples}, layouts[chunks]))
        timings = run_schedule(jobs, log=log, rounds=processes)
    data = {}
    for (zarr, case), found in timings.items():
        data.setdefault(zarr, {})[case] = found.processes
    return data


def analyse(data: dict, seed: int = 1) -> str:
    """Markdown: per schedule and statistic, how often disjoint halves agree (timings, then release ratios)."""
    rng = random.Random(seed)
    envs = list(data)
    available = min(len(procs) for cases in data.values() for procs in cases.values())
    per_process = min(len(p) for cases in data.values() for procs in cases.values() for p in procs)
    schedules = [(p, s) for p, s in SCHEDULES if 2 * p <= available and s <= per_process]
    header, rule = markdown.table(["schedule", *STATISTICS])
    lines = [f"{available} processes of {per_process} samples per release and operation; each cell: the share of "
             f"{DRAWS} draws of two disjoint halves agreeing within 5 % (10 %).", "", "Single timings:", "",
             header, rule]
    releases = ["", "zarr release ÷ the oldest (every operation, every newer release):", "", header, rule]

    def draw(procs, p, s):
        chosen = rng.sample(range(len(procs)), 2 * p)
        return [procs[i][:s] for i in chosen[:p]], [procs[i][:s] for i in chosen[p:]]

    for p, s in schedules:
        cells, ratio_cells = [], []
        for name, stat in STATISTICS.items():
            single, ratio = [], []
            for _ in range(DRAWS // max(1, len(envs))):
                for zarr in envs:
                    for case, procs in data[zarr].items():
                        a, b = draw(procs, p, s)
                        single.append(abs(stat(b) / stat(a) - 1))
                        if zarr != envs[0] and case in data[envs[0]]:
                            a0, b0 = draw(data[envs[0]][case], p, s)
                            ratio.append(abs((stat(b) / stat(b0)) / (stat(a) / stat(a0)) - 1))
            cells.append(_share(single))
            ratio_cells.append(_share(ratio))
        lines.append(markdown.row([f"{p} × {s}", *cells]))
        releases.append(markdown.row([f"{p} × {s}", *ratio_cells]))
    return "\n".join(lines + releases)


def _share(differences) -> str:
    if not differences:
        return "–"
    n = len(differences)
    return f"{sum(d <= 0.05 for d in differences) / n:.0%} ({sum(d <= 0.10 for d in differences) / n:.0%})"


def _quantile(values, q: float) -> float:
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def save(data: dict, path) -> Path:
    from zarr_cryoet.util.files import write_atomically

    return write_atomically(path, json.dumps(data))


def load(path) -> dict:
    return json.loads(Path(path).read_text())
