"""Join the results of backfill jobs (:mod:`zarr_cryoet.tracking.backfill`) into one results directory.

The merge is where results could be lost, so it is strict:

* **every shard is checked before anything is written**: its ``benchmarks.json`` and every result file must
  be asv result files this asv reads, each machine folder must have its ``machine.json``, and every file must
  name the machine of its folder (``asv publish`` skips one that does not); a shard that
  fails is refused with one line naming the file, and nothing is merged (the results branch is untouched);
* **a commit and environment measured twice keep both sets of samples**, as ``asv run --append-samples``
  would have: the samples of each parameter combination are concatenated (each set keeps its processes
  whole) and the suite's statistic is computed again from all of them
  (:mod:`zarr_cryoet.asv.restate`); two results without samples (``track_``) that differ cannot be
  joined and are refused, naming both shards;
* a benchmark measured with different parameters or benchmark versions in two shards is refused the same way.

``zarr-cryoet merge-results SHARD... --config asv.conf.json`` then commits the merged directory to the
results branch the nightly job uses and publishes the dashboard.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from zarr_cryoet.util.errors import ZarrCryoetError
from zarr_cryoet.util.files import write_atomically
from zarr_cryoet.asv.restate import API_VERSION, restate

REQUIRED = ("commit_hash", "env_name", "params", "results", "result_columns")


class MergeError(ZarrCryoetError):
    """Shards that cannot be merged without losing or inventing results; nothing was merged."""


@dataclass
class Summary:
    added: int = 0  # result files new to the destination
    appended: int = 0  # result files measured twice: samples kept from both
    commits: set[str] = field(default_factory=set)
    machines: set[str] = field(default_factory=set)

    def line(self) -> str:
        return (f"merged {len(self.commits)} commit(s) of {', '.join(sorted(self.machines)) or 'no machine'}: "
                f"{self.added} result file(s) added, {self.appended} measured twice (samples of both kept)")


def _load(path: Path, shard: Path) -> dict:
    """The file's JSON as written (with its ``version``), after asv has checked that it can read it."""
    from asv import util

    try:
        util.load_json(str(path), api_version=None if path.name == "machine.json" else API_VERSION)
        return json.loads(path.read_text())
    except (util.UserError, ValueError, OSError) as err:
        raise MergeError(f"shard {shard}: {path.relative_to(shard)} is not a readable asv result file "
                         f"({str(err).splitlines()[0][:120]}); re-run that job; nothing was merged") from None


def read_shard(shard: Path) -> dict[str, dict]:
    """Every file of a shard, checked: {relative path: its JSON}; MergeError for the first bad one."""
    if not (shard / "benchmarks.json").is_file():
        raise MergeError(f"shard {shard}: no benchmarks.json (not an asv results directory, or the job failed "
                         "before asv ran); re-run that job; nothing was merged")
    files = {"benchmarks.json": _load(shard / "benchmarks.json", shard)}
    for folder in sorted(p for p in shard.iterdir() if p.is_dir()):
        if not (folder / "machine.json").is_file():
            raise MergeError(f"shard {shard}: {folder.name}/ has no machine.json; re-run that job; nothing was merged")
        for path in sorted(folder.glob("*.json")):
            data = _load(path, shard)
            missing = [key for key in REQUIRED if key not in data] if path.name != "machine.json" else []
            if missing:
                raise MergeError(f"shard {shard}: {path.relative_to(shard)} lacks {', '.join(missing)}; re-run that "
                                 "job; nothing was merged")
            named = data.get("machine") if path.name == "machine.json" else data["params"].get("machine")
            if named != folder.name:  # asv publish would skip the file, and its results would be lost unseen
                raise MergeError(f"shard {shard}: {path.relative_to(shard)} is of machine {named!r}, not of the "
                                 f"folder's {folder.name!r}; keep asv's layout (results/MACHINE/); nothing was merged")
            files[path.relative_to(shard).as_posix()] = data
    return files


def _row(data: dict, name: str) -> dict:
    row = data["results"][name]
    return dict(zip(data["result_columns"], row))


def join_results(ours: dict, theirs: dict, where: str) -> dict:
    """One result file from two measurements of the same commit and environment (module docstring)."""
    merged = json.loads(json.dumps(ours))
    columns = merged["result_columns"]
    if theirs["result_columns"] != columns:
        raise MergeError(f"{where}: the two shards' files have different columns (different asv versions); run "
                         "the backfill with one asv; nothing was merged")
    for name, row in theirs["results"].items():
        if name not in merged["results"]:
            merged["results"][name] = row
            for key in ("benchmark_version", "durations"):
                if name in theirs.get(key, {}):
                    merged.setdefault(key, {})[name] = theirs[key][name]
            continue
        a, b = _row(merged, name), _row(theirs, name)
        if a.get("params") != b.get("params") or \
                merged.get("benchmark_version", {}).get(name) != theirs.get("benchmark_version", {}).get(name):
            raise MergeError(f"{where}: {name} was measured with different parameters or benchmark versions; "
                             "backfill both shards from one commit of the suite; nothing was merged")
        if a.get("samples") and b.get("samples"):
            a["samples"] = [(x or []) + (y or []) for x, y in zip(a["samples"], b["samples"])]
            a["started_at"] = min(a.get("started_at") or 0, b.get("started_at") or 0) or a.get("started_at")
            a["duration"] = (a.get("duration") or 0) + (b.get("duration") or 0)
        elif a.get("result") != b.get("result"):
            raise MergeError(f"{where}: {name} has two different results and no samples to keep of both; keep one "
                             "shard's, or re-run one of them; nothing was merged")
        merged["results"][name] = [a.get(c) for c in columns]
        while merged["results"][name] and merged["results"][name][-1] is None:
            merged["results"][name].pop()
    return merged


def merge(shards: list[Path], dest: Path) -> Summary:
    """Merge the shards into ``dest`` (created, or holding earlier results). Every shard is checked first."""
    for shard in shards:
        if shard.resolve() == dest.resolve():
            raise MergeError(f"shard {shard} is the results directory it would be merged into; pass a copy of "
                             "another run's results; nothing was merged")
    contents = [(shard, read_shard(shard)) for shard in shards]  # MergeError before anything is written
    existing = read_shard(dest) if (dest / "benchmarks.json").is_file() else {}
    merged = dict(existing)
    origin = {path: "the results branch" for path in existing}
    summary = Summary()
    benchmarks = dict(existing.get("benchmarks.json", {}))
    for shard, files in contents:
        benchmarks.update(files["benchmarks.json"])
        for path, data in files.items():
            if path == "benchmarks.json":
                continue
            machine = path.split("/")[0]
            summary.machines.add(machine)
            if path.endswith("/machine.json"):
                merged.setdefault(path, data)
                continue
            summary.commits.add(data["commit_hash"])
            if path in merged:
                merged[path] = join_results(merged[path], data, f"{path} in {origin[path]} and {shard}")
                summary.appended += 1
            else:
                merged[path] = data
                origin[path] = str(shard)
                summary.added += 1
    merged["benchmarks.json"] = benchmarks
    for path, data in merged.items():
        if existing.get(path) is not data:
            write_atomically(dest / path, json.dumps(data, separators=(",", ":")))
    if summary.appended:
        restate(dest)  # the statistic over both sets of samples
    return summary


def overlay(parts: list[Path], dest: Path) -> int:
    """The rows of ``parts`` (results directories of asv runs of different benchmarks, made at once: the two halves of
    :mod:`zarr_cryoet.tracking.both_cores`) written into ``dest`` as one ``asv run`` writes its rows: each benchmark
    measured replaces the row ``dest`` held for it (same commit and environment), every other row stays. Every part is
    checked first (:func:`read_shard`): nothing is written if one fails. Returns how many result files were written."""
    contents = [read_shard(part) for part in parts]  # MergeError before anything is written
    existing = read_shard(dest) if (dest / "benchmarks.json").is_file() else {}
    written: dict[str, dict] = {}
    benchmarks = dict(existing.get("benchmarks.json", {}))
    for files in contents:
        benchmarks.update(files["benchmarks.json"])
        for path, data in files.items():
            if path == "benchmarks.json":
                continue
            if path.endswith("/machine.json"):
                written.setdefault(path, existing.get(path, data))
                continue
            base = written.get(path) or existing.get(path)
            if base is None:
                written[path] = data
                continue
            if base["result_columns"] != data["result_columns"]:
                raise MergeError(f"{path}: the parts were written by different asv versions; run them with one asv; "
                                 "nothing was merged")
            merged = json.loads(json.dumps(base))
            merged["results"].update(data["results"])
            for key in ("benchmark_version", "durations"):
                merged.setdefault(key, {}).update(data.get(key, {}))
            written[path] = merged
    written["benchmarks.json"] = benchmarks
    for path, data in written.items():
        write_atomically(dest / path, json.dumps(data, separators=(",", ":")))
    return sum(1 for path in written if path != "benchmarks.json" and not path.endswith("/machine.json"))
