"""A plain timing loop outside asv: the same reads and writes, in fresh processes, with the suite's schedule.

asv's numbers come from a harness (its own processes, samples, set-up and tear-down). The
cross-checks (``zarr-cryoet crosscheck``: :mod:`~zarr_cryoet.checks.release_crosscheck`,
:mod:`~zarr_cryoet.checks.engine_crosscheck`, :mod:`~zarr_cryoet.checks.lossy_crosscheck`) time
the same operations without it, on one skeleton:

1. :func:`environments`: every asv environment (one zarr release each), oldest first (or
   :func:`environment`: the one of a given Python);
2. :mod:`zarr_cryoet.checks.prepare`: a directory per environment holding the phantom and its stores,
   written by that environment's own zarr (the one preparing module every check and tool uses);
3. :func:`run_schedule`: every :class:`Job` timed in fresh processes, round after round, each round
   taking every environment's jobs in turn, as ``asv run --interleave-rounds`` does, with the
   suite's processes and samples per kind of operation (:mod:`zarr_cryoet.stats.schedule`, or
   :func:`schedule_of`: what asv's ``benchmarks.json`` recorded for a benchmark);
4. the suite's statistic of each job's samples, grouped by process (:mod:`zarr_cryoet.stats.estimate`).

The tools in ``tools/`` (``s3_plain_loop``, ``fused_portal_size``, ``portal_use_cases``) are this skeleton with
their own cases: argument parsing, jobs and a printed table.

A measuring process (``python -m zarr_cryoet.checks.plain_loop JSON``, needing only numpy and
zarr) opens a store, makes one untimed warm-up call, then times calls with ``time.perf_counter``
and garbage collection off (as asv's ``timeit`` does), counting minor page faults and checking
every result against the volume. Besides the whole volume and the middle planes it reads a use case's
selections (``use:<workload>``, :mod:`zarr_cryoet.measure.object_traffic`; the particles lie beside the volume as
``particles.npy``), and it reads from a loopback S3 endpoint where the job says so (``remote``: the store
uploaded, read by one of :mod:`zarr_cryoet.engines.object_storage`'s clients over a shaped network). It starts
in one of three allocator states:

* ``pinned``: ``MALLOC_MMAP_THRESHOLD_``/``MALLOC_TRIM_THRESHOLD_`` set, as the suite pins itself
  (:mod:`zarr_cryoet.measure.allocator`);
* ``loaded``: glibc's default, in a process that has only loaded the volume;
* ``wrote first``: glibc's default, in a process that wrote a scratch copy of the store before
  reading (what a suite that writes before it reads leaves behind).
"""

from __future__ import annotations

import gc
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from zarr_cryoet.stats.estimate import of_processes
from zarr_cryoet.util.errors import ZarrCryoetError
from zarr_cryoet.util.versions import version_key

STATES = ("pinned", "loaded", "wrote first")
OPERATIONS = ("full", "xy", "yz", "write")
_ROOT = Path(__file__).resolve().parents[2]


# -- the measuring process ---------------------------------------------------------------------------

def _selection(operation: str, shape, volume_path):
    """One selection, or a use case's list of them (read one after another, as the suite's ``UseCases``)."""
    if operation == "full":
        return ...
    if operation == "xy":
        return (shape[0] // 2, slice(None), slice(None))
    if operation == "yz":
        return (slice(None), slice(None), shape[2] // 2)
    if operation.startswith("use:"):
        import numpy as np

        from zarr_cryoet.measure import object_traffic

        particles = np.load(Path(volume_path).with_name("particles.npy"))
        return object_traffic.selections(operation[4:], shape, particles)
    raise ValueError(f"unknown read {operation!r}; use one of {', '.join(OPERATIONS)} or use:<workload>")


def measure_here(store, operation: str, volume_path, reads: int = 10, layout=None,
                 engine: str = "zarr-python", remote: dict | None = None) -> dict:
    """Time ``reads`` calls of ``operation`` in this process (after one untimed warm-up call).

    ``operation`` is ``full``, ``xy``, ``yz`` or ``use:<workload>`` (reads of ``store``), or ``write`` (a
    fresh store of ``layout``, a :class:`~zarr_cryoet.store.stores.Layout`, per call), through ``engine``
    (:mod:`zarr_cryoet.engines`, its settings pinned). ``remote`` (``{"client", "latency_s",
    "bandwidth_bps"}``) reads ``store`` from a loopback S3 endpoint instead, through that client. Every
    result is checked against the volume. Returns ``{"times": [s, ...], "median": s, "faults_per_read": n}``.
    """
    if remote:
        return _measure_remote(store, operation, volume_path, reads, layout, remote)
    from zarr_cryoet import engines

    chosen = engines.get(engine)
    reason = chosen.unavailable()
    if reason:
        raise RuntimeError(reason)
    with chosen.session():
        return _measure(chosen, store, operation, volume_path, reads, layout)


def _measure_remote(store, operation, volume_path, reads, layout, remote: dict) -> dict:
    from zarr_cryoet.engines import object_storage as clients
    from zarr_cryoet.store.object_storage import S3Endpoint
    from zarr_cryoet.store.shaping_proxy import Shaping

    if operation == "write" or layout is None:
        raise ValueError("the plain loop reads from object storage only, and needs the store's layout")
    client = clients.get(remote["client"])
    reason = client.unavailable(layout.zarr_format)
    if reason:
        raise RuntimeError(reason)

    class Uploaded:  # what _measure needs of an engine: the store opened from the endpoint
        def open(self, path):
            s3.put_tree(path, Path(path).name)  # not timed
            return client.open(s3, Path(path).name, layout.zarr_format)

    with S3Endpoint(Shaping(remote["latency_s"], remote["bandwidth_bps"])) as s3, client.session():
        return _measure(Uploaded(), store, operation, volume_path, reads, layout)


def _measure(engine, store, operation, volume_path, reads, layout) -> dict:
    import numpy as np

    from zarr_cryoet.measure.allocator import minor_faults
    from zarr_cryoet.store import stores
    from zarr_cryoet.store.codecs import get_codec
    from zarr_cryoet.store.lossy_codecs import roundtrip

    volume = np.load(volume_path)
    expected_volume = volume
    if layout is not None and get_codec(layout.codec).lossy:  # what a lossy store must read back as
        expected_volume = roundtrip(volume, get_codec(layout.codec), layout.chunks)
    if operation == "write":
        work = Path(tempfile.mkdtemp(prefix="zarr-cryoet-crosscheck-"))
        try:
            def call(i):
                return engine.write(work / f"w{i}.zarr", volume, layout)

            def check(path):
                if not np.array_equal(engine.open(path)[...], expected_volume):
                    raise AssertionError(f"write of {layout.slug}: the store reads back other data")
                stores.remove_store(path)
            return _loop(call, check, reads, minor_faults)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    array = engine.open(store)
    selection = _selection(operation, volume.shape, volume_path)
    if isinstance(selection, list):  # a use case: every selection in turn
        expected = [expected_volume[s] for s in selection]

        def check(results):
            if not all(np.array_equal(r, e) for r, e in zip(results, expected, strict=True)):
                raise AssertionError(f"{operation} read of {store}: other data than the volume's")
        return _loop(lambda i: [array[s] for s in selection], check, reads, minor_faults)
    expected = expected_volume[selection]

    def check(result):
        if not np.array_equal(result, expected):
            raise AssertionError(f"{operation} read of {store}: other data than the volume's")
    return _loop(lambda i: array[selection], check, reads, minor_faults)


def _loop(call, check, n: int, faults) -> dict:
    check(call(-1))  # warm-up: lazy imports, codec initialisation, page cache
    times, fault_total = [], 0
    for i in range(n):
        before_faults = faults()
        gc.disable()  # as asv's timeit
        try:
            start = time.perf_counter()
            result = call(i)
            times.append(time.perf_counter() - start)
        finally:
            gc.enable()
        fault_total += faults() - before_faults
        check(result)
    return {"times": times, "median": statistics.median(times), "faults_per_read": fault_total / n}


def child_environment(state: str) -> dict:
    """The environment of a fresh measuring process in ``state``."""
    from zarr_cryoet.measure.allocator import PINNED_ENVIRONMENT

    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    if state == "pinned":
        env.update(PINNED_ENVIRONMENT)
    elif state not in STATES:
        raise ValueError(f"unknown allocator state {state!r}; use one of {', '.join(STATES)}")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_ROOT), env.get("PYTHONPATH")]))
    return env


def measure_in_fresh_process(store, operation: str, volume_path, reads: int = 10, *, state: str = "loaded",
                             python: str | None = None, layout=None, cores: str = "all",
                             timeout: float = 1800, engine: str = "zarr-python",
                             remote: dict | None = None) -> dict:
    """:func:`measure_here` in a new process of ``python`` (default: this one) started in ``state``.

    ``cores="one"`` pins the process to the last core, as the suite's benchmarks are pinned
    (``--cpu-affinity``); ``"all"`` leaves it every core (the realistic-size tier).
    """
    request = {"store": str(store), "operation": operation, "volume_path": str(volume_path), "reads": reads,
               "state": state, "cores": cores, "engine": engine, "remote": remote,
               "layout": None if layout is None else [layout.codec, layout.spec, layout.zarr_format]}
    proc = subprocess.run([python or sys.executable, "-m", "zarr_cryoet.checks.plain_loop", json.dumps(request)],
                          capture_output=True, text=True, env=child_environment(state), timeout=timeout)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"the measuring process ({python or sys.executable}) failed: {last}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _child(request: dict) -> dict:
    """The measuring process: optionally write a scratch store first, then measure."""
    if request.get("cores") == "one" and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {max(os.sched_getaffinity(0))})
    layout = None
    if request.get("layout"):
        from zarr_cryoet.store.stores import Layout

        codec, spec, zarr_format = request["layout"]
        layout = Layout.from_spec(codec, spec, zarr_format)
    if request["state"] == "wrote first":
        import numpy as np

        from zarr_cryoet.store import stores

        if layout is None:
            raise ValueError("the 'wrote first' state needs the store's layout")
        scratch = Path(tempfile.mkdtemp(prefix="zarr-cryoet-scratch-"))
        try:
            stores.write_store(scratch / "copy.zarr", np.load(request["volume_path"]), layout)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    return measure_here(request["store"], request["operation"], request["volume_path"], request["reads"], layout,
                        engine=request.get("engine", "zarr-python"), remote=request.get("remote"))


# -- the skeleton every cross-check shares --------------------------------------------------------------

@dataclass(frozen=True)
class Environment:
    """One asv environment: its zarr release and its Python."""

    zarr: str
    python: Path


def environments(env_dir) -> list[Environment]:
    """Every asv environment under ``env_dir`` (``.asv/env``), oldest zarr release first."""
    found = []
    for info in sorted(Path(env_dir).glob("*/asv-env-info.json")):
        zarr = json.loads(info.read_text()).get("requirements", {}).get("zarr")
        python = info.parent / "bin" / "python"
        if zarr and python.exists():
            found.append(Environment(zarr, python))
    return sorted(found, key=lambda env: version_key(env.zarr))


def environment(python, label: str | None = None) -> Environment:
    """The environment of ``python`` (an asv environment's, or any with numpy, zarr and this package's
    dependencies), called ``label`` or by the zarr release it has."""
    if label is None:
        try:
            proc = subprocess.run([str(python), "-c", "import zarr; print(zarr.__version__)"], capture_output=True,
                                  text=True)
        except OSError as err:
            raise RuntimeError(f"cannot run {python}: {err.strerror or err}") from None
        if proc.returncode != 0:
            raise RuntimeError(f"{python} cannot import zarr: "
                               f"{(proc.stderr.strip().splitlines() or ['no output'])[-1]}")
        label = proc.stdout.strip()
    return Environment(label, Path(python))


class ScheduleError(ZarrCryoetError, LookupError):
    """asv's benchmarks.json is missing, or does not know the benchmark."""


def schedule_of(benchmarks_json, name: str) -> dict:
    """The schedule asv recorded for benchmark ``name`` (``module.Class.time_method``) in ``benchmarks_json``
    (written by asv into its results directory): its ``rounds`` (processes) and ``repeat`` (samples per
    process), with ``number``, ``min_run_count`` and ``warmup_time`` as recorded."""
    path = Path(benchmarks_json)
    try:
        recorded = json.loads(path.read_text())
    except FileNotFoundError:
        raise ScheduleError(f"no {path}: run asv first (it writes benchmarks.json into its results directory), "
                            "or give the one of another run") from None
    except (OSError, ValueError) as err:
        raise ScheduleError(f"cannot read {path} as asv's benchmarks.json: {err}") from None
    found = recorded.get(name) if isinstance(recorded, dict) else None
    if not isinstance(found, dict):
        raise ScheduleError(f"{path} has no benchmark {name!r}: the suite asv ran there does not time it")
    if not (isinstance(found.get("rounds"), int) and isinstance(found.get("repeat"), int)
            and found["rounds"] > 0 and found["repeat"] > 0):
        raise ScheduleError(f"{path} gives {name!r} no fixed rounds and repeat (rounds={found.get('rounds')!r}, "
                            f"repeat={found.get('repeat')!r}): not a timing of the suite's schedule")
    return {key: found.get(key) for key in ("rounds", "repeat", "number", "min_run_count", "warmup_time")}


@dataclass(frozen=True)
class Job:
    """One timed case in one environment: what the measuring process does, and its schedule."""

    key: tuple  # the caller's name for the result
    env: Environment
    store: Path | None
    operation: str
    volume: Path
    schedule: dict  # zarr_cryoet.stats.schedule.QUICK_READ, WRITE, SLOW or LONG, or schedule_of(...)
    layout: object = None
    cores: str = "one"
    engine: str = "zarr-python"
    state: str = "pinned"
    remote: dict | None = None  # read from a loopback S3 endpoint (measure_here)


@dataclass
class Timings:
    """One job's samples, one list per process in the order they ran, and its page faults per call."""

    processes: list
    faults: list

    @property
    def estimate(self):
        """The suite's statistic of these samples (:func:`zarr_cryoet.stats.estimate.of_processes`: the fastest
        process, and every process's minimum)."""
        return of_processes(self.processes)

    @property
    def faults_per_call(self) -> float:
        return statistics.mean(self.faults) if self.faults else math.nan


def run_schedule(jobs: list[Job], log=print, rounds: int | None = None, *, alternate: bool = False,
                 strict: bool = False) -> dict:
    """Every job in its schedule's number of fresh processes, round by round (each round: every environment's
    jobs in turn, as ``asv run --interleave-rounds``); {job key: :class:`Timings`}. ``rounds`` overrides every
    schedule's number of processes (a study of the schedule itself, a tool's PROCESSES); ``alternate`` takes the
    jobs in reverse order every other round. A job whose process fails (an engine missing here) is logged and
    left out; with ``strict``, its error is raised."""
    timings = {job.key: Timings([], []) for job in jobs}
    failed = set()
    rounds_of = {job.key: rounds or job.schedule["rounds"] for job in jobs}
    total = max(rounds_of.values(), default=0)
    for round_ in range(total, 0, -1):  # asv counts rounds down: a job of r rounds runs in the last r
        for job in (jobs[::-1] if alternate and (total - round_) % 2 else jobs):
            if rounds_of[job.key] < round_ or job.key in failed:
                continue
            try:
                result = measure_in_fresh_process(job.store or "", job.operation, job.volume, job.schedule["repeat"],
                                                  state=job.state, python=str(job.env.python), layout=job.layout,
                                                  cores=job.cores, engine=job.engine, remote=job.remote)
            except RuntimeError as err:
                if strict:
                    raise
                log(f"zarr {job.env.zarr:<7} {' '.join(map(str, job.key[1:]))}: skipped: {err}")
                failed.add(job.key)
                continue
            timings[job.key].processes.append(result["times"])
            timings[job.key].faults.append(result["faults_per_read"])
        log(f"round {total - round_ + 1}/{total} done")
    return {key: found for key, found in timings.items() if found.processes and key not in failed}


if __name__ == "__main__":
    print(json.dumps(_child(json.loads(sys.argv[1]))))
