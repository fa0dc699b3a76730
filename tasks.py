#!/usr/bin/env python3
"""The two entry points of this repository, runnable with nothing but python3 and git.

    python3 tasks.py benchmark    # the asv suite across the zarr matrix, then the dashboard in html/
    python3 tasks.py test         # pytest under every zarr in the matrix, plus a real asv run (--quick)
    python3 tasks.py nightly      # the cron job: zarr-cryoet nightly (new commits, publish, regressions)
    python3 tasks.py recommend    # zarr-cryoet recommend: the answer (from the recorded run if none here)
    python3 tasks.py backfill-shard / merge-results   # the backfill workflow's jobs (docs/nightly.md)

Both first make ``.venv`` (asv, virtualenv, nox, pytest and this package) and
find the newer Python that the newest zarr needs (building it once on Debian if
it is missing). Extra arguments go to ``asv run`` or to ``nox``, e.g.
``python3 tasks.py benchmark --quick --bench compression``.

``benchmark`` and ``nightly`` check the data settings (``ZARR_CRYOET_SOURCE``,
``_SIZE``, ``_OFFSET``, ``_LEVEL``, ``_PORTAL_URL``) before asv runs; a problem is
one line, ``[tasks] error: ...``, and exit status 2. With
``ZARR_CRYOET_REQUIRE_ALL_PYTHONS=1`` (CI) a matrix Python that can be neither
found nor built is such an error too, instead of skipping its environments.

Standard library only.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import time
import venv
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "tools"))
import interpreters  # noqa: E402  (stdlib-only helpers next to this file)
import matrix  # noqa: E402  (puts the repository root on sys.path)
from zarr_cryoet.data import provenance  # noqa: E402  (stdlib only)
from zarr_cryoet.util.files import write_atomically  # noqa: E402  (stdlib only)

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
VENV_PYTHON = VENV / "bin" / "python"
_STAMP = VENV / ".zarr-cryoet-installed"
STARTED = time.monotonic()
FULL_ENV = "ZARR_CRYOET_FULL"  # the full grids (benchmarks/common.py)
PROVENANCE_ENV = provenance.PROVENANCE_DIR_ENV  # where the data's facts are recorded, for the report
REQUIRE_ALL_PYTHONS_ENV = "ZARR_CRYOET_REQUIRE_ALL_PYTHONS"
CHECK_TIMEOUT = 300  # seconds for zarr-cryoet check-source (it waits at most 10 s per server)


class TaskError(Exception):
    """Bad input or a missing prerequisite: main() prints the one-line message and exits with status 2."""


def log(message: str) -> None:
    print(f"[tasks] {message}", flush=True)


#: what each task needs in .venv (setup.cfg's extras): the benchmark run is the smaller set
EXTRAS = {"benchmark": "bench", "nightly": "bench", "recommend": "bench", "test": "dev", "backfill-shard": "bench",
          "merge-results": "bench"}


def ensure_venv(extra: str = "dev") -> None:
    """Create ``.venv`` with the tools of ``extra``; again only when setup.cfg/pyproject.toml change.

    ``bench`` (asv, virtualenv, the portal client, matplotlib) is what ``benchmark`` and
    ``nightly`` need; ``dev`` adds the test tools (pytest, nox, selenium, Jupyter) on top.
    """
    digest = hashlib.sha256(b"".join((ROOT / f).read_bytes() for f in ("setup.cfg", "pyproject.toml")))
    stamp = _STAMP.read_text().split() if _STAMP.exists() else []
    if VENV_PYTHON.exists() and stamp[:1] == [digest.hexdigest()] and extra in stamp[1:] + (
            ["bench"] if "dev" in stamp[1:] else []):
        return
    fresh = not VENV_PYTHON.exists() or stamp[:1] != [digest.hexdigest()]
    tools = "asv, virtualenv, zarr-cryoet" + ("" if extra == "bench" else ", nox, pytest, selenium, Jupyter")
    log(f"setting up {VENV} ({tools}) ...")
    if fresh:
        venv.EnvBuilder(with_pip=True, clear=VENV.exists()).create(VENV)
        stamp = [digest.hexdigest()]
    pip = [str(VENV_PYTHON), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "-e", f"{ROOT}[{extra}]"], check=True)
    subprocess.run([*pip, "--no-deps", *matrix.WITHOUT_DEPENDENCIES], check=True)
    _STAMP.write_text(" ".join([*stamp, extra]))


def check_settings() -> str | None:
    """Check the ZARR_CRYOET_* data settings as the benchmarks will read them, before asv runs.

    ``zarr-cryoet check-source`` (in .venv) parses them and checks that the data can be loaded
    here (a portal crop cached or the portal reachable, a path that exists); TaskError otherwise.
    Returns the machine name of data other than the default phantom (the line ``machine: NAME``),
    under which its results are kept apart, or None.
    """
    try:
        proc = subprocess.run([str(VENV / "bin" / "zarr-cryoet"), "check-source"], cwd=ROOT,
                              capture_output=True, text=True, timeout=CHECK_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise TaskError(f"checking the ZARR_CRYOET_* settings took more than {CHECK_TIMEOUT} s; "
                        "check the network, or unset ZARR_CRYOET_SOURCE to use the phantom") from None
    if proc.returncode != 0:
        lines = (proc.stderr.strip() or proc.stdout.strip()).splitlines()
        message = lines[-1] if lines else f"zarr-cryoet check-source exited with status {proc.returncode}"
        raise TaskError(message.removeprefix("zarr-cryoet: error: "))
    lines = proc.stdout.strip().splitlines()
    log("\n".join(line for line in lines if not line.startswith("machine: ")))
    return next((line.removeprefix("machine: ") for line in lines if line.startswith("machine: ")), None)


def provide_pythons() -> tuple[dict[str, str], list[str]]:
    """An environment whose PATH has every matrix Python, and the versions that are missing.

    With ZARR_CRYOET_REQUIRE_ALL_PYTHONS set (not 0), a missing one is a TaskError instead.
    """
    env = dict(os.environ)
    missing = []
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    for version in (v for v in matrix.pythons() if v != here):
        try:
            bin_dir = interpreters.provide(version, log=log)
        except interpreters.InterpreterUnavailable as err:
            if os.environ.get(REQUIRE_ALL_PYTHONS_ENV, "") not in ("", "0"):
                zarrs = ", ".join(z for py, z in matrix.zarr_matrix() if py == version)
                raise TaskError(f"{' '.join(str(err).split())} (zarr {zarrs} needs it; "
                                f"{REQUIRE_ALL_PYTHONS_ENV}=1 does not allow skipping its environments)") from None
            log(f"WARNING: {err}; the Python {version} environments are skipped")
            missing.append(version)
            continue
        env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
    return env, missing


def run(cmd: list[str], env: dict[str, str]) -> int:
    log("$ " + " ".join(cmd))
    return subprocess.run(cmd, cwd=ROOT, env=env).returncode


def benchmark(extra: list[str]) -> int:
    """asv run across the matrix (this checkout's HEAD), then asv publish; ``--full``: the full grids."""
    if "--full" in extra:
        extra = [a for a in extra if a != "--full"]
        os.environ[FULL_ENV] = "1"
    machine = check_settings()
    env, missing = provide_pythons()
    asv = [str(VENV / "bin" / "asv")]
    # Record the machine (hostname, or a name for the data) without prompting.
    run([*asv, "machine", "--yes", *(["--machine", machine] if machine else [])], env)
    if machine and "--machine" not in extra:
        log(f"results for {os.environ.get('ZARR_CRYOET_SOURCE')} go under machine {machine!r}")
        extra = ["--machine", machine, *extra]
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    only = ["-E", f"virtualenv:{here}"] if missing else []
    chosen = any(a in ("--bench", "-b") or a.startswith("--bench=") for a in extra)
    selection = [] if chosen else ["--bench", matrix.DEFAULT_BENCH]
    # one core for the benchmarks, as the nightly job does (asv's own process keeps the other)
    told_cores = any(a.startswith("--cpu-affinity") for a in extra)
    pinned = [] if told_cores else matrix.cpu_affinity("auto")
    # the default run on two cores or more: the tier that needs the whole machine alone, then the one-core tier as
    # two halves at once, one per core (zarr_cryoet/tracking/both_cores.py); otherwise one asv run, as before
    halves = not (chosen or told_cores or "--quick" in extra) and len(matrix.asv_config.available_cores()) > 1
    if halves:
        selection = ["--bench", matrix.asv_config.WHOLE_MACHINE_BENCH]
    env[PROVENANCE_ENV] = str(ROOT / ".asv" / "provenance")  # what the data was, for the report
    try:
        status = run([*asv, "run", "--show-stderr", *matrix.asv_config.RUN_ARGS, *only, *selection, *pinned,
                      *extra], env)
        if status == 0 and halves:
            status = run([str(VENV / "bin" / "zarr-cryoet"), "both-cores", "--asv", asv[0], "--", *only, *extra], env)
        if status == 0 and not chosen and "--quick" not in extra:
            # more processes where the portal-size answer cannot tell its best layout from the runner-up (racing,
            # within a budget), while the run's reference stores are still there
            run([str(VENV / "bin" / "zarr-cryoet"), "decide", "--results", str(ROOT / ".asv" / "results"),
                 *(["--machine", machine] if machine else [])], env)
    finally:  # the reference stores the rounds shared (GBs with the portal-sized volume)
        shutil.rmtree(matrix.asv_config.setup_cache_root(ROOT / ".asv" / "env"), ignore_errors=True)
    # the suite's statistic (the fastest process, with its interval) into asv's result files
    if run([str(VENV / "bin" / "zarr-cryoet"), "restate", "--results", str(ROOT / ".asv" / "results")], env):
        log("WARNING: the results still hold asv's medians; run .venv/bin/zarr-cryoet restate")
    publish = run([*asv, "publish"], env)
    if publish == 0:
        # asv's page loads jQuery/flot/Bootstrap from CDNs; vendor them so it also works offline
        if run([str(VENV / "bin" / "zarr-cryoet"), "offline-dashboard", "--html", str(ROOT / "html")], env):
            log("WARNING: the dashboard still loads its JavaScript libraries from the internet")
        log(f"dashboard: {ROOT / 'html' / 'index.html'} (view it with: .venv/bin/asv preview)")
    if missing:
        log(f"skipped: the environments on Python {', '.join(missing)} (see the warning above)")
    minutes, seconds = divmod(round(time.monotonic() - STARTED), 60)
    log(f"finished in {minutes} min {seconds} s (set-up included)")
    return status or publish


#: nox's options that choose sessions: given any, ``test`` runs nox as told
NOX_SELECTION = ("-s", "--session", "--sessions", "-e", "-k", "--keywords", "-t", "--tags")


def test(extra: list[str]) -> int:
    """nox: pytest under each zarr of the matrix beside the real-asv session, then the nightly job's tests alone.

    The ``tests`` and ``asv`` sessions check no timings, so they run side by side (asv runs one benchmark
    process at a time, leaving cores idle); the ``nightly`` session compares timings, so it runs alone,
    after them. The ``asv`` session's output is kept in ``.nox/asv-session.log`` and printed when it ends.
    """
    env, missing = provide_pythons()
    env["ZARR_CRYOET_MISSING_PYTHONS"] = ",".join(missing)
    nox = [str(VENV / "bin" / "nox")]
    chosen = any(a.split("=")[0] in NOX_SELECTION for a in extra[:extra.index("--") if "--" in extra else None])
    if chosen:
        return run([*nox, *extra], env)
    log_path = ROOT / ".nox" / "asv-session.log"
    log_path.parent.mkdir(exist_ok=True)
    log(f"$ {' '.join([*nox, '-s', 'asv', *extra])} > {log_path.relative_to(ROOT)} (in the background)")
    with open(log_path, "w") as out:
        beside = subprocess.Popen([*nox, "-s", "asv", *extra], cwd=ROOT, env=env, stdout=out,
                                  stderr=subprocess.STDOUT)
        try:
            status = run([*nox, "-s", "tests", *extra], env)
            asv_status = beside.wait()
        finally:
            if beside.poll() is None:  # interrupted: stop the background session too
                beside.terminate()
                beside.wait()
    log(f"the asv session ({log_path.relative_to(ROOT)}):")
    print(log_path.read_text(errors="replace"), flush=True)
    nightly_status = run([*nox, "-s", "nightly", *extra], env)
    outcome = {"tests": status, "asv": asv_status, "nightly": nightly_status}
    log("sessions: " + ", ".join(f"{name} {'passed' if code == 0 else f'FAILED ({code})'}"
                                 for name, code in outcome.items()))
    return status or asv_status or nightly_status


def nightly(extra: list[str]) -> int:
    """zarr-cryoet nightly (arguments passed on), with the matrix Pythons on PATH."""
    check_settings()
    env, _ = provide_pythons()  # zarr-cryoet nightly reports the environments it had to skip
    return run([str(VENV / "bin" / "zarr-cryoet"), "nightly", *extra], env)


def backfill_shard(extra: list[str]) -> int:
    """zarr-cryoet backfill-shard (one job of .github/workflows/backfill.yml), with the matrix Pythons on PATH."""
    env, _ = provide_pythons()
    return run([str(VENV / "bin" / "zarr-cryoet"), "backfill-shard", *extra], env)


def merge_results(extra: list[str]) -> int:
    """zarr-cryoet merge-results (the backfill workflow's merge job)."""
    return run([str(VENV / "bin" / "zarr-cryoet"), "merge-results", *extra], dict(os.environ))


def recommend(extra: list[str]) -> int:
    """zarr-cryoet recommend (arguments passed on); with --source (a focused asv run, which checks
    the data itself), the matrix Pythons on PATH first."""
    env = dict(os.environ)
    if any(a == "--source" or a.startswith("--source=") for a in extra):
        env, _ = provide_pythons()
    return run([str(VENV / "bin" / "zarr-cryoet"), "recommend", *extra], env)


#: where ``benchmark`` and ``test`` record how long they took, run as the README gives them (no arguments)
TIMES_DIR = Path(".asv", "command-times")


def record_time(task: str, status: int, fresh: bool) -> None:
    """Write ``ROOT/TIMES_DIR/<task>.json``: the command, its wall time (set-up included), the commit, whether it
    started on a fresh clone (no .venv) and its exit status; ``zarr-cryoet command-times`` prints them."""
    import json

    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    record = {"command": f"python3 tasks.py {task}", "seconds": round(time.monotonic() - STARTED),
              "commit": commit, "fresh_clone": fresh, "status": status, "cores": os.cpu_count(),
              "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    (ROOT / TIMES_DIR).mkdir(parents=True, exist_ok=True)
    write_atomically(ROOT / TIMES_DIR / f"{task}.json", json.dumps(record, indent=1) + "\n")


#: each task and the function that runs it (looked up when it runs)
TASKS = {"benchmark": "benchmark", "test": "test", "nightly": "nightly", "recommend": "recommend",
         "backfill-shard": "backfill_shard", "merge-results": "merge_results"}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("task", choices=list(TASKS))
    args, extra = parser.parse_known_args(argv)
    fresh = not VENV_PYTHON.exists()
    ensure_venv(EXTRAS[args.task])
    try:
        status = globals()[TASKS[args.task]](extra)
    except TaskError as err:
        print(f"[tasks] error: {err}", file=sys.stderr, flush=True)
        return 2
    if args.task in ("benchmark", "test") and not extra:
        record_time(args.task, status, fresh)
    return status


if __name__ == "__main__":
    sys.exit(main())
