"""``zarr-cryoet both-cores``: the suite's one-core tier as two ``asv run`` at once, one per core.

``tasks.py benchmark`` runs the default selection in two steps on a machine of two cores or more. First the tier that
needs the whole machine (:data:`~zarr_cryoet.asv.config.WHOLE_MACHINE_BENCH`: reads on every core, reads
from an S3 server that runs on the cores the reader is not pinned to, and reads from a cold page cache, which is the
machine's), alone; it also installs this commit in every
environment. Then this command: the rest, in two halves of about equal run time
(:data:`~zarr_cryoet.asv.config.ONE_CORE_HALVES`), each an ``asv run`` of its own, pinned to a core of its
own, with the suite's options (rounds interleaved across the environments, every sample kept). Before, the second
core idled for most of the run (86 % of one core on average); now both work.

* A benchmark's environments stay in one half, on one core and interleaved as before, so every comparison between
  zarr releases is made on one core within one run.
* What the other core does meanwhile does not move the timings, measured with ``tools/two_cores.py``
  (docs/measurement.md, "Both cores").
* asv writes a result file whole, per commit and environment, so the two runs write to results directories of their
  own (``.asv/results-half-N``); when both have ended, their rows go into the run's results directory
  (:func:`zarr_cryoet.tracking.merge.overlay`), each replacing the row it held for that benchmark, as one
  ``asv run`` would have.
* The setup caches both halves read are built once, under a lock (benchmarks/common.py's ``built_once``).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
from collections import deque
from pathlib import Path

from zarr_cryoet.util.files import write_atomically
from zarr_cryoet.asv import config as asv_config
from zarr_cryoet.tracking.merge import overlay


def half_config(config: Path, n: int) -> tuple[Path, Path]:
    """A scratch copy of ``config`` for half ``n``, writing to a results directory of its own: (its path, that
    results directory)."""
    config = config.resolve()
    conf = asv_config.with_absolute_paths(asv_config.load(config), config.parent)
    results = config.parent / ".asv" / f"results-half-{n}"
    conf["results_dir"] = str(results)
    path = config.parent / ".asv" / f"half-{n}.asv.conf.json"
    write_atomically(path, json.dumps(conf, indent=2))
    return path, results


#: what asv prints once it has set up its environments and discovered the benchmarks (and written benchmarks.json)
STARTED = "total benchmarks"


def _relay(stream, prefix: str, out, started: threading.Event, tail: deque) -> None:
    """The half's output, line by line, each line marked with its core (the last ones also kept in ``tail``);
    ``started`` set once asv has discovered the benchmarks (or has ended)."""
    for line in stream:
        tail.append(line)
        out.write(f"{prefix} {line}")
        out.flush()
        if STARTED in line:
            started.set()
    started.set()


def within(half: str, selection: list[str]) -> list[str]:
    """asv ``--bench`` regexes of the benchmarks of ``selection`` (regexes, any of which selects) that are in
    ``half``: each one behind a lookahead for the half (asv searches each regex in the benchmark's name)."""
    return [f"(?={half}){regex}" for regex in selection]


def run_halves(config: Path, asv: list[str], cores: tuple[int, int], asv_args: list[str], env: dict | None = None,
               benches: list[list[str]] | None = None, out=None) -> int:
    """Both halves at once, half ``n`` on ``cores[n]``; their rows then into ``config``'s results directory. Returns
    the first non-zero exit status of the two ``asv run`` (0 when both succeeded). ``benches``: each half's ``--bench``
    regexes (default: :data:`~zarr_cryoet.asv.config.ONE_CORE_HALVES`); ``out``: where their output goes
    (default: standard output)."""
    out = out or sys.stdout
    benches = benches or [[half] for half in asv_config.ONE_CORE_HALVES]
    config = config.resolve()
    results = Path(asv_config.with_absolute_paths(asv_config.load(config), config.parent)["results_dir"])
    scratch, parts, procs, relays, tails = [], [], [], [], []
    try:
        for n, (bench, core) in enumerate(zip(benches, cores)):
            path, part = half_config(config, n)
            scratch.append(path)
            parts.append(part)
            shutil.rmtree(part, ignore_errors=True)
            cmd = [*asv, "run", "--config", str(path), "--show-stderr", *asv_config.RUN_ARGS,
                   *(arg for regex in bench for arg in ("--bench", regex)), "--cpu-affinity", str(core), *asv_args]
            out.write(f"[core {core}] $ {' '.join(cmd)}\n")
            proc = subprocess.Popen(cmd, cwd=config.parent, env=env, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True, errors="replace")
            procs.append(proc)
            started, tail = threading.Event(), deque(maxlen=40)
            tails.append(tail)
            relays.append(threading.Thread(target=_relay, args=(proc.stdout, f"[core {core}]", out, started, tail),
                                           daemon=True))
            relays[-1].start()
            # one half at a time through asv's start (environments checked, this commit installed where it is not,
            # benchmarks discovered, benchmarks.json written): two at once race in the environments' checkouts
            started.wait()
        statuses = [proc.wait() for proc in procs]
        for relay in relays:
            relay.join()
    except BaseException:  # interrupted: stop both halves too
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait()
        raise
    finally:
        for path in scratch:
            path.unlink(missing_ok=True)
    for core, status, tail in zip(cores, statuses, tails):
        if status:  # what went wrong, again at the end, where a caller may keep only the end of the output
            out.write(f"[both-cores] core {core}, its last lines:\n" + "".join(f"  {line}" for line in tail))
        out.write(f"[both-cores] core {core}: asv run exited {status}\n")
    measured = [part for part in parts if (part / "benchmarks.json").is_file()]
    if measured:
        written = overlay(measured, results)
        out.write(f"[both-cores] {written} result file(s) of {len(measured)} half(s) written into {results}\n")
    for part in parts:
        shutil.rmtree(part, ignore_errors=True)
    return next((status for status in statuses if status), 0)


def cores_for_halves() -> tuple[int, int] | None:
    """Two cores of this process's, the last one second (where the suite has run alone), or None on one core."""
    cores = asv_config.available_cores()
    return (cores[-2], cores[-1]) if len(cores) >= 2 else None
