"""``zarr-cryoet recommend --source``: a focused asv run on one's own data, then the answer from it.

The run is real asv, with this repository's benchmarks at the checked-out commit, on one zarr release (the newest whose
Python is on PATH, or ``--zarr``), and only the benchmarks the recommendations need
(:data:`asv_config.FOCUSED_BENCH`: the chunking and HTTP reads, the codec ratios and the lossy
fidelity figures). It reuses the environment ``python3 tasks.py benchmark`` built for that release
(the environment's name depends only on its Python and zarr), and records its results under a machine
name of the data's own (:meth:`SourceRequest.machine_name <zarr_cryoet.data.request.SourceRequest.machine_name>`), so the phantom's results and the
dashboard's history are never overwritten. On a 128³ crop it takes a few minutes on two cores.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path

from zarr_cryoet.data import sources
from zarr_cryoet.data.provenance import PROVENANCE_DIR_ENV, provenance_dir
from zarr_cryoet.util.errors import ZarrCryoetError
from zarr_cryoet.asv import config as asv_config
from zarr_cryoet.asv.process import ensure_machine, run_suite
from zarr_cryoet.util.versions import version_key

DEFAULT_CONFIG = Path("asv.conf.json")


class FocusedRunError(ZarrCryoetError):
    """The focused run cannot start (no config, no Python for the zarr release) or recorded nothing."""


@dataclass(frozen=True)
class FocusedRun:
    """What a focused run measured: where asv put the results, under which machine, on which zarr."""

    results_dir: Path
    machine: str
    zarr_version: str
    status: int  # asv run's exit status (non-zero: some benchmarks failed)


def choose_environment(conf: dict, zarr_version: str | None) -> tuple[str, str]:
    """The (python, zarr) environment to run: ``zarr_version``'s, else the newest with its Python on PATH."""
    envs = [(py, z) for py, z in asv_config.environments(conf) if z]
    known = ", ".join(z for _, z in envs)
    if zarr_version:
        chosen = [(py, z) for py, z in envs if z == zarr_version]
        if not chosen:
            raise FocusedRunError(f"--zarr {zarr_version} is not in the asv matrix; choose one of {known}")
        python, _ = chosen[0]
        if shutil.which(f"python{python}") is None:
            raise FocusedRunError(f"zarr {zarr_version} runs on Python {python} and there is no python{python} on "
                                  "PATH; run through python3 tasks.py recommend (which provides it)")
        return chosen[0]
    available = [(py, z) for py, z in envs if shutil.which(f"python{py}")]
    if not available:
        raise FocusedRunError(f"none of the asv matrix's Pythons is on PATH (zarr {known}); run through "
                              "python3 tasks.py recommend (which provides them)")
    return max(available, key=lambda env: version_key(env[1]))


def focused_config(conf: dict, conf_dir: Path, python: str, zarr_version: str) -> dict:
    """``conf`` with one environment (the same name, so the same directory, as in the full matrix) and
    absolute paths, so it can be written anywhere."""
    conf = asv_config.with_absolute_paths(conf, conf_dir)
    conf["pythons"] = [python]
    conf["matrix"] = {"req": {**(conf.get("matrix") or {}).get("req", {}), "zarr": [zarr_version]}}
    conf.pop("include", None)
    conf.pop("exclude", None)
    return conf


def run(request: sources.SourceRequest, *, zarr_version: str | None = None, config: Path = DEFAULT_CONFIG,
        cpu: str = "auto", quick: bool = False) -> FocusedRun:
    """Check the data, run the focused benchmarks on it with asv and return where the results are."""
    config = Path(config)
    if not config.is_file():
        raise FocusedRunError(f"asv config {config} not found; run zarr-cryoet recommend --source from the "
                              "repository's top directory (where asv.conf.json is)")
    conf_dir = config.resolve().parent
    try:
        conf = asv_config.load(config)
    except (OSError, ValueError) as err:
        raise FocusedRunError(f"asv config {config} is not valid: {err}") from None
    python, zarr_version = choose_environment(conf, zarr_version)
    sources.check(request)  # a missing file or an unreachable portal is one line, before asv starts
    # the default phantom gets a name of its own too, so the full run's results stay whole
    machine = request.machine_name() or f"{socket.gethostname()}-phantom-recommend"
    focused = focused_config(conf, conf_dir, python, zarr_version)
    results_dir = Path(focused["results_dir"])
    results_dir.mkdir(parents=True, exist_ok=True)
    env = request.environment()
    env[PROVENANCE_DIR_ENV] = str(provenance_dir(results_dir))
    handle, conf_path = tempfile.mkstemp(prefix="focused-", suffix=".conf.json", dir=results_dir.parent)
    try:
        with os.fdopen(handle, "w") as out:
            json.dump(focused, out, indent=2)
        conf_path = Path(conf_path)
        ensure_machine(conf_path, machine, conf_dir)
        bench = [a for regex in asv_config.FOCUSED_BENCH for a in ("--bench", regex)]
        # the checked-out commit (asv's default would be the tip of the config's first branch)
        status = run_suite(conf_path, focused, ["HEAD^!", "--machine", machine, "--show-stderr", *bench,
                                                *asv_config.cpu_affinity(cpu), *(["--quick"] if quick else [])],
                           conf_dir, env)
    finally:
        Path(conf_path).unlink(missing_ok=True)
    if not any((results_dir / machine).glob("*.json")) or not (results_dir / "benchmarks.json").is_file():
        raise FocusedRunError(f"asv recorded no results for machine {machine} (exit status {status}); "
                              "see its output above")
    return FocusedRun(results_dir, machine, zarr_version, status)

