"""What the tests that run real asv share: the machine name, the expected environments, one asv run."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import matrix  # noqa: E402
from zarr_cryoet.tracking import both_cores  # noqa: E402

MACHINE = "zarr-cryoet-test"


#: the core a test's asv runs pin their benchmarks to (``--cpu``): the nightly session runs two pytest processes at
#: once, each given a core of its own here (noxfile.py), so two asv runs never share one
CPU_ENV = "ZARR_CRYOET_TEST_CPU"


def own_core() -> str:
    """``--cpu`` for this test process's asv runs: the core noxfile.py gave it, else ``auto`` (the last core)."""
    return os.environ.get(CPU_ENV, "auto")
REALISTIC_SHAPE = "128x136x136"
#: Pythons that tasks.py could neither find nor build; their environments are not run
MISSING = set(filter(None, os.environ.get("ZARR_CRYOET_MISSING_PYTHONS", "").split(",")))


def expected_envs() -> set[str]:
    """The zarr versions asv runs here."""
    return {z for py, z in matrix.zarr_matrix() if py not in MISSING}


def ci_selected(name: str, combo) -> bool:
    """Whether the tests' asv run (``matrix.CI_BENCH``) runs benchmark ``name`` with parameters ``combo``."""
    label = f"{name}({', '.join(combo)})" if combo else name
    return any(re.search(regex, label) for regex in matrix.CI_BENCH)


def run_suite(tmp: Path):
    """asv machine, check, run --quick (matrix.CI_BENCH) and publish over the whole matrix, into ``tmp``.

    Runs the committed HEAD of this repository (asv benchmarks commits, not the
    working tree), sharing the environments in .asv/env with ``python3 tasks.py
    benchmark``. Returns the config, ``tmp`` and each command's CompletedProcess.
    """
    conf = matrix.load_asv_conf()
    conf.update(repo=str(ROOT), benchmark_dir=str(ROOT / "benchmarks"), env_dir=str(ROOT / ".asv" / "env"),
                results_dir=str(tmp / "results"), html_dir=str(tmp / "html"))
    conf_path = tmp / "asv.conf.json"
    conf_path.write_text(json.dumps(conf, indent=2))
    asv = [sys.executable, "-m", "asv", "--config", str(conf_path)]
    only = ["-E", "virtualenv:3.11"] if MISSING else []
    env = {**os.environ, "ZARR_CRYOET_PROVENANCE_DIR": str(tmp / "provenance"),
           # the realistic-size tier on a volume small enough for the tests (its code path is the same)
           "ZARR_CRYOET_REALISTIC_SHAPE": REALISTIC_SHAPE,
           # the instruction counts of the cases CI_BENCH selects, not of the whole classes
           "ZARR_CRYOET_COUNT_ONLY": matrix.asv_config.CI_COUNT_ONLY}
    # as tasks.py benchmark runs the default selection on two cores: the tier that needs the whole machine, then the
    # one-core tier as two asv runs at once (zarr_cryoet.tracking.both_cores), their rows merged; on one core, one run
    cores = both_cores.cores_for_halves()
    # (the instruction counts are in the tests' selection but not in the default run's: with the whole machine)
    first = f"({matrix.asv_config.WHOLE_MACHINE_BENCH}|^instructions\\.)"
    selection = [both_cores.within(first, matrix.CI_BENCH)] if cores else [matrix.CI_BENCH]
    outputs = {}
    for name, args in [("machine", ["machine", "--yes", "--machine", MACHINE]),
                       ("check", ["check", *only]),
                       ("run", ["run", "--quick", "--show-stderr", "--machine", MACHINE,
                                *matrix.asv_config.RUN_ARGS,
                                *(arg for regex in selection[0] for arg in ("--bench", regex)),
                                *only]),
                       ("publish", ["publish"])]:
        proc = subprocess.run([*asv, *args], cwd=ROOT, capture_output=True, text=True, timeout=1800, env=env)
        if name == "run" and cores:
            halves = io.StringIO()
            status = both_cores.run_halves(
                conf_path, [sys.executable, "-m", "asv"], cores, ["--quick", "--machine", MACHINE, *only], env=env,
                benches=[both_cores.within(half, matrix.CI_BENCH) for half in matrix.asv_config.ONE_CORE_HALVES],
                out=halves)
            proc = subprocess.CompletedProcess(proc.args, proc.returncode or status, proc.stdout + halves.getvalue(),
                                               proc.stderr)
        outputs[name] = proc
        print(proc.stdout[-5000:], proc.stderr[-5000:])
        if name == "run":  # as every run of the suite: the setup caches go, the statistic goes into the files
            shutil.rmtree(matrix.asv_config.setup_cache_root(conf["env_dir"]), ignore_errors=True)
            from zarr_cryoet.asv.restate import restate

            restate(tmp / "results")
    return conf, tmp, outputs


def working_tree_repo(path: Path, zarr: str | None = None, build_isolation: bool = True) -> Path:
    """This working tree (tracked and untracked, not ignored files) as a fresh git repository at ``path`` with one
    commit, "base"; its asv config keeps the environments in this checkout's .asv/env (shared with the other asv
    tests) and, with ``zarr``, has that one zarr environment only. Without ``build_isolation`` asv builds each
    commit with the setuptools of its environment (5 s instead of 25 s a commit)."""
    path.mkdir(parents=True)
    files = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                           capture_output=True, check=True).stdout.split(b"\0")
    for name in filter(None, (f.decode() for f in files)):
        if (ROOT / name).is_file():
            (path / name).parent.mkdir(parents=True, exist_ok=True)
            (path / name).write_bytes((ROOT / name).read_bytes())
    conf = matrix.load_asv_conf(path / "asv.conf.json")
    if zarr:
        conf["matrix"]["req"]["zarr"], conf["include"] = [zarr], []
    conf["env_dir"] = str(ROOT / ".asv" / "env")
    if not build_isolation:
        conf["build_command"] = [c.replace("pip wheel", "pip wheel --no-build-isolation") for c in conf["build_command"]]
    (path / "asv.conf.json").write_text(json.dumps(conf, indent=2))
    git_commit(path, "base", init=True)
    return path


def git_commit(repo: Path, message: str, init: bool = False) -> str:
    """Commit everything in ``repo`` (``init``: make it a repository on branch main first); the commit's hash."""
    def git(*args):
        return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout

    if init:
        git("init", "--quiet", "--initial-branch", "main")
    git("add", "--all")
    git("-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "--quiet", "-m", message)
    return git("rev-parse", "HEAD").strip()
