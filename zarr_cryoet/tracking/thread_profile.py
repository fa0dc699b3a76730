"""Where the time went, on every thread: one benchmark case sampled by py-spy at two commits, compared.

cProfile sees only the thread that calls it, while zarr 3 decodes and does its I/O on threads of its
own (``zarr/core/sync.py``'s event loop and its workers): a regression there would be invisible to it.
py-spy samples the Python stacks of **every** thread of a process from outside (``py-spy record
--threads``, idle threads left out), so :func:`sample` runs one case of a benchmark class in the
environment's own Python — its ``setup``, then the timed call again and again for :data:`SECONDS`,
then its ``teardown``, which checks the last call — under py-spy, and keeps each function's share of
the samples in which it was itself running (the innermost Python frame of a busy thread). The class's
``setup_cache`` runs before, in a process of its own that is not sampled (as asv runs it): the stores it
writes go through zarr's own threads, and every busy sample of those would count, spread over the calls —
over the few calls of a slow commit most of all, a bias that grows with the regression being profiled.
:func:`zarr_cryoet.tracking.profile_comparison.compare_profiles` turns two such profiles into the growth of
each function's own time per call; the bars drawn from it are a differential flame graph flattened to the
functions whose own time grew (where the work went, on whichever thread).

The child finds the case's setup cache the way the asv run that preceded it left it (``ASV_*`` variables
as asv sets them: :func:`benchmarks.common.built_once` loads the cache of that commit).
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

#: seconds of repeated calls sampled at each commit, and py-spy's sampling rate (per second)
SECONDS = 3.0
RATE = 200
#: the frame the child's repeated calls run in: samples of the calling thread outside it are set-up
CALL_FRAME = "_sampled_calls"
#: innermost frames of a thread that waits (an event loop's select, a pool worker's queue, a lock or a future):
#: py-spy counts some of these as busy, and a slower call makes every waiting thread wait longer, which is not
#: where the work went. Their samples are dropped.
WAITING = {"select", "wait", "result", "join", "acquire", "get", "_worker", "_write_to_self"}


@dataclass(frozen=True)
class ThreadProfile:
    """Samples per function, on any thread: where it was running itself (``own``, the innermost Python frame)
    and where it was anywhere on the stack (``on_stack``), over ``calls`` calls sampled ``rate`` times a second;
    and the wall time of one call."""

    own: dict[str, int]
    on_stack: dict[str, int]
    calls: int
    rate: float
    ms_per_call: float

    def own_ms(self, function: str) -> float:
        """Thread-milliseconds per call spent in ``function`` itself (two busy threads: up to twice the wall)."""
        return self.own.get(function, 0) / self.rate * 1e3 / self.calls


def py_spy() -> str | None:
    """The py-spy executable beside this interpreter (.venv/bin), else on PATH; None where there is none."""
    here = Path(sys.executable).parent / "py-spy"
    return str(here) if here.is_file() else shutil.which("py-spy")


def sample(python: str, benchmark: str, benchmark_dir: Path, asv_env: dict[str, str],
           seconds: float = SECONDS) -> ThreadProfile:
    """Sample ``benchmark`` (``module.Class.time_method(params…)`` as asv names it) in ``python`` on every thread.
    ``asv_env``: the ``ASV_*`` variables of the run that left the case's setup cache."""
    spy = py_spy()
    if spy is None:
        raise RuntimeError("py-spy is not installed (it comes with zarr-cryoet[bench]: pip install py-spy)")
    with tempfile.TemporaryDirectory(prefix="zarr-cryoet-sample-") as work:
        out, calls, cache = Path(work, "stacks.txt"), Path(work, "calls.json"), Path(work, "setup-cache.pickle")
        request = {"benchmark": benchmark, "benchmarks": str(benchmark_dir.parent), "module": benchmark_dir.name,
                   "seconds": seconds, "calls": str(calls), "cache": str(cache)}
        child = [python, "-m", "zarr_cryoet.tracking.thread_profile"]
        env = {**os.environ, **asv_env}
        # in the scratch directory: a setup cache the asv run did not leave would be built there, not in the
        # checkout. First the class's setup_cache alone, not sampled (its value pickled, as asv does)
        proc = subprocess.run([*child, json.dumps({**request, "prepare": True})], capture_output=True, text=True,
                              env=env, cwd=work)
        if proc.returncode != 0 or not cache.is_file():
            raise RuntimeError(f"setting up {benchmark} failed: {_last_line(proc)}")
        cmd = [spy, "record", "--threads", "--format", "raw", "--rate", str(RATE), "--output", str(out), "--",
               *child, json.dumps(request)]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=work)
        if proc.returncode != 0 or not calls.is_file():
            raise RuntimeError(f"sampling {benchmark} failed: {_last_line(proc)}")
        done = json.loads(calls.read_text())
        own, on_stack = parse(out.read_text(), done["thread"])
        return ThreadProfile(own, on_stack, done["calls"], RATE, done["seconds"] * 1e3 / done["calls"])


def _last_line(proc: subprocess.CompletedProcess) -> str:
    lines = [line for line in (proc.stderr + proc.stdout).strip().splitlines() if line.strip()]
    return (lines or ["no output"])[-1]


def parse(folded: str, calling_thread: int) -> tuple[dict[str, int], dict[str, int]]:
    """py-spy's folded stacks (``thread (TID): name;outer (file.py:line);…;inner (file.py:line) count``) → samples
    per function, its own and on the stack, of the samples taken during the calls: the calling thread (native
    id ``calling_thread``) inside :data:`CALL_FRAME` only, every other thread whenever it was busy."""
    own, on_stack = Counter(), Counter()
    here = Path(__file__).name
    for line in folded.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        thread, *frames = stack.split(";")
        frames = [_function(f) for f in frames]
        if thread.startswith(f"thread ({calling_thread})"):
            if f"{CALL_FRAME} ({here})" not in frames:
                continue  # start-up, set-up, teardown
            frames = frames[frames.index(f"{CALL_FRAME} ({here})") + 1:]
        names = [f for f in frames if not f.endswith(f"({here})")]
        if names and names[-1].partition(" (")[0].rpartition(".")[2] in WAITING:
            continue
        if names:
            own[names[-1]] += int(count)
        for name in set(names):
            on_stack[name] += int(count)
    return dict(own), dict(on_stack)


def _function(frame: str) -> str:
    """``name (path/file.py:line)`` → ``name (file.py)``: lines move with any edit, so two commits are matched
    without them."""
    name, _, where = frame.partition(" (")
    return f"{name} ({Path(where.rstrip(')').rpartition(':')[0]).name})" if where else name


def _sampled_calls(call, seconds: float) -> int:
    """The timed call again and again for ``seconds`` (the frame :func:`parse` keeps)."""
    calls, end = 0, time.perf_counter() + seconds
    while calls == 0 or time.perf_counter() < end:
        call()
        calls += 1
    return calls


def _child(request: dict) -> None:
    import ast
    import importlib
    import threading

    sys.path.insert(0, request["benchmarks"])
    name, _, params = request["benchmark"].partition("(")
    module, cls_name, method = name.rsplit(".", 2)
    cls = getattr(importlib.import_module(f"{request['module']}.{module}"), cls_name)
    cache_file = Path(request["cache"]) if request.get("cache") else None
    if request.get("prepare"):  # the setup cache only, in a process py-spy does not sample (see sample)
        cache_file.write_bytes(pickle.dumps(cls.setup_cache() if hasattr(cls, "setup_cache") else None))
        return
    params = ast.literal_eval(f"({params.removesuffix(')')},)") if params else ()  # asv's repr of the values
    if cache_file is not None and cache_file.is_file():
        cache = pickle.loads(cache_file.read_bytes())
    else:
        cache = cls.setup_cache() if hasattr(cls, "setup_cache") else None
    args = (cache, *params) if cache is not None else params
    bench = cls()
    bench.setup(*args)
    started = time.perf_counter()
    try:
        calls = _sampled_calls(lambda: getattr(bench, method)(*args), request["seconds"])
        seconds = time.perf_counter() - started
    finally:
        bench.teardown(*args)
    Path(request["calls"]).write_text(json.dumps({"calls": calls, "seconds": seconds,
                                                  "thread": threading.get_native_id()}))


if __name__ == "__main__":
    _child(json.loads(sys.argv[1]))
