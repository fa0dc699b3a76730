"""Instructions per call of every timed case of an asv benchmark class, counted in one valgrind process.

Wall time on this VM moves by tens of per cent with the machine's state and by ~20 % between
machines (docs/measurement.md); the number of instructions a call executes does not. This module
counts, for one benchmark class in one environment, every ``time_`` method at every parameter
combination, in **one** process under callgrind, so that counting a class costs one interpreter
start-up rather than two per case:

* the child process (the environment's own Python, :func:`_child`) runs each case as asv does —
  the class's ``setup``, the timed method, its ``teardown`` (which checks what was read or written)
  — once as a warm-up and then :data:`CALLS` more times;
* around each counted call it calls ``os.sched_yield()`` (:data:`MARKER`), a libc function the
  measured code never calls; ``valgrind --tool=callgrind --dump-before=sched_yield`` writes a
  count at every marker, so the counts between a marker pair are exactly the call's instructions,
  over all threads (zarr 3's event loop and its workers included);
* Python's garbage collector is collected before and switched off during each counted call, as
  ``timeit`` (and so asv) does while timing: a collection that fell inside one call added 26 % to it.

What repeats and what does not, measured (docs/measurement.md, "Instruction counts of every case"):
zarr 2's calls repeat to 0.05 % or better; zarr 3's vary by up to 1.2 % from call to call (its
asyncio loop and worker threads hand work over a little differently each time, mostly adding), so
the count of a case is the **minimum** of its :data:`CALLS` calls, the statistic that repeated best
between runs for its cost. The address space is not randomised (``setarch -R``), ``PYTHONHASHSEED=0``, the
allocator is pinned and every library's worker threads are off (:data:`instructions.SINGLE_THREADED`).
"""

from __future__ import annotations

import gc
import itertools
import json
import os
import pickle
import platform
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from zarr_cryoet.measure.instructions import SINGLE_THREADED

#: the libc function called before and after every counted call (callgrind dumps a count at each)
MARKER = "sched_yield"
#: counted calls per case, after one warm-up call
CALLS = 2
#: an environment variable: count only the cases this regular expression finds (the tests' asv run: a class's
#: every case at 128³ takes minutes under valgrind)
ONLY_ENV = "ZARR_CRYOET_COUNT_ONLY"
_SUMMARY = re.compile(r"^summary:\s+(\d+)", re.M)


def case_key(method: str, params) -> str:
    """The name of one counted case: the timed method and its parameter values (asv's order)."""
    return f"{method}{tuple(params)!r}"


def timed_methods(cls: type) -> list[str]:
    return sorted(name for name in dir(cls) if name.startswith("time_"))


def count_class(module, name: str, cache: dict, *, calls: int = CALLS, python: str | None = None,
                methods: list[str] | None = None, inject: dict[str, int] | None = None,
                only: str | None = None) -> dict[str, float]:
    """Instructions per call of every case of the timed class ``module.name`` (``case_key`` -> count; skipped
    combinations are absent), from one callgrind process in ``python`` (default: this interpreter, as invoked:
    a virtual environment's ``bin/python``) with ``cache`` as its setup cache.

    ``inject`` (the proof of the alarm, tools/count_proof.py): case -> iterations of :func:`busy` run inside
    every counted call of that case, a fixed number of extra instructions. ``only``: count only the cases whose
    :func:`case_key` this regular expression finds (the tests' asv run, :data:`ONLY_ENV`)."""
    methods = methods or timed_methods(getattr(module, name))
    benchmark_dir = Path(module.__file__).resolve().parent
    with tempfile.TemporaryDirectory(prefix="zarr-cryoet-counts-") as work:
        work = Path(work)
        (work / "cache.pickle").write_bytes(pickle.dumps(cache))
        request = {"benchmarks": str(benchmark_dir.parent), "module": module.__name__, "class": name,
                   "methods": methods, "calls": calls, "cache": str(work / "cache.pickle"),
                   "manifest": str(work / "manifest.json"), "inject": inject or {}, "only": only or ""}
        _run(python, request, work)
        cases = json.loads((work / "manifest.json").read_text())
        dumps = _dumps(work / "callgrind.out", expected=2 * len(cases))
    counted: dict[str, list[int]] = {}
    for i, key in enumerate(cases):  # dump 2i: up to the marker before call i; dump 2i+1: call i
        counted.setdefault(key, []).append(dumps[2 * i + 1])
    return {key: float(min(values)) for key, values in counted.items()}


def busy(iterations: int) -> None:
    """Fixed work: a loop whose instructions per iteration :func:`loop_cost` measures. It allocates nothing
    (``range`` would make an int per iteration, whose cost moved by 5 % with the allocator's state)."""
    for _ in itertools.repeat(None, iterations):
        pass


def loop_cost(python: str | None = None, iterations: int = 200_000) -> float:
    """Instructions per iteration of :func:`busy` in ``python``, counted as the cases are (between two markers,
    after a warm-up run)."""
    with tempfile.TemporaryDirectory(prefix="zarr-cryoet-counts-") as work:
        work = Path(work)
        request = {"loop": iterations, "module": "loop", "class": "cost"}
        _run(python, request, work)
        return _dumps(work / "callgrind.out", expected=2)[1] / iterations


def _run(python: str | None, request: dict, work: Path) -> None:
    from zarr_cryoet.measure.allocator import PINNED_ENVIRONMENT

    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    env.update(PINNED_ENVIRONMENT, **SINGLE_THREADED, PYTHONHASHSEED="0")
    cmd = ["setarch", platform.machine(), "-R", "valgrind", "--tool=callgrind", f"--dump-before={MARKER}",
           f"--callgrind-out-file={work / 'callgrind.out'}", os.path.abspath(python or sys.executable), "-m",
           "zarr_cryoet.measure.class_counts", json.dumps(request)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=work)
    if proc.returncode != 0:
        lines = [line for line in proc.stderr.strip().splitlines() if not line.startswith("==")]
        raise RuntimeError(f"counting instructions of {request['module']}.{request['class']} failed: "
                           f"{(lines or ['no output'])[-1]}")


def _dumps(prefix: Path, expected: int) -> list[int]:
    """The counts of callgrind's numbered dumps ``prefix.1``, ``prefix.2``, … in order."""
    counts = []
    for i in range(1, expected + 1):
        path = Path(f"{prefix}.{i}")
        found = _SUMMARY.search(path.read_text()) if path.is_file() else None
        if found is None:
            raise RuntimeError(f"callgrind wrote {i - 1} counts where {expected} were expected: "
                               f"is {MARKER} called by the measured code?")
        counts.append(int(found[1]))
    if Path(f"{prefix}.{expected + 1}").exists():
        raise RuntimeError(f"callgrind wrote more than the {expected} counts expected: {MARKER} is called by the "
                           "measured code; choose another marker")
    return counts


def _child(request: dict) -> None:
    """The counted process: every case of the class, as asv runs it, with markers around the counted calls."""
    import importlib

    if "loop" in request:  # loop_cost: warm, as in the counted calls (the minimum of two), cold it costs ~5 % more
        busy(request["loop"])
        os.sched_yield()
        busy(request["loop"])
        os.sched_yield()
        return
    sys.path.insert(0, request["benchmarks"])
    cls = getattr(importlib.import_module(request["module"]), request["class"])
    cache = pickle.loads(Path(request["cache"]).read_bytes())
    cases = []
    for params, method in itertools.product(itertools.product(*cls.params), request["methods"]):
        if not re.search(request["only"], case_key(method, params)):
            continue
        for call in range(1 + request["calls"]):  # a warm-up, then the counted calls
            bench = cls()
            try:
                bench.setup(cache, *params)
            except NotImplementedError:  # asv's skip: a layout this zarr cannot write, or outside the grid
                break
            try:
                gc.collect()
                gc.disable()
                if call:
                    os.sched_yield()
                getattr(bench, method)(cache, *params)
                if call:
                    busy(request["inject"].get(case_key(method, params), 0))
                    os.sched_yield()
                    cases.append(case_key(method, params))
            finally:
                gc.enable()
                bench.teardown(cache, *params)  # the checks of what was read or written
    Path(request["manifest"]).write_text(json.dumps(cases))


if __name__ == "__main__":
    _child(json.loads(sys.argv[1]))
