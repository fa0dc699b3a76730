"""The backfill workflow's two jobs for real (asv, git, pip): two shards of a commit range, merged, published.

What .github/workflows/backfill.yml runs on CI runners, run here one after the other: ``backfill-shard`` for
shards 1/2 and 2/2 of three commits in one environment (zarr 3.1.6 of asv.conf.json's matrix), each into its own
directory, then ``merge-results`` into the results branch and ``asv publish``. Checked: the dashboard has every
commit of both shards once; a shard measured twice keeps both sets of samples; a corrupt shard is refused with
nothing merged and the branch untouched.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from tests.asv_helpers import git_commit, own_core, working_tree_repo
from tests.zarr_repo import git

# this checkout's .asv/env (and its setup caches) is shared with test_nightly_asv.py / test_backfill_asv.py: the
# nightly session runs those two one after the other, and the bisection (its own environments) beside them (noxfile.py)
pytestmark = pytest.mark.asv

MACHINE = "zarr-cryoet-backfill-test"
BENCH = r"compression\.Read\.time_read\(.*'none', 2\)"
BRANCH = "asv-results/zarr-cryoet"


def cli(repo, *args) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "zarr_cryoet.cli", *args], cwd=repo, capture_output=True, text=True,
                          env={**os.environ, "ZARR_CRYOET_SOURCE": "phantom:64"}, timeout=1200)
    print(f"--- {' '.join(args[:3])}: exit {proc.returncode}\n{proc.stdout[-4000:]}\n{proc.stderr[-3000:]}")
    return proc


def samples(path) -> list:
    data = json.loads(path.read_text())
    row = data["results"]["compression.Read.time_read"]
    return row[data["result_columns"].index("samples")]


def graph_points(html) -> list:
    """(revision, value) of the benchmark's one published series per combination, every machine."""
    points = []
    for path in html.glob(f"graphs/**/machine-{MACHINE}/**/compression.Read.time_read.json"):
        points += [p[0] for p in json.loads(path.read_text())]
    return points


def test_two_shards_merge_into_one_dashboard_and_a_corrupt_one_is_refused(tmp_path):
    repo = working_tree_repo(tmp_path / "repo", build_isolation=False)
    commits = [git(repo, "rev-parse", "HEAD")]
    for n in (1, 2):
        (repo / "NOTES.md").write_text(f"note {n}\n")
        commits.append(git_commit(repo, f"docs: note {n}"))
    shards = [tmp_path / "shard-1", tmp_path / "shard-2"]
    for i, out in enumerate(shards, 1):
        job = cli(repo, "backfill-shard", "--range", "main", "--shard", f"{i}/2", "--zarr", "3.1.6",
                  "--machine", MACHINE, "--out", str(out), "--bench", BENCH, "--quick", "--cpu", own_core())
        assert job.returncode == 0
        described = json.loads((out / "shard.json").read_text())
        assert described["commits"] == commits[i - 1::2]  # round robin over the range, oldest first
        assert described["environments"] == ["python 3.11, zarr 3.1.6"]
        assert {p.name.split("-")[0] for p in (out / MACHINE).glob("*-virtualenv-*.json")} == \
            {c[:8] for c in commits[i - 1::2]}

    merged = cli(repo, "merge-results", *map(str, shards))
    assert merged.returncode == 0
    assert "merged 3 commit(s)" in merged.stdout and "3 result file(s) added" in merged.stdout
    tip = git(repo, "rev-parse", BRANCH)
    on_branch = git(repo, "ls-tree", "-r", "--name-only", BRANCH).split()
    assert sum(name.startswith(f"{MACHINE}/") and "-virtualenv-" in name for name in on_branch) == 3
    index = json.loads((repo / "html" / "index.json").read_text())
    assert {c[:8] for c in commits} <= {h[:8] for h in index["revision_to_hash"].values()}
    points = graph_points(repo / "html")
    assert len(points) == 3 and len(set(points)) == 3, points  # every commit of both shards, once

    # the same shard twice (a re-run job): both sets of samples kept, the dashboard still has each commit once
    again = tmp_path / "shard-1-again"
    shutil.copytree(shards[0], again)
    first_file = next((repo / ".asv" / "results" / MACHINE).glob(f"{commits[0][:8]}-*.json"))
    before = samples(first_file)
    assert cli(repo, "merge-results", str(again)).returncode == 0
    assert [len(a or []) for a in samples(first_file)] == [2 * len(b or []) for b in before]
    assert len(graph_points(repo / "html")) == 3

    # another machine's results (a lab's own, or another runner class) published beside, never mixed in
    other = tmp_path / "other-machine"
    shutil.copytree(shards[1], other)
    (other / MACHINE).rename(other / f"{MACHINE}-b")
    renamed = cli(repo, "merge-results", str(other))  # the files still name the first machine: refused
    assert renamed.returncode == 2 and "is of machine" in renamed.stderr
    for path in (other / f"{MACHINE}-b").glob("*.json"):
        data = json.loads(path.read_text())
        if path.name == "machine.json":
            data["machine"] = f"{MACHINE}-b"
        else:
            data["params"]["machine"] = f"{MACHINE}-b"
        path.write_text(json.dumps(data))
    assert cli(repo, "merge-results", str(other)).returncode == 0
    index = json.loads((repo / "html" / "index.json").read_text())
    assert {MACHINE, f"{MACHINE}-b"} <= set(index["params"]["machine"])
    assert len(graph_points(repo / "html")) == 3  # this machine's series: still its own three commits
    tip = git(repo, "rev-parse", BRANCH)

    # a corrupt shard: refused in one line, nothing merged, the branch and the results untouched
    corrupt = tmp_path / "shard-corrupt"
    shutil.copytree(shards[1], corrupt)
    victim = next((corrupt / MACHINE).glob("*-virtualenv-*.json"))
    victim.write_bytes(victim.read_bytes()[:200])
    results = {p: p.read_bytes() for p in (repo / ".asv" / "results").rglob("*.json")}
    refused = cli(repo, "merge-results", str(shards[1]), str(corrupt))
    assert refused.returncode == 2
    assert "is not a readable asv result file" in refused.stderr and "nothing was merged" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    assert git(repo, "rev-parse", BRANCH) == tip
    assert {p: p.read_bytes() for p in (repo / ".asv" / "results").rglob("*.json")} == results
