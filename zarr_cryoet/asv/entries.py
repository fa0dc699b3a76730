"""Every asv result of one machine, unrolled per parameter combination, each timing with the suite's statistic.

The nightly comparison (:mod:`zarr_cryoet.tracking.regressions`), the noise profile
(:mod:`zarr_cryoet.asv.noise`) and ``zarr-cryoet stability`` read results this way: one
:class:`Entry` per (environment, commit, benchmark with parameters), named as ``asv compare``
names them. A timing with recorded samples carries the suite's statistic
(:mod:`zarr_cryoet.stats.estimate`: the fastest process, and every process's minimum) as its
``value`` and ``estimate``, whether or not the files were restated; where the machine has a measured
interval profile (:mod:`zarr_cryoet.stats.calibration`), the estimate carries the machine's band for
that timing, the margin of a comparison between two runs (:func:`zarr_cryoet.stats.compare.compare`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from zarr_cryoet.stats.estimate import Estimate, time_text
from zarr_cryoet.asv.config import matrix_params
from zarr_cryoet.asv.results import finite, read_asv


@dataclass(frozen=True)
class Entry:
    """One benchmark result (one parameter combination) in one environment at one commit."""

    value: float | None  # None: the benchmark failed; NaN: it was skipped
    stats: dict | None
    samples: list | None
    version: str | None
    unit: str | None
    estimate: Estimate | None = None  # the suite's statistic (with the machine's band), where samples were recorded
    per_process: int | None = None  # samples per process (asv's repeat), where the benchmark fixed it


#: (environment name, commit hash, benchmark name with parameters)
Key = tuple[str, str, str]


@dataclass
class History:
    """Every result of one machine, unrolled per parameter combination."""

    entries: dict[Key, Entry]
    env_params: dict[str, dict]  # environment name -> {"python": "3.11", "zarr": "3.1.6", ...}

    def keys(self) -> set[Key]:
        return set(self.entries)

    def only(self, keys) -> "History":
        """The same history restricted to ``keys``."""
        return History({k: self.entries[k] for k in keys if k in self.entries}, self.env_params)

    def commits(self) -> list[str]:
        return sorted({commit for _, commit, _ in self.entries})


def load_history(results_dir: str | Path, machine: str) -> History:
    """Read all of ``machine``'s results in an asv results directory (:func:`~zarr_cryoet.asv.results.read_asv`,
    with its interval profile's bands, where it has one); none where the machine has no results yet."""
    from asv.commands.compare import unroll_result

    files = read_asv(results_dir, machine, every_commit=True)
    entries: dict[Key, Entry] = {}
    env_params: dict[str, dict] = {}
    for result in files.results:
        env_params[result.env_name] = matrix_params(result)
        for key in result.get_all_result_keys():
            params = result.get_result_params(key)
            unrolled = unroll_result(key, params, result.get_result_value(key, params),
                                     result.get_result_stats(key, params), result.get_result_samples(key, params))
            for name, value, stats, samples in unrolled:
                found = files.estimate(key, value, samples)
                entries[(result.env_name, result.commit_hash, name)] = Entry(
                    found.value if found else value, stats, samples, result.benchmark_version.get(key),
                    files.benchmarks.get(key, {}).get("unit"), found, files.per_process.get(key))
    return History(entries, env_params)


def value_text(entry: Entry | None, missing: str = "–") -> str:
    """How the nightly report and the bisection write one result: ``25.7 ms [24.1–28.3, n=5]`` for a timing with
    its processes (:mod:`zarr_cryoet.stats.estimate`), else asv's own text of the value; ``missing`` without one."""
    from asv.util import human_value

    if entry is None:
        return missing
    if entry.value is None:
        return "failed"
    if entry.estimate is not None:
        return str(entry.estimate)
    if (entry.unit or "seconds") == "seconds" and isinstance(entry.value, (int, float)) and finite(entry.value):
        return time_text(entry.value)
    return human_value(entry.value, entry.unit or "")
