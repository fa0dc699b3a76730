"""asv's result files, restated with the suite's statistic (``zarr-cryoet restate``).

asv stores, per timing, the median of its samples as ``result`` and a 99 % interval of that
median as ``ci_99_a``/``ci_99_b``; the dashboard draws ``result``, ``asv compare`` and ``asv
publish``'s step detection use both. The suite's number is another statistic
(:mod:`zarr_cryoet.stats.estimate`), computed from the samples every run of the suite records
(``--record-samples``). After each ``asv run``, :func:`restate` writes it into the same columns of
the same files, so every reader of asv's results, asv's own included, shows one number:

* ``result``: the fastest process (the smallest sample of all the timing's processes);
* ``ci_99_a``/``ci_99_b``: the ends of the suite's interval (:attr:`Estimate.low
  <zarr_cryoet.stats.estimate.Estimate.low>`/``high``). Where the machine has a measured interval
  profile (:func:`zarr_cryoet.stats.calibration.default_path`), that is its band for the timing: where
  another run of the same commit on this machine lands, with the profile's stated coverage; elsewhere
  it is the range of the processes' minima (the fastest to the slowest process), what was seen and
  not a confidence interval. Either way, no longer a 99 % interval, whatever asv's column names say.

The files stay valid asv result files (the same ``api_version`` and columns); the samples
themselves are untouched, so asv's median can always be computed again, and a later ``asv run
--append-samples`` (which recomputes asv's statistics) is followed by another restate.

Only ``time_`` results with recorded samples change; everything else is left as asv wrote it.
"""

from __future__ import annotations

import math
from pathlib import Path

from zarr_cryoet.stats import calibration
from zarr_cryoet.stats.estimate import estimate

#: asv's result-file format this module reads and writes
API_VERSION = 2


def per_process_counts(benchmarks: dict) -> dict[str, int | None]:
    """For every timing benchmark of asv's ``benchmarks.json``, its samples per process (``repeat``, when
    a whole number; None when asv chose the count itself, and the processes cannot be told apart)."""
    counts = {}
    for name, bench in benchmarks.items():
        if isinstance(bench, dict) and bench.get("type") == "time":
            repeat = bench.get("repeat")
            counts[name] = repeat if isinstance(repeat, int) and repeat > 0 else None
    return counts


def restate_file(path: Path, counts: dict[str, int | None], profile: calibration.Profile | None = None) -> int:
    """Restate one result file in place; the number of values restated. ``profile``: the machine's measured
    interval bands, where it has them."""
    from asv import util

    data = util.load_json(str(path), api_version=API_VERSION)
    columns = data.get("result_columns") or []
    if not {"result", "samples", "stats_ci_99_a", "stats_ci_99_b"} <= set(columns):
        return 0
    at = {name: columns.index(name) for name in ("result", "samples", "stats_ci_99_a", "stats_ci_99_b")}
    changed = 0
    for name, row in data.get("results", {}).items():
        if name not in counts or len(row) <= at["samples"] or not row[at["samples"]]:
            continue
        row.extend([None] * (len(columns) - len(row)))
        values = row[at["result"]]
        samples = row[at["samples"]]
        low, high = (list(row[at[c]] or [None] * len(values)) for c in ("stats_ci_99_a", "stats_ci_99_b"))
        for j, cell in enumerate(samples):
            if not cell or values[j] is None or _nan(values[j]):
                continue
            found = estimate(cell, counts[name])
            if found is None:
                continue
            if profile is not None:
                found = found.with_band(profile.band(name, found))
            values[j], low[j], high[j] = found.value, found.low, found.high
            changed += 1
        row[at["stats_ci_99_a"]], row[at["stats_ci_99_b"]] = low, high
        while row and row[-1] is None:
            row.pop()
    if changed:
        util.write_json(str(path), data, API_VERSION, compact=True)
    return changed


def restate(results_dir, machine: str | None = None) -> int:
    """Restate every result file of ``machine`` (default: every machine) in ``results_dir``; the number of
    values restated. asv's ``benchmarks.json`` says which results are timings and how they were sampled; each
    machine's interval profile, where it has one, gives its timings their bands."""
    from asv import util

    results_dir = Path(results_dir)
    index = results_dir / "benchmarks.json"
    if not index.is_file():
        return 0
    counts = per_process_counts(util.load_json(str(index), api_version=API_VERSION))
    machines = [results_dir / machine] if machine else [d for d in results_dir.iterdir()
                                                         if (d / "machine.json").is_file()]
    total = 0
    for folder in machines:
        where = calibration.default_path(results_dir, folder.name)
        profile = calibration.Profile.load(where) if where else None
        for path in sorted(folder.glob("*.json")):
            if path.name != "machine.json":
                total += restate_file(path, counts, profile)
    return total


def _nan(value) -> bool:
    return isinstance(value, float) and math.isnan(value)
