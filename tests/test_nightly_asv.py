"""``zarr-cryoet nightly`` end to end, with real asv, git and pip.

* In a temporary repository made from this working tree: a first run, a
  commit with no change (no regression reported), a commit that makes
  ``write_store`` write plane by plane (caught: exit 1, the benchmark named),
  a night with nothing new, a run killed midway (earlier results intact,
  the next run completes and repairs a file the kill truncated), and a commit
  benchmarked with an injected slowdown of zarr's reads (caught, reads only).

(The upstream config, which checks no timings, is tested in tests/test_upstream_asv.py.)

Kept small for CI: one zarr environment (shared with the other asv tests),
a 64³ phantom and two codecs of the compression benchmarks. CI machines are
shared and their disks noisy (a 1 MB write varies by ±50 % right after pip
has installed a wheel), so the runs here use ``--factor 2``; the slowdown they
must catch is about 50×.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.asv_helpers import git_commit, own_core, working_tree_repo
from tests.zarr_repo import git

# this checkout's .asv/env (and its setup caches) is shared with test_nightly_asv.py / test_backfill_asv.py: the
# nightly session runs those two one after the other, and the bisection (its own environments) beside them (noxfile.py)
pytestmark = pytest.mark.asv

MACHINE = "zarr-cryoet-nightly-test"
ZARR = "3.1.6"  # one environment, the one the main asv test builds too
BENCH = r"compression\.(Write\.time_write|Read\.time_read)\(.*'(none|blosc-lz4)', 2\)"
SLOW_BENCHMARK = "compression.Write.time_write"


def nightly_cmd(*extra: str) -> list[str]:
    return [sys.executable, "-m", "zarr_cryoet.cli", "nightly", "--machine", MACHINE, "--no-follow-releases",
            "--bench", BENCH, "--factor", "2", "--no-bisect", "--cpu", own_core(), *extra]  # bisection: tests/test_bisection_asv.py


def run_nightly(repo: Path, *extra: str, environment: dict | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "ZARR_CRYOET_SOURCE": "phantom:64", **(environment or {})}
    t0 = time.monotonic()
    proc = subprocess.run(nightly_cmd(*extra), cwd=repo, env=env, capture_output=True, text=True, timeout=1200)
    print(f"--- nightly in {time.monotonic() - t0:.0f} s, exit {proc.returncode}\n{proc.stdout[-6000:]}\n"
          f"{proc.stderr[-3000:]}")
    return proc


def report(repo: Path) -> str:
    return (repo / ".asv" / "nightly" / "latest.md").read_text()


def commit_all(repo: Path, message: str) -> None:
    git_commit(repo, message)


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    """This working tree as a fresh repository whose asv config has one zarr environment."""
    return working_tree_repo(tmp_path_factory.mktemp("nightly") / "repo", ZARR)


def result_files(repo: Path) -> dict[str, str]:
    results = repo / ".asv" / "results"
    return {p.relative_to(results).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in results.rglob("*.json")}


def test_a_slower_write_is_caught_and_an_unchanged_commit_is_not(repo):
    first = run_nightly(repo)
    assert first.returncode == 0, first.stdout[-3000:]
    assert "**No regressions**" in report(repo) and "## New (4)" in report(repo)
    assert "## Notes" not in report(repo) or "failed" not in report(repo)

    (repo / "README.md").write_text((repo / "README.md").read_text() + "\nA line of documentation.\n")
    commit_all(repo, "docs only")
    same = run_nightly(repo)
    assert same.returncode == 0, report(repo)
    assert "**No regressions**" in report(repo) and "## Regressed (0)" in report(repo)
    assert "## New (0)" in report(repo)  # all four compared with the first commit

    stores = repo / "zarr_cryoet" / "store" / "stores.py"
    code = stores.read_text()
    assert code.count("        array[...] = volume\n") == 1
    stores.write_text(code.replace("        array[...] = volume\n",
                                   "        for z in range(volume.shape[0]):  # plane by plane\n"
                                   "            array[z] = volume[z]\n"))
    commit_all(repo, "write_store: write plane by plane")
    slow = run_nightly(repo)
    text = report(repo)
    assert slow.returncode == 1, text
    assert "**2 regressions**" in text
    regressed = text.split("## Regressed")[1].split("## Improved")[0]
    assert regressed.count(f"`{SLOW_BENCHMARK}(") == 2 and "time_read" not in regressed
    print(text)

    # results history: one commit per night that had something new, on its own branch
    log = git(repo, "log", "--format=%s", "asv-results/zarr-cryoet").splitlines()
    assert len(log) == 3 and "2 regressed" in log[0]
    assert git(repo, "rev-parse", "--abbrev-ref", "HEAD") == "main"


def test_a_night_with_nothing_new_is_quick_and_quiet(repo):
    before = git(repo, "rev-parse", "asv-results/zarr-cryoet")
    quiet = run_nightly(repo)
    assert quiet.returncode == 0, report(repo)
    assert "Benchmarked: none" in report(repo) and "· Running" not in quiet.stdout
    assert git(repo, "rev-parse", "asv-results/zarr-cryoet") == before


def test_a_killed_run_loses_nothing_and_the_next_run_completes(repo):
    before = result_files(repo)
    branch = git(repo, "rev-parse", "asv-results/zarr-cryoet")
    (repo / "README.md").write_text((repo / "README.md").read_text() + "\nAnother line.\n")
    commit_all(repo, "docs again")
    log_path = repo.parent / "killed.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(nightly_cmd(), cwd=repo, stdout=log, stderr=subprocess.STDOUT,
                                env={**os.environ, "ZARR_CRYOET_SOURCE": "phantom:64"}, start_new_session=True)
    deadline = time.monotonic() + 600
    while "Benchmarking" not in log_path.read_text() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert proc.poll() is None, "the run ended before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)  # the whole run, asv and its benchmark processes
    proc.wait()

    after = result_files(repo)
    assert {name: after.get(name) for name in before} == before  # every earlier result, byte for byte
    assert git(repo, "rev-parse", "asv-results/zarr-cryoet") == branch

    # a kill while asv was writing a file leaves it truncated; the next run restores it from the branch
    victim = sorted(name for name in before if name.startswith(MACHINE + "/") and "machine" not in name)[0]
    path = repo / ".asv" / "results" / victim
    path.write_bytes(path.read_bytes()[:100])
    resumed = run_nightly(repo)
    text = report(repo)
    assert resumed.returncode == 0, text
    assert f"{victim}: unreadable (a run was killed while writing it); restored from branch" in text
    head = git(repo, "rev-parse", "HEAD")
    assert (repo / ".asv" / "results" / MACHINE / f"{head[:8]}-virtualenv-py3.11-zarr{ZARR}.json").is_file()
    assert "## Regressed (0)" in text and "## New (0)" in text


def test_an_injected_slowdown_of_zarrs_reads_is_caught_end_to_end(repo):
    """The proof's injection through the real nightly job: a commit that changes nothing, benchmarked with
    zarr-python's reads made 3x slower (ZARR_CRYOET_INJECT_SLOWDOWN=2), raises the alarm on the reads only."""
    (repo / "README.md").write_text((repo / "README.md").read_text() + "\nA third line.\n")
    commit_all(repo, "docs, benchmarked with an injected slowdown")
    slow = run_nightly(repo, environment={"ZARR_CRYOET_INJECT_SLOWDOWN": "2"})
    text = report(repo)
    assert slow.returncode == 1, text
    regressed = text.split("## Regressed")[1].split("## Improved")[0]
    assert "**2 regressions**" in text and regressed.count("`compression.Read.time_read(") == 2, text
    assert SLOW_BENCHMARK not in regressed  # writes are not slowed
