"""Instructions a read or write executes, counted by valgrind: a signal the machine's speed cannot move.

This VM's speed changes every second or so (docs/measurement.md), which limits how small a change
in *time* a run can see. The number of instructions a call executes does not depend on that:
``valgrind --tool=cachegrind`` counts every instruction of the process (all threads, Python,
numpy, the codecs), as CodSpeed's instrumented mode does. To count only the calls, the same
child process runs twice: once doing the set-up (imports, opening the stores, one warm-up call of
every case) and once doing the same set-up and then ``calls`` more calls of one case; the
difference divided by ``calls`` is the count per call. Both runs have address-space
randomisation off (``setarch -R``), ``PYTHONHASHSEED=0`` and the suite's allocator settings, so
they start from the same state. The child runs in the measured asv environment's Python.

Limits, measured (docs/measurement.md, "Instruction counts"): the libraries' worker threads are
switched off (:data:`SINGLE_THREADED`), so the count is one thread's work; zarr 3's asyncio loop
still runs, and its polling makes zarr 3's counts vary by a few tenths of a per cent where zarr
2's repeat to the instruction. Counting costs 20-100× the call's time plus an interpreter
start-up under valgrind (about 7 s) per case and one for the shared set-up.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

#: the counted cases: name -> (operation, chunks); format 2, Blosc-Zstd, the suite's reference stores
CASES = {
    "full read 64x64x64": ("full", "64x64x64"),
    "full read 16x16x16": ("full", "16x16x16"),
    "xy plane 64x64x64": ("xy", "64x64x64"),
    "write 64x64x64": ("write", "64x64x64"),
}
#: calls counted per case (after the set-up and warm-up both runs share)
CALLS = 3
#: Every library's worker threads off: valgrind runs one thread at a time, and threads that wait or spin
#: (Blosc's, OpenBLAS's) made the count of one and the same zarr 2.18.7 read vary by 4 % between runs; with
#: these, by 23 instructions in 860 million (docs/measurement.md). The count is the work of one thread.
SINGLE_THREADED = {"BLOSC_NTHREADS": "1", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
                   "ZARR_THREADING__MAX_WORKERS": "1"}
_SUMMARY = re.compile(r"^summary:\s+(\d+)", re.M)


def unavailable() -> str | None:
    """Why instructions cannot be counted here (None: they can)."""
    if shutil.which("valgrind") is None:
        return "valgrind is not installed (Debian: apt-get install valgrind)"
    if shutil.which("setarch") is None:
        return "setarch is not installed (util-linux)"
    return None


def count(stores: dict[str, str], volume_path: str, *, calls: int = CALLS, python: str | None = None,
          cases=None, only=None, base: int | None = None) -> tuple[dict[str, float], int]:
    """Instructions per call of the cases in ``only`` (default: all of ``cases``), and the count of the shared
    set-up (pass it back as ``base`` to count more cases without running the set-up alone again).
    ``stores``: chunks -> the reference store of that layout; every case is set up in every run."""
    cases = dict(cases or CASES)
    with tempfile.TemporaryDirectory(prefix="zarr-cryoet-instructions-") as work:
        request = {"stores": stores, "volume_path": volume_path, "cases": cases, "work": str(Path(work, "run"))}
        if base is None:
            base = _counted(python, {**request, "case": None, "calls": 0}, Path(work))
        return {name: (_counted(python, {**request, "case": name, "calls": calls}, Path(work)) - base) / calls
                for name in (only or cases)}, base


def _counted(python: str | None, request: dict, work: Path) -> int:
    """Total instructions of one child process under cachegrind (its written stores go to the same, emptied,
    directory every time, so that every run sees the same paths)."""
    shutil.rmtree(request["work"], ignore_errors=True)
    Path(request["work"]).mkdir()
    out = work / "cachegrind.out"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    from zarr_cryoet.measure.allocator import PINNED_ENVIRONMENT

    env.update(PINNED_ENVIRONMENT, **SINGLE_THREADED, PYTHONHASHSEED="0")
    cmd = ["setarch", platform.machine(), "-R", "valgrind", "--tool=cachegrind", "--cache-sim=no",
           f"--cachegrind-out-file={out}", python or sys.executable, "-m", "zarr_cryoet.measure.instructions",
           json.dumps(request)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=work)
    shutil.rmtree(request["work"], ignore_errors=True)
    if proc.returncode != 0:
        lines = [line for line in proc.stderr.strip().splitlines() if not line.startswith("==")]
        raise RuntimeError(f"counting instructions failed: {(lines or ['no output'])[-1]}")
    found = _SUMMARY.search(out.read_text())
    out.unlink()
    if found is None:
        raise RuntimeError(f"cachegrind wrote no summary line to {out}")
    return int(found[1])


def _child(request: dict) -> None:
    """The counted process: set up every case and call each once, then ``calls`` calls of ``case``."""
    import numpy as np

    from zarr_cryoet.measure import injection
    from zarr_cryoet.store import stores
    from zarr_cryoet.store.stores import Layout

    injection.install_from_environment()  # as in the suite's processes (the proof of the alarm)
    volume = np.load(request["volume_path"])
    work = Path(request["work"])
    prepared = {}
    for name, (operation, chunks) in request["cases"].items():
        if operation == "write":
            layout = Layout.from_spec("blosc-zstd", chunks, 2)
            targets = iter(range(1000))

            def call(layout=layout, targets=targets, name=name):
                path = work / f"{name.replace(' ', '-')}-{next(targets)}.zarr"
                stores.write_store(path, volume, layout)
                return path
        else:
            array = stores.open_store(request["stores"][chunks])
            selection = ... if operation == "full" else (volume.shape[0] // 2, slice(None), slice(None))

            def call(array=array, selection=selection):
                return array[selection]
        call()  # the warm-up every run shares: imports, codec set-up, page cache
        prepared[name] = call
    for _ in range(request["calls"]):
        prepared[request["case"]]()


if __name__ == "__main__":
    _child(json.loads(sys.argv[1]))
