"""How far each benchmark moves between runs of the same code here, and so the smallest change it can detect.

Several runs of one commit (``asv run`` under several machine names, e.g. ``vm``, ``vm-b``; runs
of a subset of the benchmarks count for that subset) give, per timing (environment × benchmark ×
parameters), the spread of its value between runs: the standard deviation ``sigma`` of its
logarithm. With few runs that estimate is rough, so it is
pooled with its family (the same benchmark method in the same environment, other parameters):
``sigma² = (dof·own² + PRIOR_DOF·family²) / (dof + PRIOR_DOF)``, the family's the median of its
members'. The **smallest detectable change** is then the change a single new run must exceed to
be flagged at asv compare's significance level (one-sided p = 0.002, :data:`Z`):
``exp(Z·√2·sigma) − 1`` (two runs, each with that spread). A timing whose detectable change is
beyond :data:`USELESS` is named as too noisy for an alarm.

``zarr-cryoet stability --machine A --machine B [...] --save FILE`` measures a profile; the
nightly job reads it (``--noise FILE``; by default ``.asv/noise/<machine>.json``, then the one
recorded in the repository for that machine) and uses each timing's own threshold.
"""

from __future__ import annotations

import json
import math
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from zarr_cryoet.util.errors import ZarrCryoetError
from zarr_cryoet.util.files import write_atomically
from zarr_cryoet.asv.entries import History

#: one-sided normal quantile of p = 0.002, the significance asv compare asks of a change
Z = 2.878
#: how many runs' worth of weight the family's spread gets against a timing's own
PRIOR_DOF = 4
#: a timing that cannot detect less than this change has a useless threshold (it is named so)
USELESS = 0.5
#: the fewest timings a family needs for its common shift to be judged
FAMILY_MIN = 4
FORMAT = 1


class NoiseError(ZarrCryoetError, ValueError):
    """A noise profile that cannot be measured or read."""


def family(name: str) -> str:
    """The benchmark method of an unrolled name: ``chunking.Read.time_read_full('p', '16x16x16', 2)`` →
    ``chunking.Read.time_read_full``."""
    return name.partition("(")[0]


def timing_values(history: History, commit: str) -> dict[tuple[str, str], float]:
    """{(environment, benchmark with parameters): value} of every timing of ``commit`` that ran."""
    return {(env, name): e.value for (env, c, name), e in history.entries.items()
            if c == commit and ".time_" in name and e.value is not None and math.isfinite(e.value) and e.value > 0}


@dataclass
class NoiseProfile:
    """Per timing, its spread between runs (log sigma) and the smallest change a new run can be flagged for."""

    machine: str
    commit: str
    runs: list[str]
    sigma: dict[tuple[str, str], float] = field(default_factory=dict)
    #: per (environment, benchmark method): the spread between runs of the mean log value of its timings
    family_sigma: dict[tuple[str, str], float] = field(default_factory=dict)

    def detectable(self, env: str, name: str) -> float | None:
        """The smallest change (0.12: +12 %) this timing can be flagged for, or None if it was not measured."""
        sigma = self.sigma.get((env, name))
        return None if sigma is None else math.exp(Z * math.sqrt(2) * sigma) - 1

    def family_detectable(self, env: str, method: str) -> float | None:
        """The smallest shift of a whole family (every timing of one benchmark method in one environment, their
        mean log ratio) that can be flagged, or None if it was not measured."""
        sigma = self.family_sigma.get((env, method))
        return None if sigma is None else math.exp(Z * math.sqrt(2) * sigma) - 1

    def useless(self) -> list[tuple[str, str]]:
        """The timings too noisy to alarm on (detectable change beyond :data:`USELESS`)."""
        return sorted(k for k in self.sigma if self.detectable(*k) > USELESS)

    def save(self, path) -> Path:
        data = {"format": FORMAT, "machine": self.machine, "commit": self.commit, "runs": self.runs, "z": Z,
                "timings": [{"env": env, "benchmark": name, "sigma": round(s, 6),
                             "detectable": round(self.detectable(env, name), 4)}
                            for (env, name), s in sorted(self.sigma.items())],
                "families": [{"env": env, "benchmark": method, "sigma": round(s, 6),
                              "detectable": round(self.family_detectable(env, method), 4)}
                             for (env, method), s in sorted(self.family_sigma.items())]}
        return write_atomically(path, json.dumps(data, indent=1, ensure_ascii=False) + "\n")

    @classmethod
    def load(cls, path) -> "NoiseProfile":
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            if data.get("format") != FORMAT:
                raise ValueError(f"format {data.get('format')!r}, expected {FORMAT}")
            return cls(data["machine"], data["commit"], list(data["runs"]),
                       {(t["env"], t["benchmark"]): float(t["sigma"]) for t in data["timings"]},
                       {(t["env"], t["benchmark"]): float(t["sigma"]) for t in data.get("families", [])})
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise NoiseError(f"noise profile {path} cannot be read ({err}); measure it again with zarr-cryoet "
                             "stability --machine A --machine B --save FILE") from None


def measure(histories: dict[str, History], commit: str) -> NoiseProfile:
    """The noise profile of several runs of ``commit`` (``histories``: machine name → its results)."""
    if len(histories) < 2:
        raise NoiseError("a noise profile needs at least two runs of one commit: give --machine twice or more")
    runs = {machine: timing_values(h, commit) for machine, h in histories.items()}
    logs = defaultdict(list)  # every timing in every run that has it (runs may cover different benchmarks)
    for values in runs.values():
        for key, value in values.items():
            logs[key].append(math.log(value))
    own = {key: (statistics.variance(found), len(found) - 1) for key, found in logs.items() if len(found) >= 2}
    if not own:
        raise NoiseError(f"the runs {', '.join(runs)} share no timing of commit {commit[:8]}; check --machine")
    families = defaultdict(list)
    for (env, name), (var, _) in own.items():
        families[(env, family(name))].append(var)
    pooled = {k: statistics.median(v) for k, v in families.items()}
    sigma = {key: math.sqrt((dof * var + PRIOR_DOF * pooled[(key[0], family(key[1]))]) / (dof + PRIOR_DOF))
             for key, (var, dof) in own.items()}
    return NoiseProfile(next(iter(histories)), commit, list(histories), sigma, family_spread(runs))


def family_spread(runs: dict) -> dict[tuple[str, str], float]:
    """Per family (environment, benchmark method) of at least :data:`FAMILY_MIN` timings: the spread between runs
    of the mean log value of its timings (those every run of the family has), pooled with the other families'
    like a timing's spread. What moves a family mean is what a run shares: the machine's state during it."""
    members = defaultdict(list)  # (env, method) -> the runs' {name: log value} of that family
    for values in runs.values():
        found = defaultdict(dict)
        for (env, name), value in values.items():
            found[(env, family(name))][name] = math.log(value)
        for key, logs in found.items():
            members[key].append(logs)
    own = {}
    for key, per_run in members.items():
        common = set.intersection(*(set(logs) for logs in per_run))
        if len(per_run) >= 2 and len(common) >= FAMILY_MIN:
            means = [statistics.mean(logs[name] for name in common) for logs in per_run]
            own[key] = (statistics.variance(means), len(per_run) - 1)
    if not own:
        return {}
    pooled = statistics.median(var for var, _ in own.values())
    return {key: math.sqrt((dof * var + PRIOR_DOF * pooled) / (dof + PRIOR_DOF)) for key, (var, dof) in own.items()}


def default_path(results_dir, machine: str, repository: Path | None = None) -> Path | None:
    """The noise profile the nightly job uses for ``machine``: ``<results dir>/../noise/<machine>.json``, else
    ``recorded/noise/<machine>.json`` in ``repository``; None if neither exists."""
    candidates = [Path(results_dir).parent / "noise" / f"{machine}.json"]
    if repository is not None:
        candidates.append(Path(repository) / "recorded" / "noise" / f"{machine}.json")
    return next((p for p in candidates if p.is_file()), None)
