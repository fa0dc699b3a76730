"""One job of the backfill matrix: a shard of a commit range, in one environment of the matrix.

``.github/workflows/backfill.yml`` spreads a range of history (this repository's commits with
asv.conf.json, zarr-python's with asv.upstream.conf.json) over CI runners: shards of the range × the
environments of the matrix. Each job runs::

    zarr-cryoet backfill-shard --range v0.1..main --shard 2/4 --zarr 3.1.6 --machine gha-ubuntu-24.04 --out shard/

which benchmarks every ``count``-th commit of the range (round robin, so every shard spans the whole range
and a lost shard leaves gaps, not a hole), in the one environment, into a results directory of its own
with a ``shard.json`` saying what it holds; the job uploads it as an artifact. The merge job joins them
(:mod:`zarr_cryoet.tracking.merge`). The machine name names the runner class, not the runner: results
from one class of runner form one series on the dashboard.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from zarr_cryoet.util.errors import ZarrCryoetError
from zarr_cryoet.util.files import write_atomically
from zarr_cryoet.asv import config as asv_config
from zarr_cryoet.asv.process import ensure_machine, run_suite

#: what a shard's results directory says about itself
SHARD_FILE = "shard.json"


class BackfillError(ZarrCryoetError):
    """A backfill job cannot run as asked."""


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` of ``count`` (1-based)."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> "Shard":
        match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
        if not match or not 1 <= int(match.group(1)) <= int(match.group(2)):
            raise BackfillError(f"--shard {text!r}: give it as I/N with 1 <= I <= N, e.g. 2/4")
        return cls(int(match.group(1)), int(match.group(2)))

    def pick(self, commits: list[str]) -> list[str]:
        """This shard's commits: every ``count``-th, starting at the ``index``-th (oldest first in, out)."""
        return commits[self.index - 1::self.count]

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def one_environment(conf: dict, zarr: str | None, python: str | None) -> dict:
    """``conf`` cut to one environment of its matrix: the one with this zarr release (and Python); an error
    naming the choices when that is none or several."""
    choices = asv_config.environments(conf)
    chosen = [(py, z) for py, z in choices if (zarr is None or z == zarr) and (python is None or py == python)]
    if len(chosen) != 1:
        listed = "; ".join(f"--zarr {z} --python {py}" if z else f"--python {py}" for py, z in choices)
        raise BackfillError(f"the matrix has {len(chosen) or 'no'} environment(s) with zarr {zarr or 'any'} on "
                            f"Python {python or 'any'}; a job runs one: {listed}")
    (py, version), = chosen
    conf = json.loads(json.dumps(conf))
    conf["pythons"], conf["include"] = [py], []  # the product of one Python and one zarr is that environment
    conf.pop("exclude", None)
    if version is not None:
        conf.setdefault("matrix", {}).setdefault("req", {})["zarr"] = [version]
    return conf


def range_commits(conf_path: Path, range_spec: str, steps: int | None) -> list[str]:
    """The commits of ``range_spec`` (asv's form: ``A..B``, a branch, or a commit), oldest first, thinned to
    ``steps`` evenly spaced ones as ``asv run --steps`` does."""
    from asv import util
    from asv.config import Config
    from asv.repo import get_repo

    conf = Config.load(str(conf_path))
    repo = get_repo(conf)
    repo.pull()
    try:
        commits = list(reversed(repo.get_hashes_from_range(range_spec)))
    except util.ProcessError:
        commits = []
    if not commits:
        raise BackfillError(f"--range {range_spec}: no such commits in {conf.repo}; give A..B (oldest first), a "
                            "branch or a commit of that repository")
    return util.pick_n(commits, steps) if steps and steps < len(commits) else commits


def run_shard(config: Path, range_spec: str, shard: Shard, machine: str, out: Path, *, zarr: str | None = None,
              python: str | None = None, steps: int | None = None, asv_args: list[str] | None = None,
              cpu: str = "auto") -> int:
    """Benchmark this shard's commits of the range in one environment into ``out``; asv's exit status (2: some
    benchmarks failed, their results kept)."""
    config = config.resolve()
    conf = asv_config.with_absolute_paths(asv_config.load(config), config.parent)
    conf = one_environment(conf, zarr, python)
    out = out.resolve()
    if out.exists() and any(p.name != SHARD_FILE for p in out.iterdir()):
        raise BackfillError(f"--out {out} is not empty; give each shard a fresh directory (the merge job joins them)")
    conf["results_dir"] = str(out)
    conf["html_dir"] = str(out.parent / f".{out.name}-html")  # never published from here
    conf_path = out.parent / f".{out.name}.asv.conf.json"
    hashfile = out.parent / f".{out.name}.commits"
    write_atomically(conf_path, json.dumps(conf, indent=2))
    try:  # the scratch config and commit list go whatever happens; the shard keeps only what asv wrote
        commits = shard.pick(range_commits(conf_path, range_spec, steps))
        description = {"range": range_spec, "shard": str(shard), "steps": steps, "machine": machine,
                       "environments": [f"python {py}, zarr {z}" for py, z in asv_config.environments(conf)],
                       "commits": commits}
        code = 0
        if commits:
            ensure_machine(conf_path, machine, config.parent)
            write_atomically(hashfile, "\n".join(commits) + "\n")
            code = run_suite(conf_path, conf, [f"HASHFILE:{hashfile}", "--skip-existing", "--show-stderr",
                                               "--machine", machine, *asv_config.cpu_affinity(cpu), *(asv_args or [])],
                             config.parent)
    finally:
        conf_path.unlink(missing_ok=True)
        hashfile.unlink(missing_ok=True)
    write_atomically(out / SHARD_FILE, json.dumps({**description, "asv_exit": code}, indent=2))
    return code
