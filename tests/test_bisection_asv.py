"""From alarm to culprit, end to end: the nightly job on the upstream config, against a local zarr-python repository
with a slowdown injected at a known commit; real asv, git and pip.

The repository (tests/zarr_repo.py) holds zarr 3.1.6 and six commits on top of it; the fourth of the seven makes
every ``Array.__getitem__`` spin for a while in a function of its own. Three nights:

1. the first night benchmarks the newest commit (3.1.6 itself);
2. two clean commits later, the night is quiet: no alarm and no bisection;
3. four commits later (the injected one and three clean ones), the night's only commit is slower: the alarm
   goes off, the bisection names exactly the injected commit, and the profile of the culprit against its
   parent, sampled on every thread, puts the two injected functions first: the one on the calling thread and
   the one on zarr's event-loop thread, each with a share of the growth that sampling cannot take from it (the
   binomial bounds at the assertions).

Kept within CI's budget: one benchmark with two parameter combinations (which share one bisection), a 64³
phantom, two processes per timing, and a slowdown (40 ms on a read of ~1 ms) that no CI machine's noise hides;
the runs use ``--factor 4``, as the nightly tests use a fixed factor for the same reason.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time

import pytest

from tests.asv_helpers import ROOT, matrix, own_core
from tests.zarr_repo import git, make_zarr_repo

pytestmark = pytest.mark.asv

MACHINE = "zarr-cryoet-bisect-test"
BENCH = r"compression\.Read\.time_read\(.*'(none|blosc-lz4)', 2\)"
INJECTED = "_zarr_cryoet_injected_work"
INJECTED_ON_THE_LOOP = "_zarr_cryoet_injected_work_on_the_loop"
INJECTION = f'''

def {INJECTED}(seconds: float = 0.04) -> None:
    """Extra work on every read, on the calling thread: the culprit the bisection must name."""
    import time

    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def {INJECTED_ON_THE_LOOP}(seconds: float = 0.02) -> None:
    """Extra work on every read, on zarr's event-loop thread."""
    import time

    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass
'''


def commit(repo, message: str) -> str:
    git(repo, "add", "--all")
    git(repo, "-c", "user.name=zarr", "-c", "user.email=zarr@example.org", "commit", "--quiet", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def clean_commit(repo, n: int) -> str:
    notes = repo / "NOTES.md"
    notes.write_text((notes.read_text() if notes.exists() else "") + f"note {n}\n")
    return commit(repo, f"docs: note {n}")


def inject(repo) -> str:
    """Extra work on the calling thread (``Array.__getitem__``) and on zarr's own event-loop thread (the coroutine
    ``AsyncArray._get_selection``, which zarr runs there): a profile of the calling thread alone misses the second."""
    array = repo / "src" / "zarr" / "core" / "array.py"
    code = array.read_text()
    marker = "    def __getitem__(self, selection: Selection) -> NDArrayLikeOrScalar:\n"
    assert code.count(marker) == 1, "zarr's Array.__getitem__ moved: update the injection"
    head, _, tail = code.partition(marker)
    docstring_end = tail.index('"""', tail.index('"""') + 3) + 3  # after the method's docstring
    tail = tail[:docstring_end] + f"\n        {INJECTED}()" + tail[docstring_end:]
    code = head + marker + tail
    loop = "    async def _get_selection(\n        self,\n"
    assert code.count(loop) == 1, "zarr's AsyncArray._get_selection moved: update the injection"
    head, _, tail = code.partition(loop)
    signature_end = tail.index(":\n") + 2  # after ``) -> NDArrayLikeOrScalar:``
    tail = tail[:signature_end] + f"        {INJECTED_ON_THE_LOOP}()\n" + tail[signature_end:]
    array.write_text(head + loop + tail + INJECTION)
    return commit(repo, "core: extra work in Array.__getitem__")


def nightly(conf_path, cwd, *extra) -> subprocess.CompletedProcess:
    env = {**os.environ, "ZARR_CRYOET_SOURCE": "phantom:64"}
    cmd = [sys.executable, "-m", "zarr_cryoet.cli", "nightly", "--config", str(conf_path), "--machine", MACHINE,
           "--results-branch", "", "--no-follow-releases", "--no-publish", "--no-confirm", "--max-commits", "1",
           "--factor", "4", "--bench", BENCH, "--attribute", "rounds=2", "--cpu", own_core(), *extra]
    t0 = time.monotonic()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=1200)
    print(f"--- nightly in {time.monotonic() - t0:.0f} s, exit {proc.returncode}\n{proc.stdout[-8000:]}\n"
          f"{proc.stderr[-3000:]}")
    return proc


def test_the_nightly_job_names_the_injected_commit_and_where_its_time_went(tmp_path):
    zarr_repo = tmp_path / "zarr-python"
    (good_night,) = make_zarr_repo(zarr_repo, ["3.1.6"])
    conf = matrix.load_asv_conf(ROOT / "asv.upstream.conf.json")
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    conf.update(pythons=[python], repo=str(zarr_repo), benchmark_dir=str(ROOT / "benchmarks"),
                env_dir=str(tmp_path / "env"), results_dir=str(tmp_path / "results"), html_dir=str(tmp_path / "html"))
    # zarr and this package, each built with the build tools the environment has (zarr's installed once with it),
    # not in an isolated build environment per commit: seconds instead of half a minute a commit; the optional
    # engines are not what this test reads with
    conf["matrix"] = {"req": {"hatchling": [""], "hatch-vcs": [""]}}
    conf["build_command"] = [c.replace("pip wheel", "pip wheel --no-build-isolation") for c in conf["build_command"]]
    conf["install_command"] = [c.replace("install {conf_dir}", "install --no-build-isolation {conf_dir}")
                               .replace("{conf_dir}", str(ROOT)) for c in conf["install_command"]
                               if "engines.install" not in c]
    conf_path = tmp_path / "asv.upstream.conf.json"
    conf_path.write_text(json.dumps(conf, indent=2))
    report = tmp_path / "nightly" / "latest.md"

    first = nightly(conf_path, tmp_path)
    assert first.returncode == 0, report.read_text()

    clean = [clean_commit(zarr_repo, n) for n in (1, 2)]
    quiet = nightly(conf_path, tmp_path)
    text = report.read_text()
    assert quiet.returncode == 0, text
    assert f"Benchmarked: {clean[-1][:8]}" in text and "**No regressions**" in text
    assert "Culprit" not in text and "bisecting" not in quiet.stdout

    culprit = inject(zarr_repo)
    after = [clean_commit(zarr_repo, n) for n in (3, 4, 5)]
    assert len(git(zarr_repo, "rev-list", "HEAD").split()) == 7
    t0 = time.monotonic()
    alarm = nightly(conf_path, tmp_path)
    seconds = time.monotonic() - t0
    text = report.read_text()
    assert alarm.returncode == 1, text
    assert f"Benchmarked: {after[-1][:8]}" in text and "**2 regressions**" in text
    section = text.split("## Culprit", 1)[1]
    # exactly the injected commit, found for both timings in one bisection of 4 commits after the good night
    assert f"### {culprit[:8]}" in section and "core: extra work in Array.__getitem__" in section
    assert section.count("### ") == 1 and f"after {clean[-1][:8]}" in section
    assert "found in 2 asv run(s) over 4 commit(s)" in section and "slowed 2 timing(s)" in section
    # the profile, sampled on every thread: the two injected functions first, the one on zarr's loop thread too
    rows = [line for line in section.splitlines() if line.startswith("| `") and "ms |" in line]
    profile_rows = [r for r in rows if "own time" not in r and "compression.Read" not in r]
    growth = {r.split("`")[1]: float(re.search(r"\| \+([0-9.]+) ms \(", r).group(1)) for r in profile_rows}
    share = {f: ms / sum(growth.values()) for f, ms in growth.items()}
    caller, loop = f"{INJECTED} (array.py)", f"{INJECTED_ON_THE_LOOP} (array.py)"
    # Shares of the growth, not sampled milliseconds, and bounds many standard deviations from what is expected.
    # py-spy samples at instants of a Poisson process (rate RATE = 200/s: exponential gaps, its timer.rs), so over
    # the 3 s at the culprit (~46 calls of ~62 ms) the A ≈ 570 samples of busy threads fall into the caller's
    # 40 ms spin, the loop's 20 ms spin and the rest (c ≲ 5 ms of thread-time per call, the ~1 ms read and
    # what the load adds to it) as a multinomial: given A, the caller's count is Binomial(A, p = 40/(60+c) ≥ 0.61),
    # the loop's Binomial(A, ≥ 0.30), any other function's Binomial(A, ≲ 0.03). An injected function's share of the
    # table's growth is at least its count over A (it has no samples at the parent, others' parent samples are
    # only subtracted, and the table is a subset), another function's at most its count over the two injected
    # ones'. Hence: caller ≥ 40 % is 10 sd below 0.61 (sd = √(p(1-p)/A) = 0.020), loop ≥ 15 % is 7.8 sd below
    # 0.30 (sd 0.019), another function ≤ 10 % (its count ≤ 8.8 % of A) is 8 sd above 0.03 (sd 0.007): each
    # fails with probability < 1e-14, and if py-spy, on a loaded machine, took only a quarter of its samples
    # (A ≈ 140), still < 1e-4.
    # The set-up's own writes on zarr's threads are not sampled (thread_profile runs setup_cache apart), so
    # nothing else grows with the slower call; and caller and loop are never ranked against each other.
    assert share.get(caller, 0) >= 0.40 and share.get(loop, 0) >= 0.15, (share, section)
    assert all(s <= 0.10 for f, s in share.items() if f not in (caller, loop)), (share, section)
    assert {r.split("`")[1] for r in profile_rows[:2]} == {caller, loop}, section  # follows from the three above
    assert (tmp_path / "nightly" / "profiles" / f"profile-{culprit[:8]}.png").is_file()
    # the probes' results are kept: the injected commit and the one after the good night's, not the others
    files = {p.name.split("-")[0] for p in (tmp_path / "results" / MACHINE).glob("*-virtualenv-*.json")}
    assert files == {c[:8] for c in (good_night, clean[-1], culprit, after[0], after[-1])}, files
    print(f"alarm, bisection and profile: {seconds:.0f} s\n{section}")
