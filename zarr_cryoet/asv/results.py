"""The asv results of one machine and one commit, loaded for the report.

What ``asv run`` left in ``.asv/results`` is read in one place, :func:`read_asv` (with asv's own
loader, :meth:`asv.results.Results.load`), for the report, the history (:mod:`zarr_cryoet.asv.entries`)
and the quality checks. asv is needed only there, and only in the development environment, so it is
imported when results are loaded.

The shape and dtype of each benchmark's data come from the provenance the benchmarks
recorded next to the results (:mod:`zarr_cryoet.data.provenance`), never from the label.
"""

from __future__ import annotations

import ast
import functools
import itertools
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from zarr_cryoet.data import provenance
from zarr_cryoet.util.errors import ZarrCryoetError
from zarr_cryoet.stats import calibration
from zarr_cryoet.stats.estimate import Estimate, estimate
from zarr_cryoet.util.versions import version_key
from zarr_cryoet.asv.config import env_label
from zarr_cryoet.asv.restate import per_process_counts

DEFAULT_RESULTS = Path(".asv", "results")
#: one whole default run shipped with the repository (recorded/README.md says which): the answer
#: before any benchmarking, and the source of the README's generated tables
RECORDED_RESULTS = Path("recorded", "results")
_UNITS = {"seconds": "s"}


class ReportError(ZarrCryoetError, ValueError):
    """The asv results cannot be reported: asv missing, no results, or an unknown machine/commit."""


@dataclass(frozen=True)
class Env:
    """One asv environment of a commit: a zarr release on one Python."""

    name: str
    zarr_version: str
    python: str
    label: str  # "zarr 3.4.2" (with the Python when two environments share a zarr release)


@dataclass(frozen=True)
class Volume:
    """A benchmark's data as its provenance records it: shape (z, y, x) and bytes per voxel."""

    shape: tuple[int, ...]
    itemsize: int

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.itemsize

    @classmethod
    def from_provenance(cls, recorded: dict | None) -> Volume | None:
        """The volume a provenance record describes (its ``shape`` and ``dtype``), or None without one."""
        if recorded is None:
            return None
        try:
            shape = tuple(int(n) for n in recorded["shape"])
            itemsize = np.dtype(recorded["dtype"]).itemsize
        except (KeyError, TypeError, ValueError):
            return None
        return cls(shape, itemsize) if len(shape) == 3 else None


@dataclass
class ReportResults:
    """The asv results of one machine and one commit, one :class:`Env` per environment.

    ``values`` maps ``(env name, benchmark, params)`` (params as a tuple in the
    benchmark's parameter order) to asv's stored result: a number, ``nan`` when
    skipped, ``None`` when failed.
    """

    results_dir: Path
    machine: str
    commit: str
    date: int | None
    envs: list[Env]
    values: dict = field(repr=False)
    #: the same keys to asv's statistics of the samples (``q_25``, ``q_75`` …), where it kept them
    stats: dict = field(repr=False)
    #: the same keys to the suite's statistic of a timing's recorded samples (``values`` holds its value)
    estimates: dict = field(repr=False)
    param_names: dict[str, list[str]] = field(repr=False)
    units: dict[str, str] = field(repr=False)
    #: when the run's last benchmark started (ms since the epoch, asv's ``started_at``), or None
    ran_at: int | None = None
    #: the other machines with results in ``results_dir`` (name one with ``--machine``)
    other_machines: tuple[str, ...] = ()
    #: benchmark → its parameters' values as asv writes them (``"'16x16x16'"``), for :meth:`asv_name`
    raw_params: dict = field(default_factory=dict, repr=False)
    #: data label → its :class:`Volume`, or None where no provenance is recorded (filled by :meth:`volume`)
    _volumes: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    @classmethod
    def load(cls, results_dir=None, machine: str | None = None,
             commit: str | None = None) -> ReportResults:
        """Load one machine's results for one commit (default: the latest commit by date).

        ``results_dir`` None: :func:`default_results_dir`.
        """
        files = read_asv(results_dir, machine, commit)
        envs = _envs(files.results)
        values, stats, estimates, param_names, units, raw = {}, {}, {}, {}, {}, {}
        for env, result in zip(envs, files.results):
            for key in sorted(result.get_result_keys(files.benchmarks)):
                raw_params = result.get_result_params(key) or []
                combos = _product([[_decode(v) for v in values_] for values_ in raw_params])
                cell_stats = result.get_result_stats(key, raw_params) or [None] * len(combos)
                cell_samples = result.get_result_samples(key, raw_params) or [None] * len(combos)
                for combo, value, stat, samples in zip(combos, result.get_result_value(key, raw_params), cell_stats,
                                                       cell_samples):
                    cell = (env.name, key, combo)
                    found = files.estimate(key, value, samples, unsampled=True)
                    values[cell] = found.value if found else value
                    if found:
                        estimates[cell] = found
                    if stat:
                        stats[cell] = stat
                param_names[key] = list(files.benchmarks[key].get("param_names") or [])
                raw[key] = [list(values_) for values_ in raw_params]
                units[key] = _unit(files.benchmarks[key])
        order = sorted(range(len(envs)), key=lambda i: (version_key(envs[i].zarr_version),
                                                        version_key(envs[i].python)))
        return cls(files.results_dir, files.machine, files.commit, max((r.date or 0) for r in files.results) or None,
                   [envs[i] for i in order], values, stats, estimates, param_names, units,
                   ran_at=max((t for r in files.results for t in (r.started_at or {}).values() if t), default=None),
                   other_machines=files.other_machines, raw_params=raw)

    # -- queries --

    @property
    def newest(self) -> Env:
        """The environment with the newest zarr release."""
        return self.envs[-1]

    @property
    def short_commit(self) -> str:
        return self.commit[:8]

    def has(self, module: str) -> bool:
        """Whether there are results of any benchmark of ``module`` (``"compression"``, ``"chunking"``)."""
        return any(key.startswith(module + ".") for key in self.param_names)

    def value(self, env: Env, benchmark: str, **params):
        """asv's result for one cell: a number, ``nan`` (skipped or absent) or ``None`` (failed)."""
        combo = tuple(params.get(name) for name in self.param_names.get(benchmark, ()))
        return self.values.get((env.name, benchmark, combo), math.nan)

    def estimate(self, env: Env, benchmark: str, **params) -> Estimate | None:
        """The suite's statistic of one timing (:mod:`zarr_cryoet.stats.estimate`: the fastest process, every
        process's minimum, and the machine's measured band where it has one), or None where the timing has no time
        (skipped, failed, or not a timing). A result without recorded samples is one process."""
        combo = tuple(params.get(name) for name in self.param_names.get(benchmark, ()))
        return self.estimates.get((env.name, benchmark, combo))

    def asv_name(self, benchmark: str, **params) -> str | None:
        """The name asv gives one parameter combination (``bench('a', 2)``), which ``asv run --bench`` selects by;
        None where the results do not have it."""
        names = self.param_names.get(benchmark)
        if names is None:
            return None
        raws = []
        for name, choices in zip(names, self.raw_params.get(benchmark, [])):
            raw = next((r for r in choices if _decode(r) == params.get(name)), None)
            if raw is None:
                return None
            raws.append(raw)
        return f"{benchmark}({', '.join(raws)})" if raws else benchmark

    def machine_info(self) -> dict:
        """What ``asv machine`` recorded about the machine (cpu, num_cpu, ram …); empty if unreadable."""
        try:
            return json.loads((self.results_dir / self.machine / "machine.json").read_text())
        except (OSError, ValueError):
            return {}

    def choices(self, module: str, name: str) -> list:
        """Every value parameter ``name`` takes in ``module``'s benchmarks, in asv's order."""
        seen = {}
        for (_, key, combo) in self.values:
            names = self.param_names[key]
            if key.startswith(module + ".") and name in names:
                seen.setdefault(combo[names.index(name)], None)
        return list(seen)

    def failed(self) -> list[str]:
        """One description per failed cell (asv stored null), as ``<benchmark>(<params>) on <zarr release>``."""
        labels = {env.name: env.label for env in self.envs}
        return [f"{key}({', '.join(f'{n}={v}' for n, v in zip(self.param_names[key], combo) if n != 'data')}) "
                f"on {labels[env]}" for (env, key, combo), value in self.values.items() if value is None]

    def volume(self, data) -> Volume | None:
        """Shape and voxel size of ``data`` from the provenance recorded next to the results, or None."""
        if data is None:
            return None
        if data not in self._volumes:
            self._volumes[data] = Volume.from_provenance(provenance.lookup(self.results_dir, str(data)))
        return self._volumes[data]

    def provenance(self, data) -> dict | None:
        """Everything the benchmarks recorded about ``data`` (source, shape, voxel size …), or None."""
        return provenance.lookup(self.results_dir, str(data)) if data is not None else None

    def unrecorded(self) -> list:
        """The data labels :meth:`volume` was asked about that have no (usable) provenance."""
        return [data for data, volume in self._volumes.items() if volume is None]

    def run_label(self, data=None, *, cores: str = "one core", zarr: str | None = None) -> str:
        """The label every figure carries (:func:`~zarr_cryoet.report.style.add_run_label`): data and its size,
        cores, zarr release(s), commit and machine, e.g. ``phantom (128×128×128, 8.4 MB) · one core · zarr 3.4.2 ·
        commit 5ec4b583 on vm``. ``zarr`` defaults to every release in the results."""
        parts = []
        if data is not None:
            volume = self.volume(data)
            parts.append(f"{data} ({'×'.join(map(str, volume.shape))}, {volume.nbytes / 1e6:.1f} MB)"
                         if volume is not None else str(data))
        parts.append(cores)
        parts.append("zarr " + (zarr or ", ".join(env.zarr_version for env in self.envs)))
        parts.append(f"commit {self.short_commit} on {self.machine}")
        return " · ".join(parts)

    def context(self, env: Env, data) -> dict:
        """The columns every CSV row carries."""
        return {"zarr_version": env.zarr_version, "python": env.python, "data": data,
                "commit": self.commit, "machine": self.machine}


@dataclass
class AsvFiles:
    """What asv wrote for one machine of a results directory (:func:`read_asv`): its ``Results`` (one per
    environment and commit) and ``benchmarks.json`` (without its version)."""

    results_dir: Path
    machine: str
    commit: str | None  # the chosen commit; None: every commit's results
    results: list
    benchmarks: dict
    other_machines: tuple[str, ...]
    per_process: dict[str, int | None]  # timing benchmark → samples per process (restate.per_process_counts)

    @functools.cached_property
    def profile(self):
        return intervals_profile(self.results_dir, self.machine)

    def estimate(self, key: str, value, samples, *, unsampled: bool = False) -> Estimate | None:
        """The suite's statistic of one timing (with the machine's band, where it has one); None where it has no
        time, and without recorded samples unless ``unsampled`` (then it is one process)."""
        if key not in self.per_process or not finite(value) or not (samples or unsampled):
            return None
        found = estimate(samples, self.per_process[key]) if samples else Estimate(value, (value,), 1)
        if found is not None and self.profile is not None:
            found = found.with_band(self.profile.band(key, found))
        return found


def read_asv(results_dir=None, machine: str | None = None, commit: str | None = None, *,
             every_commit: bool = False) -> AsvFiles:
    """The one reader of asv's files: ``machine``'s results in ``results_dir`` (None: :func:`default_results_dir`,
    :func:`default_machine`) of the commit ``commit`` names (:func:`choose_commit`), or of every commit. Each problem
    is a one-line :class:`ReportError` naming its fix; only ``every_commit`` (a machine's history) takes a machine
    without results, or no ``benchmarks.json``, as nothing recorded yet."""
    asv_results, asv_util = _import_asv()
    results_dir = default_results_dir() if results_dir is None else Path(results_dir)
    machines = _machines(results_dir)
    index = results_dir / "benchmarks.json"
    if machine is None and machines:
        machine = default_machine(machines)
    if not every_commit:
        if not results_dir.is_dir():
            raise ReportError(f"no asv results directory at {results_dir}; run python3 tasks.py benchmark "
                              "first, or pass --results DIR")
        if not machines:
            raise ReportError(f"no asv results in {results_dir}; run python3 tasks.py benchmark first")
        if machine not in machines:
            raise ReportError(f"no results for machine {machine!r} in {results_dir}; "
                              f"known machines: {', '.join(machines)}")
        if not index.is_file():
            raise ReportError(f"{index} is missing; run python3 tasks.py benchmark (asv run writes it)")
    try:
        benchmarks = asv_util.load_json(str(index), api_version=2) if index.is_file() else {}
        loaded = [asv_results.Results.load(str(path)) for path in machines.get(machine, [])]
    except asv_util.UserError as err:
        raise ReportError(f"{' '.join(str(err).split())}; run python3 tasks.py benchmark again") from None
    chosen = None if every_commit else choose_commit(loaded, commit, machine)
    return AsvFiles(results_dir, machine, chosen, [r for r in loaded if every_commit or r.commit_hash == chosen],
                    benchmarks, tuple(name for name in machines if name != machine), per_process_counts(benchmarks))


def _import_asv():
    try:
        import asv.results
        import asv.util
    except ImportError:
        raise ReportError("reading benchmark results needs asv; install asv (pip install asv) into this "
                          "environment, e.g. with python3 tasks.py benchmark") from None
    return asv.results, asv.util


def intervals_profile(results_dir: Path, machine: str):
    """The machine's measured interval bands (:mod:`zarr_cryoet.stats.calibration`), or None where it has none:
    its timings then carry the range of their processes."""
    path = calibration.default_path(results_dir, machine)
    return calibration.Profile.load(path) if path else None


def _machines(results_dir: Path) -> dict[str, list[Path]]:
    """The machines with results in ``results_dir`` (folders with asv's machine.json), each with its result files."""
    if not results_dir.is_dir():
        return {}
    files = {d.name: sorted(p for p in d.glob("*.json") if p.name not in ("machine.json", "benchmarks.json"))
             for d in sorted(results_dir.iterdir()) if (d / "machine.json").is_file()}
    return {name: paths for name, paths in files.items() if paths}


def default_results_dir() -> Path:
    """Where ``report`` and ``recommend`` look without ``--results``: this checkout's own asv results
    (``.asv/results``) once it has any, else the run recorded in the repository (``recorded/results``)."""
    if not _machines(DEFAULT_RESULTS) and _machines(RECORDED_RESULTS):
        return RECORDED_RESULTS
    return DEFAULT_RESULTS


def default_machine(machines) -> str:
    """Of several machines, asv's default one (this host's name, what ``asv run`` records without
    ``--machine``) when it has results, else the only one, else the one with the newest result file."""
    import socket

    names = list(machines)
    if len(names) == 1:
        return names[0]
    if socket.gethostname() in names:
        return socket.gethostname()
    return max(names, key=lambda name: max(p.stat().st_mtime for p in machines[name]))


def choose_commit(loaded, prefix: str | None, machine: str) -> str:
    """The commit of asv ``Results`` ``loaded`` that ``prefix`` names (default: the latest by date)."""
    dates = {}
    for result in loaded:
        dates[result.commit_hash] = max(dates.get(result.commit_hash, 0), result.date or 0)
    if prefix is None:
        return max(dates, key=lambda h: (dates[h], h))
    matches = [h for h in dates if h.lower().startswith(prefix.strip().lower())] if prefix.strip() else []
    if len(matches) != 1:
        known = ", ".join(h[:8] for h in sorted(dates, key=dates.get, reverse=True))
        problem = "matches several commits" if matches else "matches no commit"
        raise ReportError(f"--commit {prefix!r} {problem} with results on machine {machine!r}; "
                          f"known commits: {known}")
    return matches[0]


def _envs(results) -> list[Env]:
    raw = []
    for result in results:
        zarr_version = str(result.params.get("zarr") or "unknown")
        raw.append((result.env_name, zarr_version, str(result.params.get("python") or "")))
    versions = [v for _, v, _ in raw]
    return [Env(name, v, py, env_label({"zarr": v, "python": py}, with_python=versions.count(v) > 1))
            for name, v, py in raw]


def _decode(value):
    """A parameter value as asv stores it (its ``repr``) back to the value: ``"'none'"`` → ``"none"``."""
    try:
        return ast.literal_eval(value)
    except (ValueError, SyntaxError, TypeError):
        return value


def _product(params):
    """asv's order of parameter combinations (``itertools.product``)."""
    return list(itertools.product(*params))


def _unit(benchmark: dict) -> str:
    unit = benchmark.get("unit") or ""
    return _UNITS.get(unit, unit)


def finite(value) -> bool:
    """Whether an asv value is a result: not skipped (``nan``) and not failed (``None``)."""
    return value is not None and not (isinstance(value, float) and math.isnan(value))
