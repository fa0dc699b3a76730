"""Did the newest asv results get worse? asv's own compare logic, per benchmark, as a Markdown report.

The nightly job snapshots the results before it runs asv; every result that is
new afterwards is compared with its baseline:

* the same benchmark (with the same parameters) in the same environment at the
  nearest older commit that has a result, or, for an environment that has no
  older result (a zarr release seen for the first time), the environment of
  the previous zarr release at the same commit;
* with ``asv compare``'s rules (``asv.commands.compare``): a change counts
  when the ratio passes ``factor`` *and* the confidence intervals of the two
  results do not overlap (when both have more than one sample); a benchmark
  that now fails is a regression; results of a changed benchmark (new
  ``version``) are not comparable.

Lower is better for times, stored bytes, file counts and errors; higher is better for
compression ratios and the fidelity figures that grow with fidelity (:data:`HIGHER_IS_BETTER`).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

#: The ratio a change must pass to count (with statistical significance), as ``asv compare --factor``.
#: Set from the measured run-to-run spread (docs/methodology.md, "Measurement quality"): two default runs of the
#: same commit on this project's 2-core machine differed by more than 1.40x on 5 % of the timings
#: and by up to 1.50x; at 1.5 a night with nothing changed raises (almost) no alarm.
DEFAULT_FACTOR = 1.5
#: benchmark methods where a larger value is the better one
HIGHER_IS_BETTER = ("track_compression_ratio", "track_psnr", "track_fsc_05_nyquist", "track_fsc_0143_nyquist",
                    "track_particle_ncc_min")
#: the lossy question's fidelity figures (benchmarks/lossy.py): deterministic for one numpy, but floating-point
#: sums and FFTs, so a change below 1 % is round-off, not a codec that keeps less
FIDELITY = ("track_rmse_over_sigma", "track_max_abs_error_over_sigma", "track_psnr", "track_fsc_05_nyquist",
            "track_fsc_0143_nyquist", "track_max_fsc_drop", "track_particle_ncc_min")
FIDELITY_FACTOR = 1.01
#: deterministic results (sizes, counts): any change is a real one, whatever the factor
DETERMINISTIC = ("track_compression_ratio", "track_stored_bytes", "track_file_count", "track_get_requests",
                 "track_bytes_fetched", "track_mismatched_voxels")

REGRESSED, IMPROVED, UNCHANGED, NEW, NOT_COMPARABLE = "regressed", "improved", "unchanged", "new", "not comparable"


@dataclass(frozen=True)
class Entry:
    """One benchmark result (one parameter combination) in one environment at one commit."""

    value: float | None  # None: the benchmark failed; NaN: it was skipped
    stats: dict | None
    samples: list | None
    version: str | None
    unit: str | None


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


def load_history(results_dir: str | Path, machine: str) -> History:
    """Read all of ``machine``'s results in an asv results directory."""
    from asv.commands.compare import unroll_result
    from asv.results import iter_results_for_machine
    from asv.util import load_json

    results_dir = Path(results_dir)
    units = {}
    if (results_dir / "benchmarks.json").is_file():
        units = {name: b.get("unit") for name, b in load_json(str(results_dir / "benchmarks.json")).items()
                 if isinstance(b, dict)}
    entries: dict[Key, Entry] = {}
    env_params: dict[str, dict] = {}
    if not (results_dir / machine).is_dir():
        return History(entries, env_params)
    for result in iter_results_for_machine(str(results_dir), machine):
        env_params[result.env_name] = {k: v for k, v in result.params.items()
                                       if k == "python" or k in result._requirements}
        for key in result.get_all_result_keys():
            params = result.get_result_params(key)
            unrolled = unroll_result(key, params, result.get_result_value(key, params),
                                     result.get_result_stats(key, params), result.get_result_samples(key, params))
            for name, value, stats, samples in unrolled:
                entries[(result.env_name, result.commit_hash, name)] = Entry(
                    value, stats, samples, result.benchmark_version.get(key), units.get(key))
    return History(entries, env_params)


@dataclass(frozen=True)
class Change:
    kind: str
    name: str  # benchmark with parameters
    env: str
    commit: str
    before: Entry | None = None
    after: Entry | None = None
    baseline_env: str | None = None
    baseline_commit: str | None = None

    @property
    def benchmark(self) -> str:
        """The benchmark's name without its parameters."""
        return self.name.partition("(")[0]

    @property
    def ratio(self) -> float:
        b, a = self.before.value if self.before else None, self.after.value if self.after else None
        if b is None or a is None or _isnan(b) or _isnan(a) or b == 0:
            return math.nan
        return a / b


def _isnan(value) -> bool:
    return isinstance(value, float) and math.isnan(value)


def higher_is_better(name: str) -> bool:
    return name.partition("(")[0].rpartition(".")[2] in HIGHER_IS_BETTER


def classify(name: str, before: Entry, after: Entry, factor: float = DEFAULT_FACTOR,
             use_stats: bool = True) -> str:
    """REGRESSED, IMPROVED, UNCHANGED or NOT_COMPARABLE: the rules of ``asv compare``."""
    from asv.commands.compare import _is_result_better

    if before.version is not None and after.version is not None and before.version != after.version:
        return NOT_COMPARABLE
    if before.value is not None and after.value is None:
        return REGRESSED  # it now fails
    if before.value is None and after.value is not None:
        return IMPROVED  # it works again
    if before.value is None or _isnan(before.value) or _isnan(after.value):
        return UNCHANGED  # failed both times, or skipped
    old, new = (before.value, (before.stats, before.samples)), (after.value, (after.stats, after.samples))
    if higher_is_better(name):
        old, new = new, old

    method = name.partition("(")[0].rpartition(".")[2]
    if method in DETERMINISTIC:
        factor = 1.0  # no noise to allow for
    elif method in FIDELITY:
        factor = FIDELITY_FACTOR

    def better(a, b):
        return _is_result_better(a[0], b[0], a[1], b[1], factor, use_stats=use_stats)

    if better(new, old):
        return IMPROVED
    if better(old, new):
        return REGRESSED
    return UNCHANGED


def _release(params: dict):
    from packaging.version import InvalidVersion, Version

    try:
        return Version(params.get("zarr", ""))
    except InvalidVersion:
        return None


def _measured(history: History, key: Key) -> bool:
    """A result that was run: failed (None) or a number, not NaN (skipped, or not selected with --bench)."""
    entry = history.entries.get(key)
    return entry is not None and not _isnan(entry.value)


def find_baseline(history: History, key: Key, commit_order: list[str]) -> tuple[str, str] | None:
    """(environment, commit) of the result ``key`` is compared with, or None."""
    env, commit, name = key
    # the same environment at the nearest older commit
    if commit in commit_order:
        for older in reversed(commit_order[:commit_order.index(commit)]):
            if _measured(history, (env, older, name)):
                return env, older
    elif any(e == env and n == name and c != commit for e, c, n in history.entries):
        return None  # not on the benchmarked branch: no order to compare in
    # a new environment: the previous zarr release, same commit
    this = _release(history.env_params.get(env, {}))
    if this is None:
        return None
    older_releases = [(_release(p), e) for e, p in history.env_params.items()
                      if e != env and _release(p) is not None and _release(p) < this
                      and _measured(history, (e, commit, name))]
    if not older_releases:
        return None
    return max(older_releases)[1], commit


def compare_new(before: History, history: History, commit_order: list[str],
                factor: float = DEFAULT_FACTOR, use_stats: bool = True) -> list[Change]:
    """Classify every result measured in ``history`` that ``before`` did not have."""
    changes = []
    for key in sorted(k for k in history.entries if _measured(history, k) and not _measured(before, k)):
        env, commit, name = key
        after = history.entries[key]
        baseline = find_baseline(history, key, commit_order)
        if baseline is None:  # nothing to compare with; a failure is still a regression
            changes.append(Change(REGRESSED if after.value is None else NEW, name, env, commit, after=after))
            continue
        before_entry = history.entries[(baseline[0], baseline[1], name)]
        kind = classify(name, before_entry, after, factor, use_stats)
        changes.append(Change(kind, name, env, commit, before_entry, after, *baseline))
    return changes


def env_label(env: str, history: History) -> str:
    params = history.env_params.get(env)
    if not params:
        return env
    label = ", ".join(f"{k} {v}" for k, v in sorted(params.items(), key=lambda kv: kv[0] == "python") if v)
    return label.replace("python ", "py")


def _value(entry: Entry | None) -> str:
    from asv.util import human_value

    if entry is None:
        return "–"
    if entry.value is None:
        return "failed"
    return human_value(entry.value, entry.unit or "")


def render_markdown(changes: list[Change], history: History, *, title: str, factor: float,
                    summary_lines: list[str] = (), notes: list[str] = (), commit_names: dict | None = None,
                    max_rows: int = 50) -> str:
    """The nightly report: regressions, improvements and new benchmarks, before → after."""
    commit_names = commit_names or {}
    by_kind = defaultdict(list)
    for change in changes:
        by_kind[change.kind].append(change)
    regressed = by_kind[REGRESSED]
    lines = [f"# {title}", ""]
    verdict = (f"**{len(regressed)} regression{'s' if len(regressed) != 1 else ''}**" if regressed
               else "**No regressions**")
    lines.append(f"{verdict} (asv compare rules: factor {factor:g}, statistically significant changes only).")
    lines += ["", *summary_lines]

    def short(commit):
        return commit_names.get(commit, commit[:8])

    def table(rows: list[Change]):
        out = ["| benchmark | environment | before | after | ratio | compared with |",
               "|---|---|---|---|---|---|"]
        for c in sorted(rows, key=lambda c: -abs(math.log(c.ratio)) if c.ratio > 0 else 0)[:max_rows]:
            base = short(c.baseline_commit) if c.baseline_env == c.env else env_label(c.baseline_env, history)
            ratio = "–" if _isnan(c.ratio) else f"{c.ratio:.2f}×"
            out.append(f"| `{c.name}` | {env_label(c.env, history)} @ {short(c.commit)} | {_value(c.before)} "
                       f"| {_value(c.after)} | {ratio} | {base} |")
        if len(rows) > max_rows:
            out.append(f"| … and {len(rows) - max_rows} more | | | | | |")
        return out

    for kind, heading in ((REGRESSED, "Regressed"), (IMPROVED, "Improved")):
        lines += ["", f"## {heading} ({len(by_kind[kind])})", ""]
        lines += table(by_kind[kind]) if by_kind[kind] else ["None."]
    new = by_kind[NEW]
    lines += ["", f"## New ({len(new)}): no earlier result to compare with", ""]
    if new:
        counts = Counter((c.benchmark, env_label(c.env, history), short(c.commit)) for c in new)
        lines += [f"- `{bench}` × {n} in {env} @ {commit}" for (bench, env, commit), n in sorted(counts.items())]
    else:
        lines.append("None.")
    if by_kind[NOT_COMPARABLE]:
        names = sorted({c.benchmark for c in by_kind[NOT_COMPARABLE]})
        lines += ["", f"## Changed benchmarks, not compared ({len(by_kind[NOT_COMPARABLE])})", "",
                  *[f"- `{n}` (its code changed)" for n in names]]
    lines += ["", f"Unchanged: {len(by_kind[UNCHANGED])} results."]
    if notes:
        lines += ["", "## Notes", "", *[f"- {n}" for n in notes]]
    return "\n".join(lines) + "\n"
