"""Test sessions, one per environment of the asv matrix (run them with ``python3 tasks.py test``).

* ``tests``: the pytest suite under each (python, zarr) pair that asv.conf.json
  benchmarks, so zarr_cryoet is proven on every zarr it is measured with;
* ``asv``: a real ``asv check`` and ``asv run --quick`` across the whole matrix;
* ``nightly``: the nightly job end to end.

``python3 tasks.py test`` runs ``tests`` and ``asv`` side by side (neither's checks depend on timings),
then ``nightly`` alone.
"""

import os
import subprocess
import sys
from pathlib import Path

import nox

sys.path.insert(0, str(Path(__file__).resolve().parent / "tools"))
import matrix  # noqa: E402

nox.options.default_venv_backend = "virtualenv"
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = True

MATRIX = matrix.zarr_matrix()
# tasks.py lists the Pythons it could neither find nor build; their sessions skip.
MISSING_PYTHONS = set(filter(None, os.environ.get("ZARR_CRYOET_MISSING_PYTHONS", "").split(",")))


@nox.session
@nox.parametrize(("python", "zarr"), MATRIX, ids=[f"zarr-{z}" for _, z in MATRIX])
def tests(session: nox.Session, zarr: str) -> None:
    """pytest (without the slow asv test) under one zarr version."""
    if session.python in MISSING_PYTHONS:
        session.skip(f"Python {session.python} is not available here")
    session.install(f"zarr=={zarr}", "-e", ".[test]")
    session.install("--no-deps", *matrix.WITHOUT_DEPENDENCIES)
    # the engines asv's environments get (zarrs, tensorstore; none on zarr 2), installed the same way
    session.run("python", "-m", "zarr_cryoet.engines.install")
    session.run("python", "-c", "import zarr, numcodecs, numpy; print('zarr', zarr.__version__, "
                "'numcodecs', numcodecs.__version__, 'numpy', numpy.__version__)")
    session.run("python", "-c", "from zarr_cryoet import engines; "
                "print({k: v['version'] or v['reason'] for k, v in engines.describe().items()})")
    # the tests without zarr in them (marked ``once``: recorded asv results, figures, tables, statistics) run under
    # the newest zarr alone: they do not depend on it, and under every zarr they cost CI some 5 minutes
    newest = [z for py, z in MATRIX if py not in MISSING_PYTHONS][-1]
    selection = "not asv" if zarr == newest else "not asv and not once"
    # on every core: these tests share no state (each its own tmp_path, port 0), and it halves CI's time
    session.run("pytest", "-m", selection, "-n", "auto", "--durations=15", *session.posargs)


#: the end-to-end tests of the nightly job, run alone after the others: the nightly job's own compare timings; the
#: bisection's and the backfill's (alarm to culprit, shards merged) are the heaviest asv runs, and beside the pytest
#: sessions they doubled in time and slowed those too (CI 28 min against 22 with them here)
NIGHTLY_TESTS = ["tests/test_nightly_asv.py", "tests/test_bisection_asv.py", "tests/test_backfill_asv.py"]


@nox.session(venv_backend="none")
def asv(session: nox.Session) -> None:
    """asv check + asv run --quick + asv publish over the whole matrix, in a temporary results dir; the dashboard
    and the focused run. In this interpreter (``.venv``, which has ``.[dev]``): asv builds its own environments."""
    # its own temporary directory: pytest sessions sharing /tmp/pytest-of-$USER delete each other's older
    # directories (it keeps the newest three), and this one runs beside the ``tests`` sessions
    basetemp = Path(".nox", "asv-session-tmp").resolve()
    ignored = [a for test in NIGHTLY_TESTS for a in ("--ignore", test)]
    session.run(sys.executable, "-m", "pytest", "-m", "asv", *ignored, f"--basetemp={basetemp}", "--durations=15",
                *session.posargs, external=True)


@nox.session(venv_backend="none")
def nightly(session: nox.Session) -> None:
    """The nightly job end to end (real asv, git and pip): a slowdown caught, a clean night quiet, a killed run; from
    alarm to culprit on a local zarr-python repository; backfill shards merged and published."""
    pytest = [sys.executable, "-m", "pytest", "-m", "asv", "--durations=10", *session.posargs]
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        session.run(*pytest, *NIGHTLY_TESTS, external=True)
        return
    # on two cores, the bisection (asv environments of its own) runs beside the nightly and backfill tests (which
    # share this checkout's .asv/env, so one after the other), each pytest's benchmarks pinned to a core of its own
    # (tests/asv_helpers.own_core): 4.5 min instead of 6.7
    side_log = Path(".nox", "bisection-session.log")
    side_log.parent.mkdir(exist_ok=True)
    with open(side_log, "w") as log:
        side = subprocess.Popen([*pytest, NIGHTLY_TESTS[1]], stdout=log, stderr=subprocess.STDOUT,
                                env={**os.environ, "ZARR_CRYOET_TEST_CPU": str(cores[-2])})
    try:
        session.run(*pytest, NIGHTLY_TESTS[0], NIGHTLY_TESTS[2], external=True,
                    env={"ZARR_CRYOET_TEST_CPU": str(cores[-1])})
    finally:
        status = side.wait()
        print(f"--- {NIGHTLY_TESTS[1]} ({side_log}):\n{side_log.read_text()[-6000:]}")
    if status:
        session.error(f"{NIGHTLY_TESTS[1]} failed (exit {status}); its output is above")
