"""The nightly job's parts, without running asv: lock, config, newest release, results history, comparison.

The end-to-end runs (a caught regression, a killed run, the upstream config)
are in test_nightly_asv.py.
"""

from __future__ import annotations

import json
import math
import os
import random
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.http_server import RecordingHTTPServer
from zarr_cryoet.asv import history
from zarr_cryoet.tracking import night_report, nightly
from zarr_cryoet.tracking import regressions
from zarr_cryoet.tracking import releases
from zarr_cryoet.stats.estimate import Band, Estimate
from zarr_cryoet.asv.entries import Entry, load_history
from zarr_cryoet.asv.noise import NoiseProfile
from zarr_cryoet.tracking.regressions import IMPROVED, NEW, NOT_COMPARABLE, REGRESSED, UNCHANGED

ROOT = Path(__file__).resolve().parent.parent
RECORDED = ROOT / "tests" / "data" / "asv-results"


# -- lock ---------------------------------------------------------------------------------------

def write_conf(directory: Path, **overrides) -> Path:
    conf = {"version": 1, "project": "demo", "repo": ".", "branches": ["main"],
            "environment_type": "virtualenv", "pythons": ["3.11"], "matrix": {"req": {"zarr": ["3.1.6"]}},
            "results_dir": ".asv/results", "env_dir": ".asv/env", "html_dir": "html", **overrides}
    path = directory / "asv.conf.json"
    path.write_text("// a comment line, as asv allows\n" + json.dumps(conf, indent=2))
    return path


def test_a_second_nightly_run_exits_75_naming_the_running_one(tmp_path):
    conf = write_conf(tmp_path)
    lock = tmp_path / ".asv" / "nightly" / "nightly.lock"
    with nightly.exclusive_lock(lock):
        proc = subprocess.run([sys.executable, "-m", "zarr_cryoet.cli", "nightly", "--config", str(conf)],
                              cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == nightly.EXIT_LOCKED
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "another nightly run is in progress" in lines[0] and f"pid {os.getpid()}" in lines[0]
    assert not (tmp_path / ".asv" / "results").exists()  # it did nothing


def test_the_lock_dies_with_a_killed_holder(tmp_path):
    lock = tmp_path / "nightly.lock"
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from zarr_cryoet.tracking.nightly import exclusive_lock
        with exclusive_lock(Path({str(lock)!r})):
            print("locked", flush=True)
            time.sleep(600)
        """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(nightly.NightlyLocked, match=f"pid {holder.pid}"):
            with nightly.exclusive_lock(lock):
                pass
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    with nightly.exclusive_lock(lock):  # no stale lock to clean up by hand
        assert f"pid {os.getpid()}" in lock.read_text()


# -- run configuration --------------------------------------------------------------------------

def test_run_config_is_absolute_and_keeps_conf_dir(tmp_path, monkeypatch):
    conf_path = write_conf(tmp_path, install_command=["in-dir={env_dir} python -m pip install {conf_dir}"],
                           include=[{"python": "3.99", "req": {"zarr": "9.0"}}])
    notes = []
    conf = nightly.run_config(nightly.NightlyOptions(config=conf_path, follow_releases=False), notes)
    assert conf["repo"] == str(tmp_path)
    assert conf["results_dir"] == str(tmp_path / ".asv" / "results")
    assert conf["benchmark_dir"] == str(tmp_path / "benchmarks")
    assert conf["install_command"] == [f"in-dir={{env_dir}} python -m pip install {tmp_path}"]
    # no python3.99 here: its environment is left out, and the report says so
    assert conf["include"] == []
    assert any("Python 3.99" in n for n in notes)


def test_run_config_repo_override_and_errors(tmp_path, monkeypatch):
    conf_path = write_conf(tmp_path)
    monkeypatch.chdir(tmp_path)
    options = nightly.NightlyOptions(config=conf_path, follow_releases=False, repo="https://example.org/zarr.git")
    assert nightly.run_config(options, [])["repo"] == "https://example.org/zarr.git"
    with pytest.raises(nightly.NightlyError, match="does not exist; pass --repo"):
        nightly.run_config(nightly.NightlyOptions(config=conf_path, repo="no/such/clone"), [])
    with pytest.raises(nightly.NightlyError, match="not found; pass --config"):
        nightly.run_config(nightly.NightlyOptions(config=tmp_path / "missing.json"), [])
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(nightly.NightlyError, match="is not valid"):
        nightly.run_config(nightly.NightlyOptions(config=tmp_path / "bad.json"), [])


def test_cpu_choice():
    cores = sorted(os.sched_getaffinity(0))
    assert nightly.cpu_affinity("none") == []
    assert nightly.cpu_affinity(str(cores[0])) == ["--cpu-affinity", str(cores[0])]
    assert nightly.cpu_affinity("auto") == ([] if len(cores) == 1 else ["--cpu-affinity", str(cores[-1])])
    with pytest.raises(nightly.NightlyError, match="not one of this process's cores"):
        nightly.cpu_affinity("4096")


# -- newest zarr release ------------------------------------------------------------------------

def make_simple_index(root: Path, releases_: dict[str, str]) -> None:
    """A PEP 503 index with one wheel per zarr version (and its Requires-Python)."""
    page = root / "simple" / "zarr" / "index.html"
    page.parent.mkdir(parents=True)
    links = "".join(f'<a href="zarr-{v}-py3-none-any.whl" data-requires-python="{rp.replace(">", "&gt;")}">'
                    f"zarr-{v}-py3-none-any.whl</a>\n" for v, rp in releases_.items())
    page.write_text(f"<!DOCTYPE html><html><body>\n{links}</body></html>\n")


@pytest.fixture
def only_this_index(monkeypatch):
    """pip sees only the index the test sets: no config files, find-links or extra indexes."""
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    for name in ("PIP_FIND_LINKS", "PIP_EXTRA_INDEX_URL", "PIP_NO_INDEX"):
        monkeypatch.delenv(name, raising=False)


def test_newest_release_is_read_from_the_package_index(tmp_path, monkeypatch, only_this_index):
    make_simple_index(tmp_path, {"2.18.7": ">=3.10", "3.1.6": ">=3.11", "3.4.2": ">=3.12", "3.9.0": ">=3.12"})
    with RecordingHTTPServer(tmp_path) as server:
        monkeypatch.setenv("PIP_INDEX_URL", f"{server.url}/simple")
        assert releases.newest_release("zarr", "3.13") == "3.9.0"
        assert releases.newest_release("zarr", "3.11") == "3.1.6"
        assert any(r.path.startswith("/simple/zarr") for r in server.requests)


def test_newest_release_unreachable_index(monkeypatch, only_this_index):
    with RecordingHTTPServer(Path(".")) as server:
        url = f"{server.url}/simple"
    monkeypatch.setenv("PIP_INDEX_URL", url)  # the server is gone: nothing listens there
    monkeypatch.setenv("PIP_RETRIES", "0")
    monkeypatch.setenv("PIP_TIMEOUT", "5")
    with pytest.raises(releases.ReleaseLookupError, match="could not list zarr releases"):
        releases.newest_release("zarr", "3.13")


def test_a_new_release_gets_an_environment_in_the_run_config(tmp_path, monkeypatch, only_this_index):
    make_simple_index(tmp_path, {"3.1.6": ">=3.11", "3.9.0": ">=3.11"})
    conf_path = write_conf(tmp_path)
    with RecordingHTTPServer(tmp_path) as server:
        monkeypatch.setenv("PIP_INDEX_URL", f"{server.url}/simple")
        notes = []
        conf = nightly.run_config(nightly.NightlyOptions(config=conf_path), notes)
    assert conf["include"] == [{"python": "3.11", "req": {"zarr": "3.9.0"}}]
    assert notes == ["zarr 3.9.0 is newer than the matrix in asv.conf.json; benchmarked it in an extra "
                     "environment (Python 3.11). Pin it in asv.conf.json to keep it."]


def test_follow_newest_adds_one_environment_on_the_newest_python():
    conf = {"pythons": ["3.11"], "matrix": {"req": {"zarr": ["2.18.7", "3.1.6"]}},
            "include": [{"python": "3.13", "req": {"zarr": "3.4.2"}}]}
    assert releases.matrix_versions(conf) == {"2.18.7", "3.1.6", "3.4.2"}
    assert releases.follow_newest(conf, "3.4.2") is None
    assert releases.follow_newest(conf, "3.4.0") is None
    assert releases.follow_newest(conf, "3.5.0") == "3.5.0"
    assert conf["include"][-1] == {"python": "3.13", "req": {"zarr": "3.5.0"}}


def test_releases_honour_exclude_rules():
    conf = {"pythons": ["3.11", "3.12"], "matrix": {"req": {"zarr": ["2.18.7", "3.9.0"]}},
            "exclude": [{"python": "3.12"}, {"req": {"zarr": "3.9.*"}}]}
    assert releases.matrix_versions(conf) == {"2.18.7"}  # 3.9.0 is excluded everywhere: not benchmarked
    assert releases.newest_python(conf) == "3.11"  # no environment is left on 3.12
    assert releases.follow_newest(conf, "3.5.0") == "3.5.0"
    assert conf["include"] == [{"python": "3.11", "req": {"zarr": "3.5.0"}}]


def test_a_config_with_a_bad_matrix_is_one_clear_error(tmp_path):
    conf_path = write_conf(tmp_path, exclude=[{"python": "3.1("}])
    with pytest.raises(nightly.NightlyError, match=r"is not valid: bad regular expression '3\.1\(' in an exclude"):
        nightly.load_config(conf_path)
    (tmp_path / "list.json").write_text("[1, 2]")
    with pytest.raises(nightly.NightlyError, match="is not valid: the top level is not a JSON object"):
        nightly.load_config(tmp_path / "list.json")


def test_the_run_config_skips_pythons_by_environment_not_by_list(tmp_path):
    """A Python whose environments are all excluded is not reported as skipped."""
    conf_path = write_conf(tmp_path, pythons=["3.11", "3.99"], exclude=[{"python": "3.99"}])
    notes = []
    nightly.run_config(nightly.NightlyOptions(config=conf_path, follow_releases=False), notes)
    assert notes == []


# -- results history on a git branch ------------------------------------------------------------

def git(repo, *args):
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def repo_with_results(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "README.md").write_text("hello\n")
    git(repo, "add", "README.md")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-qm", "first")
    results = repo / ".asv" / "results"
    (results / "vm").mkdir(parents=True)
    (results / "benchmarks.json").write_text('{"version": 2}')
    (results / "vm" / "abc-env.json").write_text('{"results": {"a": 1}}')
    return repo, results


def test_snapshots_go_to_their_own_branch_and_leave_main_alone(repo_with_results):
    repo, results = repo_with_results
    head, status = git(repo, "rev-parse", "HEAD"), git(repo, "status", "--porcelain")
    first = history.commit_snapshot(repo, results, "asv-results/demo", "night 1")
    assert first and history.branch_commit(repo, "asv-results/demo") == first
    assert history.commit_snapshot(repo, results, "asv-results/demo", "night 2") is None  # nothing new
    (results / "vm" / "def-env.json").write_text('{"results": {"a": 2}}')
    second = history.commit_snapshot(repo, results, "asv-results/demo", "night 3")
    assert git(repo, "rev-parse", f"{second}^") == first
    assert sorted(git(repo, "ls-tree", "-r", "--name-only", second).split()) == [
        "benchmarks.json", "vm/abc-env.json", "vm/def-env.json"]
    assert git(repo, "rev-parse", "HEAD") == head and git(repo, "status", "--porcelain") == status
    assert git(repo, "rev-parse", "--abbrev-ref", "HEAD") == "main"


def test_unreadable_results_are_restored_or_quarantined(repo_with_results, tmp_path):
    repo, results = repo_with_results
    history.commit_snapshot(repo, results, "asv-results/demo", "night 1")
    good = (results / "vm" / "abc-env.json").read_bytes()
    (results / "vm" / "abc-env.json").write_bytes(good[:7])  # killed mid-write
    (results / "vm" / "new-env.json").write_text('{"resu')  # never committed
    done = history.repair(repo, results, "asv-results/demo", tmp_path / "quarantine")
    assert (results / "vm" / "abc-env.json").read_bytes() == good
    assert not (results / "vm" / "new-env.json").exists()
    assert [p.read_text() for p in (tmp_path / "quarantine").rglob("new-env.json")] == ['{"resu']
    assert len(done) == 2 and "restored from branch" in done[0] and "moved to" in done[1]
    assert history.repair(repo, results, "asv-results/demo", tmp_path / "quarantine") == []


def test_a_fresh_clone_gets_its_results_back_from_the_branch(repo_with_results, tmp_path):
    repo, results = repo_with_results
    history.commit_snapshot(repo, results, "asv-results/demo", "night 1")
    empty = tmp_path / "elsewhere" / "results"
    assert history.restore(repo, empty, "asv-results/demo") == 2
    assert json.loads((empty / "vm" / "abc-env.json").read_text()) == {"results": {"a": 1}}
    assert history.restore(repo, empty, "asv-results/demo") == 0  # not empty: untouched


# -- comparing results --------------------------------------------------------------------------

def entry(value, spread=None, version="v1", unit="seconds", n=10):
    if value is None or spread is None:
        return Entry(value, None, None, version, unit)
    stats = {"ci_99_a": value - spread, "ci_99_b": value + spread, "q_25": value, "q_75": value,
             "repeat": n, "number": 1}
    return Entry(value, stats, None, version, unit)


@pytest.mark.parametrize("before, after, kind", [
    (entry(1.0, 0.01), entry(2.0, 0.01), REGRESSED),
    (entry(2.0, 0.01), entry(1.0, 0.01), IMPROVED),
    (entry(1.0, 0.01), entry(1.1, 0.01), UNCHANGED),  # significant, but within the factor
    (entry(1.0, 0.8), entry(1.6, 0.8), UNCHANGED),  # past the factor (1.5), but the intervals overlap
    (entry(1.0), entry(1.6), REGRESSED),  # single samples (--quick): the factor alone decides
    (entry(1.0, 0.01), entry(None), REGRESSED),  # now fails
    (entry(None), entry(1.0, 0.01), IMPROVED),  # works again
    (entry(1.0, 0.01), entry(float("nan")), UNCHANGED),  # skipped
    (entry(1.0, 0.01), entry(5.0, 0.01, version="v2"), NOT_COMPARABLE),  # the benchmark changed
])
def test_classify_follows_asv_compare(before, after, kind):
    assert regressions.classify("compression.Read.time_read('p', 'none', 2)", before, after) == kind


def test_a_smaller_compression_ratio_is_the_regression():
    name = "compression.Storage.track_compression_ratio('p', 'blosc-zstd', 2)"
    assert regressions.classify(name, entry(1.17, unit="ratio"), entry(0.9, unit="ratio")) == REGRESSED
    assert regressions.classify(name, entry(1.0, unit="ratio"), entry(1.3, unit="ratio")) == IMPROVED
    # deterministic: a change of a thousandth is real, whatever the factor
    assert regressions.classify(name, entry(1.167, unit="ratio"), entry(1.166, unit="ratio")) == REGRESSED
    gets = "access.Requests.track_get_requests('p', '64x64x64', 2, 'xy')"
    assert regressions.classify(gets, entry(16, unit="requests"), entry(17, unit="requests")) == REGRESSED
    interop = "engines.Interop.track_mismatched_voxels('p', '64x64x64', 2, 'tensorstore', 'zarr-python')"
    assert regressions.classify(interop, entry(0, unit="voxels"), entry(1, unit="voxels")) == REGRESSED
    faults = "process_state.PageFaults.track_minor_faults_per_read('p', '64x64x64', 2, 'xy', 'pinned')"
    assert regressions.classify(faults, entry(30, unit="faults"), entry(33, unit="faults")) == UNCHANGED


def test_a_codec_that_keeps_less_is_the_regression_and_round_off_is_not():
    rmse = "lossy.Fidelity.track_rmse_over_sigma('p', 'bitround-4', 2)"
    assert regressions.classify(rmse, entry(0.0132, unit="sigma"), entry(0.0140, unit="sigma")) == REGRESSED
    assert regressions.classify(rmse, entry(0.0132, unit="sigma"), entry(0.01321, unit="sigma")) == UNCHANGED
    psnr = "lossy.PSNR.track_psnr('p', 'bitround-4', 2)"
    assert regressions.classify(psnr, entry(57.5, unit="dB"), entry(55.0, unit="dB")) == REGRESSED
    assert regressions.classify(psnr, entry(57.5, unit="dB"), entry(60.0, unit="dB")) == IMPROVED
    drop = "lossy.AgainstTruth.track_max_fsc_drop('p', 'zfp-rate-1', 2)"
    assert regressions.classify(drop, entry(0.024, unit="FSC"), entry(0.03, unit="FSC")) == REGRESSED


def timing(value, slowest=None, processes=5, band=None):
    """A timing with the suite's statistic: ``processes`` process minima evenly from ``value`` (the fastest) to
    ``slowest``, two samples each; ``band``: the machine's measured band."""
    slowest = value if slowest is None else slowest
    minima = tuple(value + (slowest - value) * i / max(1, processes - 1) for i in range(processes))
    found = Estimate(value, minima, 2 * processes, band)
    return Entry(value, None, [m for m in minima for _ in range(2)], "v1", "seconds", found, 2)


NAME = "chunking.Read.time_read_full('p', '16x16x16', 2)"
BAND = Band(0.93, 1.08, 0.90)  # a machine's run-to-run band: another run of one commit lands within -7 %/+8 %


@pytest.mark.parametrize("before, after, kind", [
    (timing(1.0, 1.02), timing(1.30, 1.32), REGRESSED),  # every process slower: p = 0.008, 5 v 5
    (timing(1.0, 1.02), timing(0.90, 0.91), IMPROVED),
    (timing(1.0, 1.04), timing(1.01, 1.05), UNCHANGED),  # the processes interleave
    (timing(1.0, 1.02, 3), timing(1.30, 1.32, 3), UNCHANGED),  # 3 v 3: the smallest p is 0.1, never different
    (timing(1.0, 1.02, band=BAND), timing(1.04, 1.06, band=BAND), UNCHANGED),  # within the run-to-run band
    (timing(1.0, 1.02, band=BAND), timing(1.30, 1.32, band=BAND), REGRESSED),  # beyond it
])
def test_without_a_noise_profile_a_timing_is_judged_by_the_rank_test_of_its_processes(before, after, kind):
    assert regressions.classify(NAME, before, after) == kind


def test_the_nights_rank_tests_are_adjusted_together_and_printed_beside_each_verdict():
    """Benjamini–Hochberg across the night: one timing at p = 0.008 among ten unchanged ones is not called slower;
    ten of them are. The report gives each timing's q and processes, never a ±."""
    names = [f"chunking.Read.time_read_full('p', '{n}', 2)" for n in range(11)]
    alone = [regressions.Comparison("env", n, timing(1.0, 1.04), timing(1.3 if i == 0 else 1.01, 1.05))
             for i, n in enumerate(names)]
    verdicts = regressions.judge(alone)
    assert verdicts[0].kind == UNCHANGED and verdicts[0].test.p == pytest.approx(2 / 252)
    assert verdicts[0].test.q == pytest.approx(11 * 2 / 252) and verdicts[0].source == regressions.RANK_TEST
    moved = [row._replace(after=timing(1.3, 1.35)) if i < 10 else row for i, row in enumerate(alone)]
    assert [v.kind for v in regressions.judge(moved)] == [REGRESSED] * 10 + [UNCHANGED]
    h = regressions.History({("e", "c1", names[0]): timing(1.0, 1.04), ("e", "c2", names[0]): timing(1.3, 1.35)},
                            {"e": {"python": "3.11", "zarr": "3.1.6"}})
    text = night_report.render_markdown(regressions.compare_new(h.only({("e", "c1", names[0])}), h, ["c1", "c2"]),
                                       h, title="night", rule="rule")
    assert "| 1.00 s (range 1.00–1.04, n=5) | 1.30 s (range 1.30–1.35, n=5) | 1.30× " \
           "| rank test: slower (q = 0.008, 5 v 5) | c1 |" in text
    assert "±" not in text
    # a noise-profile verdict keeps its threshold and gives the test beside it; a band margin is named
    banded = regressions.judge([regressions.Comparison("env", names[0], timing(1.0, 1.02, band=BAND),
                                                       timing(1.3, 1.32, band=BAND))])[0]
    change = regressions.Change(banded.kind, names[0], "env", "c2", test=banded.test, threshold=0.05,
                                threshold_source="noise profile")
    assert night_report._threshold(change) == \
        "+5 % (noise profile); rank test: slower (q = 0.008, 5 v 5, beyond the run-to-run band)"


def test_a_noise_profile_gives_each_timing_its_own_threshold():
    quiet = NoiseProfile("vm", "abc", ["vm", "vm-b"], {("env", NAME): 0.01})  # detectable: exp(2.878·√2·0.01)-1
    thresholds = regressions.Thresholds(noise=quiet)
    assert quiet.detectable("env", NAME) == pytest.approx(0.0415, abs=1e-3)
    assert regressions.classify(NAME, timing(1.0, 1.5), timing(1.06, 1.5), thresholds, "env") == REGRESSED
    assert regressions.classify(NAME, timing(1.0, 1.5), timing(1.03, 1.5), thresholds, "env") == UNCHANGED
    # a timing the profile does not have falls back to the rank test of its processes
    assert regressions.classify(NAME, timing(1.0, 1.5), timing(1.06, 1.5), thresholds, "other") == UNCHANGED
    assert regressions.classify(NAME, timing(1.0, 1.01), timing(1.06, 1.07), thresholds, "other") == REGRESSED
    noisy = NoiseProfile("vm", "abc", ["vm", "vm-b"], {("env", NAME): 0.2})
    assert noisy.useless() == [("env", NAME)]
    # --factor: one factor for all, asv compare's rules
    assert regressions.classify(NAME, timing(1.0, 1.02), timing(1.3, 1.32), regressions.Thresholds(factor=1.5)) \
        == UNCHANGED


def test_instruction_counts_change_beyond_their_measured_spread_and_are_the_first_alarm():
    name = "instructions.Instructions.track_instructions('p', 'full read 64x64x64')"
    count = lambda n: Entry(n, None, None, "v1", "instructions")  # noqa: E731
    assert regressions.INSTRUCTIONS_CHANGE == 0.015  # the one threshold: 0.9 % measured between clean runs
    assert regressions.classify(name, count(60e6), count(60.8e6)) == UNCHANGED
    assert regressions.classify(name, count(60e6), count(61e6)) == REGRESSED
    every_case = "instructions.ChunkingRead.track_instructions_read_full('p', '16x16x16', 2)"
    assert regressions.classify(every_case, count(60e6), count(61e6)) == REGRESSED
    h = regressions.History({("e", "c1", name): count(60e6), ("e", "c2", name): count(66e6),
                             ("e", "c1", NAME): timing(1.0, 1.01), ("e", "c2", NAME): timing(2.0, 2.01)},
                            {"e": {"python": "3.11", "zarr": "3.1.6"}})
    changes = regressions.compare_new(h.only({("e", "c1", name), ("e", "c1", NAME)}), h, ["c1", "c2"])
    text = night_report.render_markdown(changes, h, title="night", rule="rule")
    assert text.index("## Regressed instruction counts (1): the first alarm") < text.index("## Regressed (1)")
    assert "| rank test: slower (q = 0.008, 5 v 5) |" in text  # how the timing was judged, with its test


def fake_history() -> regressions.History:
    e = {("env-a", "c1", "b.time_x(1)"): entry(1.0, 0.01), ("env-a", "c2", "b.time_x(1)"): entry(3.0, 0.01),
         ("env-a", "c3", "b.time_x(1)"): entry(3.0, 0.01),
         ("env-old", "c3", "b.time_y"): entry(1.0, 0.01), ("env-new", "c3", "b.time_y"): entry(0.5, 0.01),
         ("env-new", "c3", "b.time_z"): entry(None)}
    params = {"env-a": {"python": "3.11", "zarr": "3.1.6"}, "env-old": {"python": "3.13", "zarr": "3.4.2"},
              "env-new": {"python": "3.13", "zarr": "3.10.0"}}
    return regressions.History(e, params)


def test_new_results_are_compared_with_the_older_commit_or_the_previous_release():
    h = fake_history()
    before = h.only({("env-a", "c1", "b.time_x(1)"), ("env-old", "c3", "b.time_y")})
    changes = {(c.env, c.commit, c.name): c for c in regressions.compare_new(before, h, ["c1", "c2", "c3"])}
    assert changes[("env-a", "c2", "b.time_x(1)")].kind == REGRESSED
    assert changes[("env-a", "c2", "b.time_x(1)")].ratio == pytest.approx(3.0)
    assert changes[("env-a", "c3", "b.time_x(1)")].kind == UNCHANGED  # c3 vs c2, not vs c1
    # zarr 3.10.0 seen for the first time: compared with 3.4.2 (versions compare as versions)
    release = changes[("env-new", "c3", "b.time_y")]
    assert (release.kind, release.baseline_env) == (IMPROVED, "env-old")
    assert changes[("env-new", "c3", "b.time_z")].kind == REGRESSED  # fails with nothing to compare: reported
    assert ("env-old", "c3", "b.time_y") not in changes


def test_skipped_results_are_neither_new_nor_a_baseline():
    nan = float("nan")
    h = regressions.History({("e", "c1", "b.t"): entry(1.0, 0.01), ("e", "c2", "b.t"): entry(nan),
                             ("e", "c3", "b.t"): entry(3.0, 0.01), ("e", "c3", "b.u"): entry(nan)},
                            {"e": {"python": "3.11", "zarr": "3.1.6"}})
    changes = regressions.compare_new(h.only({("e", "c1", "b.t")}), h, ["c1", "c2", "c3"])
    assert [(c.name, c.commit, c.kind, c.baseline_commit) for c in changes] == [("b.t", "c3", REGRESSED, "c1")]


def test_report_names_each_regression_with_before_and_after():
    h = fake_history()
    changes = regressions.compare_new(h.only({("env-a", "c1", "b.time_x(1)")}), h, ["c1", "c2", "c3"])
    text = night_report.render_markdown(changes, h, title="night", rule="a rule", notes=["a note"])
    assert "**2 regressions** (a rule)" in text
    assert "| `b.time_x(1)` | zarr 3.1.6 (Python 3.11) @ c2 | 1.00 s | 3.00 s | 3.00× | factor 1.5 | c1 |" in text
    assert "## Improved (1)" in text and "zarr 3.4.2 (Python 3.13)" in text
    assert "- a note" in text


def test_history_of_a_real_asv_results_directory():
    h = load_history(RECORDED, "vm")
    zarrs = {p["zarr"] for p in h.env_params.values()}
    assert zarrs == {"2.18.7", "3.1.6", "3.4.2"}
    assert len(h.entries) > 100
    values = [e.value for (env, _, name), e in h.entries.items() if name.startswith("compression.Read.time_read")]
    assert values and all(v is None or math.isnan(v) or v > 0 for v in values)
    assert regressions.compare_new(h, h, []) == []
    assert regressions.compare_new(h.only(set()), h, []) != []


def test_the_nightly_cli_rejects_a_bad_cpu_before_doing_anything(tmp_path):
    conf = write_conf(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "zarr_cryoet.cli", "nightly", "--config", str(conf),
                           "--cpu", "x", "--no-follow-releases"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        "zarr-cryoet: error: --cpu x: not one of this process's cores "
        f"({min(os.sched_getaffinity(0))}-{max(os.sched_getaffinity(0))}); pass a core number, auto or none"]
    assert not (tmp_path / ".asv").exists()



def family_rows(ratio_of, pair=("c2", "c1")):
    """Six timings of one family, before 1.0 and after ``ratio_of(i)``."""
    names = [f"chunking.Read.time_read_full('p', '{n}x{n}x{n}', 2)" for n in (16, 32, 48, 64, 96, 128)]
    return [regressions.Comparison("env", name, timing(1.0, 1.3), timing(ratio_of(i), ratio_of(i) * 1.3), pair)
            for i, name in enumerate(names)]


def test_a_family_that_moves_together_is_flagged_where_no_timing_alone_would_be():
    names = [row.name for row in family_rows(lambda i: 1.0)]
    profile = NoiseProfile("vm", "abc", ["a", "b"], {("env", n): 0.05 for n in names},  # each: +22 % to detect
                           {("env", "chunking.Read.time_read_full"): 0.01})  # the family: +4 %
    thresholds = regressions.Thresholds(noise=profile)
    slower = regressions.judge(family_rows(lambda i: [1.10, 1.08, 1.12, 1.09, 1.01, 1.11][i]), thresholds)
    assert [v.kind for v in slower] == [REGRESSED] * 4 + [UNCHANGED, REGRESSED]  # 1.01: below half the bar
    assert slower[0].source.startswith("family chunking.Read.time_read_full +8 %")
    quiet = regressions.judge(family_rows(lambda i: [1.02, 0.99, 1.01, 1.0, 1.02, 0.98][i]), thresholds)
    assert {v.kind for v in quiet} == {UNCHANGED}
    # without a profile there is no family stage: each timing by its rank test only
    assert {v.kind for v in regressions.judge(family_rows(lambda i: 1.08))} == {UNCHANGED}


def test_the_alarm_proof_alternates_clean_and_injected_runs_and_confirms_with_a_second_look():
    from zarr_cryoet.tracking import alarm_proof

    assert alarm_proof.machines(2, (0.1, 0.25)) == [
        ("proof-clean-1a", 0.0), ("proof-10-1", 0.1), ("proof-clean-1b", 0.0), ("proof-25-1", 0.25),
        ("proof-clean-2a", 0.0), ("proof-10-2", 0.1), ("proof-clean-2b", 0.0), ("proof-25-2", 0.25)]
    name = "chunking.Read.time_read_full('p', '16x16x16', 2)"
    before, fluke, again = {("e", name): timing(1.0, 1.02)}, {("e", name): timing(1.5, 1.52)}, \
        {("e", name): timing(1.01, 1.03)}
    assert alarm_proof._classify(before, fluke, regressions.Thresholds()) == [REGRESSED]
    assert alarm_proof._classify(before, fluke, regressions.Thresholds(), again) == [UNCHANGED]  # cleared
    assert alarm_proof._classify(before, fluke, regressions.Thresholds(), fluke) == [REGRESSED]  # confirmed


def test_a_count_is_never_compared_with_another_release_or_with_nothing():
    name = "instructions.ChunkingRead.track_instructions_read_full('p', '16x16x16', 2)"
    count = lambda n: Entry(n, None, None, "v1", "instructions")  # noqa: E731
    h = regressions.History({("old", "c1", name): count(150e6), ("new", "c1", name): count(470e6)},
                            {"old": {"python": "3.11", "zarr": "2.18.7"}, "new": {"python": "3.11", "zarr": "3.1.6"}})
    changes = regressions.compare_new(h.only({("old", "c1", name)}), h, ["c1"])
    assert [(c.env, c.kind) for c in changes] == [("new", NEW)]  # not "3.13× regressed"


def test_page_faults_inform_and_never_alarm():
    name = "process_state.PageFaults.track_minor_faults_per_read('p', '64x64x64', 2, 'xy', 'pinned')"
    faults = lambda n: Entry(n, None, None, "v1", "faults")  # noqa: E731
    h = regressions.History({("e", "c1", name): faults(10), ("e", "c2", name): faults(900)},
                            {"e": {"python": "3.11", "zarr": "3.1.6"}})
    changes = regressions.compare_new(h.only({("e", "c1", name)}), h, ["c1", "c2"])
    assert [c.kind for c in changes] == [regressions.MOVED]
    text = night_report.render_markdown(changes, h, title="night", rule="rule")
    assert "**No regressions**" in text and "they inform, they do not alarm" in text


def test_a_long_history_is_judged_by_change_points_across_nights():
    rng = random.Random(3)
    nights = [f"c{i:02d}" for i in range(24)]
    noisy = [math.exp(rng.gauss(0, 0.05)) for _ in nights]

    def history(step_from: int | None, step: float) -> regressions.History:
        values = [v * (1 + step if step_from is not None and i >= step_from else 1) for i, v in enumerate(noisy)]
        return regressions.History({("e", c, NAME): entry(v, 0.0) for c, v in zip(nights, values)},
                                   {"e": {"python": "3.11", "zarr": "3.1.6"}})

    def tonight(h):
        changes = regressions.compare_new(h.only({k for k in h.entries if k[1] != nights[-1]}), h, nights)
        return changes[0]

    slower = tonight(history(21, 0.5))  # three nights ago everything got 50 % slower
    assert slower.kind == REGRESSED and slower.threshold_source.startswith("change points across 24 nights: 1.5")
    clean = tonight(history(None, 0))
    assert clean.kind == UNCHANGED and "none among the last 3" in clean.threshold_source
