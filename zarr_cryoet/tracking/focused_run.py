"""``zarr-cryoet recommend --source``: a focused asv run on one's own data, then the answer from it.

The run is real asv, with this repository's benchmarks at the checked-out commit, on one zarr release (the newest whose
Python is on PATH, or ``--zarr``), and only the benchmarks the recommendations need. Which ones depends on the size
(:func:`tier`):

* **the whole volume** (``--size full``, the default, or a crop larger than 256³ voxels; a ``phantom`` with a size is
  generated at that size): the use cases' reads (an XY plane, the three orthogonal planes, 16 boxes of 32³ and of
  64³, the full read) of benchmarks/realistic.py on every core, plain chunks on zarr format 2 and 3 and shards on
  format 3 (:data:`asv_config.FOCUSED_WHOLE_BENCH`); about 3 min for a 184×630×630 float32 tomogram on two cores;
* **a crop** of up to 256³ voxels (``--size 128``): the per-chunk tier on one core (:data:`asv_config.FOCUSED_BENCH`:
  the chunking and HTTP reads, the codec ratios and the lossy fidelity figures).

It reuses the environment ``python3 tasks.py benchmark`` built for that release
(the environment's name depends only on its Python and zarr), and records its results under a machine
name of the data's own (:meth:`SourceRequest.machine_name <zarr_cryoet.data.request.SourceRequest.machine_name>`), so the
phantom's results and the dashboard's history are never overwritten. The machine is marked as a focused run's
(:func:`focused_machines`), so a plain ``zarr-cryoet recommend`` answers from the full run, never from it
(:func:`plain_results`), unless asked with ``--machine``.
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
    tier: str = "crop"  # WHOLE or CROP (:func:`tier`)
    data: str = ""  # the data's identity, as measured (a phantom with a size: generated at that size)


#: the two kinds of focused run: the use cases on the whole volume on every core, or the per-chunk tier on a crop
WHOLE, CROP = "whole", "crop"
#: where a results directory lists the machines of focused runs (one file per machine: what it measured, as JSON);
#: no ``.json`` suffix, so asv does not take it for results
FOCUSED_DIR = ".focused"


def whole_volume(request: sources.SourceRequest) -> sources.SourceRequest:
    """``request`` as the focused run loads it: a ``phantom`` with a size is the phantom generated at that size."""
    if request.kind == "phantom" and request.size is not None and not request.target:
        size = (request.size,) * 3 if isinstance(request.size, int) else tuple(request.size)
        return sources.SourceRequest.parse(f"phantom:{'x'.join(map(str, size))}")
    return request


def tier(request: sources.SourceRequest) -> str:
    """:data:`WHOLE` for a whole volume (no crop, a phantom, or a crop larger than
    :data:`asv_config.FOCUSED_CROP_VOXELS`), else :data:`CROP`."""
    if request.kind == "phantom" or request.size is None:
        return WHOLE
    size = (request.size,) * 3 if isinstance(request.size, int) else tuple(request.size)
    return WHOLE if size[0] * size[1] * size[2] > asv_config.FOCUSED_CROP_VOXELS else CROP


def focused_machines(results_dir) -> dict[str, dict]:
    """The machines of ``results_dir`` that focused runs recorded, each with what it measured."""
    folder = Path(results_dir, FOCUSED_DIR)
    out = {}
    for path in sorted(folder.iterdir()) if folder.is_dir() else ():
        try:
            out[path.name] = json.loads(path.read_text())
        except (OSError, ValueError):
            out[path.name] = {}
    return out


def plain_results(results_dir=None, machine: str | None = None) -> tuple[Path | None, str | None, str | None]:
    """Where a plain ``recommend`` (no ``--source``) answers from: ``(results_dir, machine, note)``.

    Given a machine, that one. Else the default machine of the results among those no focused run recorded; where
    only focused runs are there, the run recorded in this repository (without ``--results``) or the newest focused
    run (with it). ``note`` says which, where focused runs are involved (None where there are none)."""
    from zarr_cryoet.asv import results as asv_results

    chosen = Path(results_dir) if results_dir else asv_results.default_results_dir()
    focused = focused_machines(chosen)
    if machine:
        info = focused.get(machine)
        return results_dir, machine, (f"Answering from the focused run on machine {machine} ({info.get('data', '?')}),"
                                      " as asked." if info is not None else None)
    if not focused:
        return results_dir, None, None
    runs = ", ".join(f"{name} ({info.get('data', '?')})" for name, info in focused.items())
    machines = asv_results._machines(chosen)
    plain = {name: paths for name, paths in machines.items() if name not in focused}
    if plain:
        chosen_machine = asv_results.default_machine(plain)
        where = f"machine {chosen_machine}"
    elif results_dir is None and asv_results._machines(asv_results.RECORDED_RESULTS):
        chosen, chosen_machine = asv_results.RECORDED_RESULTS, None
        where = f"the run recorded in this repository ({chosen})"
    else:
        ran = {name: paths for name, paths in machines.items() if name in focused}
        if not ran:
            return results_dir, None, None
        chosen_machine = asv_results.default_machine(ran)
        return chosen, chosen_machine, (f"Answering from the focused run on machine {chosen_machine} "
                                        f"({focused[chosen_machine].get('data', '?')}): {chosen} holds no other run.")
    return chosen, chosen_machine, (f"Answering from {where}, not from the focused runs here: {runs}; for one of "
                                    "those add --machine NAME (or run --source again).")


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
    request = whole_volume(request)
    kind = tier(request)
    sources.check(request)  # a missing file or an unreachable portal is one line, before asv starts
    # the default phantom gets a name of its own too, so the full run's results stay whole
    machine = request.machine_name() or f"{socket.gethostname()}-phantom-recommend"
    focused = focused_config(conf, conf_dir, python, zarr_version)
    results_dir = Path(focused["results_dir"])
    results_dir.mkdir(parents=True, exist_ok=True)
    env = request.environment()
    env[PROVENANCE_DIR_ENV] = str(provenance_dir(results_dir))
    if kind == WHOLE:  # the realistic tier on this data, its setup cache building the use cases' stores only
        env[asv_config.FOCUSED_ENV] = "1"
        cpu = "none"  # every core, as a reader of a whole tomogram uses them
    regexes = asv_config.FOCUSED_WHOLE_BENCH if kind == WHOLE else asv_config.FOCUSED_BENCH
    handle, conf_path = tempfile.mkstemp(prefix="focused-", suffix=".conf.json", dir=results_dir.parent)
    try:
        with os.fdopen(handle, "w") as out:
            json.dump(focused, out, indent=2)
        conf_path = Path(conf_path)
        ensure_machine(conf_path, machine, conf_dir)
        bench = [a for regex in regexes for a in ("--bench", regex)]
        # the checked-out commit (asv's default would be the tip of the config's first branch)
        status = run_suite(conf_path, focused, ["HEAD^!", "--machine", machine, "--show-stderr", *bench,
                                                *asv_config.cpu_affinity(cpu), *(["--quick"] if quick else [])],
                           conf_dir, env)
    finally:
        Path(conf_path).unlink(missing_ok=True)
    if not any((results_dir / machine).glob("*.json")) or not (results_dir / "benchmarks.json").is_file():
        raise FocusedRunError(f"asv recorded no results for machine {machine} (exit status {status}); "
                              "see its output above")
    mark = results_dir / FOCUSED_DIR / machine
    mark.parent.mkdir(exist_ok=True)
    mark.write_text(json.dumps({"data": request.identity(), "source": request.spec, "tier": kind}))
    return FocusedRun(results_dir, machine, zarr_version, status, kind, request.identity())

