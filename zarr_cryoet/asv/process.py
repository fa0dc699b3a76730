"""Running asv as every run of the suite does: the command, in the foreground, with the machine registered.

Shared by the nightly job (:mod:`.nightly`), the focused run (:mod:`.focused_run`) and the alarm's proof
(:mod:`.alarm_proof`).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from zarr_cryoet.util.errors import ZarrCryoetError
from zarr_cryoet.asv import config as asv_config


class AsvRunError(ZarrCryoetError):
    """asv could not be set up for a run."""


def asv_command(conf_path: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "asv", "--config", str(conf_path), *args]


def run_foreground(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> int:
    """Run a command in the foreground (in ``env``, default this process's); on SIGTERM/Ctrl-C stop it too
    before giving up."""
    print(f"[nightly] $ {' '.join(cmd)}", flush=True)
    proc = subprocess.Popen(cmd, cwd=cwd, env=env)
    try:
        return proc.wait()
    except BaseException:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        raise


def run_suite(conf_path: Path, conf: dict, args: list[str], cwd: Path, env: dict[str, str] | None = None) -> int:
    """``asv run`` as every run of the suite makes it (:data:`asv_config.RUN_ARGS`: rounds interleaved across
    the environments, samples recorded), then the setup caches the rounds shared removed and the suite's
    statistic written into the results (:mod:`zarr_cryoet.asv.restate`). ``conf``: the config at
    ``conf_path``, with absolute paths. Returns asv's exit status."""
    from zarr_cryoet.asv.restate import restate

    try:
        return run_foreground(asv_command(conf_path, "run", *asv_config.RUN_ARGS, *args), cwd, env)
    finally:
        shutil.rmtree(asv_config.setup_cache_root(conf["env_dir"]), ignore_errors=True)
        if Path(conf["results_dir"]).is_dir():
            restate(conf["results_dir"])


def ensure_machine(conf_path: Path, machine: str, cwd: Path) -> None:
    from asv.machine import MachineCollection
    from asv.util import UserError

    try:
        MachineCollection.load(machine)
    except UserError:
        if run_foreground(asv_command(conf_path, "machine", "--yes", "--machine", machine), cwd) != 0:
            raise AsvRunError(f"asv machine --yes --machine {machine} failed; see its output above")


def environment_dirs(env_dir: Path) -> dict[str, Path]:
    """asv's environments under ``env_dir`` by the name asv gives them (``virtualenv-py3.11-zarr3.1.6``), read from
    each one's ``asv-env-info.json``."""
    import json

    from asv.environment import get_env_name

    found = {}
    for info_path in sorted(Path(env_dir).glob("*/asv-env-info.json")):
        info = json.loads(info_path.read_text())
        found[get_env_name(info["tool_name"], info["python"], info["requirements"], {})] = info_path.parent
    return found
