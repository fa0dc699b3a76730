"""The bisection's search and the profile comparison, without asv (tests/test_bisection_asv.py runs them for real)."""

from __future__ import annotations

import json
import math
import sys

import pytest

from zarr_cryoet.stats.estimate import Estimate
from zarr_cryoet.tracking import bisection, profile_comparison, regressions, thread_profile
from zarr_cryoet.tracking.bisection import Suspect
from zarr_cryoet.asv.entries import Entry

COMMITS = [f"{i:040x}" for i in range(12)]


def probe_for(first_bad: dict[Suspect, int]):
    """A fake probe: each suspect is bad from its first bad commit on; records what it was asked."""
    asked = []

    def is_bad(commit, group):
        asked.append((commit, tuple(group)))
        return {s for s in group if COMMITS.index(commit) >= first_bad[s]}

    return is_bad, asked


@pytest.mark.parametrize("culprit", range(1, 12))
def test_one_cause_is_found_in_log2_probes_for_every_timing_it_slowed(culprit):
    suspects = [Suspect("env", f"b.time_{i}") for i in range(5)]
    is_bad, asked = probe_for({s: culprit for s in suspects})
    found = bisection.first_bad(COMMITS, suspects, is_bad)
    assert found == {COMMITS[culprit]: sorted(suspects)}
    assert len(asked) <= math.ceil(math.log2(len(COMMITS) - 1))
    assert all(len(group) == 5 for _, group in asked)  # probed together: one bisection


def test_two_causes_in_one_range_part_ways_and_are_both_found():
    a, b, c = Suspect("env", "x.time_a"), Suspect("env", "x.time_b"), Suspect("other", "x.time_a")
    is_bad, asked = probe_for({a: 3, b: 9, c: 3})
    found = bisection.first_bad(COMMITS, [a, b, c], is_bad)
    assert found == {COMMITS[3]: [c, a] if c < a else [a, c], COMMITS[9]: [b]}
    assert len(asked) <= 2 * math.ceil(math.log2(11))


def test_adjacent_commits_need_no_probe():
    is_bad, asked = probe_for({Suspect("e", "n"): 1})
    assert bisection.first_bad(COMMITS[:2], [Suspect("e", "n")], is_bad) == {COMMITS[1]: [Suspect("e", "n")]}
    assert asked == []


def _entry(value, processes=2):
    minima = tuple(value * (1 + 0.05 * i / (processes - 1)) for i in range(processes))
    return Entry(value, None, [m for m in minima for _ in range(2)], "v1", "seconds",
                 Estimate(value, minima, 2 * processes), 2)


def test_alarm_groups_take_confirmed_timing_regressions_between_commits_only():
    order = COMMITS[:5]
    change = regressions.Change  # kind, name, env, commit, before, after, baseline_env, baseline_commit
    changes = [change(regressions.REGRESSED, "m.time_a(1)", "e", order[4], _entry(1), _entry(2), "e", order[1]),
               change(regressions.REGRESSED, "m.time_a(2)", "e", order[4], _entry(1), _entry(2), "e", order[1]),
               change(regressions.REGRESSED, "m.time_a(1)", "new-zarr", order[4], _entry(1), _entry(2), "e", order[4]),
               change(regressions.REGRESSED, "m.track_ratio", "e", order[4], _entry(1), _entry(2), "e", order[1]),
               change(regressions.UNCHANGED, "m.time_b", "e", order[4], _entry(1), _entry(1), "e", order[1])]
    assert bisection.alarm_groups(changes, order) == {
        (order[1], order[4]): [Suspect("e", "m.time_a(1)"), Suspect("e", "m.time_a(2)")]}


def test_the_report_names_the_culprit_with_times_intervals_and_probes():
    s, t = Suspect("virtualenv-py3.13", "compression.Read.time_read('none', 2)"), Suspect("e", "m.time_a(1)")
    culprit = bisection.Culprit(COMMITS[4], COMMITS[3], "core: extra work", [s, t],
                                {s: _entry(0.002), t: _entry(0.010, 5)}, {s: _entry(0.042), t: _entry(0.020, 5)},
                                probes=3, range_size=7)
    text = bisection.render([culprit], lambda c: c[:8])
    assert "## Culprit" in text and f"### {COMMITS[4][:8]}: core: extra work" in text
    assert "found in 3 asv run(s) over 7 commit(s)" in text and f"after {COMMITS[3][:8]} (its parent)" in text
    # each time with the range of its processes, each ratio with the rank test (2 processes a side: never different)
    assert "| 2.0 ms (range 2.0–2.1, n=2) | 42.0 ms (range 42.0–44.1, n=2) | 21.00× ~ (p = 0.33, 2 v 2) |" in text
    assert "| 10.0 ms (range 10.0–10.5, n=5) | 20.0 ms (range 20.0–21.0, n=5) | 2.00× (p = 0.008, 5 v 5) |" in text
    assert "±" not in text


def test_a_probe_judges_its_group_with_the_alarms_rule(tmp_path, monkeypatch):
    """At each probe the group's timings are judged against the good night's: by the rank test of their processes
    (adjusted across the group) where no noise profile gives a threshold; a timing without a result is bad."""
    slow, same, missing = Suspect("e", "m.time_a(1)"), Suspect("e", "m.time_a(2)"), Suspect("e", "m.time_a(3)")
    entries = {("e", COMMITS[0], slow.name): _entry(0.010, 5), ("e", COMMITS[5], slow.name): _entry(0.013, 5),
               ("e", COMMITS[0], same.name): _entry(0.010, 5), ("e", COMMITS[5], same.name): _entry(0.0101, 5),
               ("e", COMMITS[0], missing.name): _entry(0.010, 5)}
    monkeypatch.setattr(bisection, "load_history", lambda *args: regressions.History(entries, {}))
    runs = []
    probe = bisection.Probe(lambda commit, args: runs.append((commit, args)) or 0, tmp_path, "vm", COMMITS[0],
                            regressions.Thresholds())
    assert probe(COMMITS[5], [slow, same, missing]) == {slow, missing}
    assert probe.runs == 1 and runs[0][0] == COMMITS[5]


THREADS = '''
import time
from concurrent.futures import ThreadPoolExecutor

SLOW = False
POOL = ThreadPoolExecutor(1)  # as zarr 3's event loop: the work on a thread of its own


def spin(seconds):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def injected_on_the_caller():
    end = time.perf_counter() + 0.004
    while time.perf_counter() < end:
        pass


def injected_on_the_worker():
    end = time.perf_counter() + 0.006
    while time.perf_counter() < end:
        pass


def decode():
    spin(0.002)
    if SLOW:
        injected_on_the_worker()


class Read:
    params, param_names = (["x"],), ["p"]

    def setup(self, p):
        self.done = 0

    def time_read(self, p):
        if SLOW:
            injected_on_the_caller()
        POOL.submit(decode).result()
        self.done += 1

    def teardown(self, p):
        assert self.done > 0
'''


@pytest.mark.skipif(thread_profile.py_spy() is None, reason="py-spy is not installed (zarr-cryoet[test] has it)")
def test_the_profile_sees_every_thread_and_puts_the_injected_work_first(tmp_path):
    (tmp_path / "bench").mkdir()
    (tmp_path / "bench" / "__init__.py").write_text("")
    (tmp_path / "bench" / "threads.py").write_text(THREADS)
    parent = thread_profile.sample(sys.executable, "threads.Read.time_read('x')", tmp_path / "bench", {}, seconds=1.5)
    (tmp_path / "bench" / "threads.py").write_text(THREADS.replace("SLOW = False", "SLOW = True"))
    culprit = thread_profile.sample(sys.executable, "threads.Read.time_read('x')", tmp_path / "bench", {},
                                    seconds=1.5)
    assert culprit.ms_per_call > parent.ms_per_call + 8
    growths = profile_comparison.compare_profiles(parent, culprit)
    top = {g.function for g in growths[:2]}
    # the work on the worker thread, which cProfile on the calling thread would not see, and the caller's own
    assert top == {"injected_on_the_worker (threads.py)", "injected_on_the_caller (threads.py)"}, growths
    worker = next(g for g in growths if g.function.startswith("injected_on_the_worker"))
    assert worker.percent is None and worker.delta_ms >= 3  # new at the culprit: 6 ms of spinning per call, more under load
    assert sum(g.delta_ms for g in growths[:2]) >= 0.6 * sum(g.delta_ms for g in growths)  # the rest: sampling noise
    comparison = profile_comparison.Comparison("threads.Read.time_read", COMMITS[3], COMMITS[4],
                                               parent.ms_per_call, culprit.ms_per_call, growths)
    path = profile_comparison.draw(comparison, tmp_path / "profile.png")
    assert path.stat().st_size > 10_000
    assert "| `injected_on_the_worker (threads.py)` |" in comparison.markdown()


# py-spy's raw output (``record --threads --format raw``) as py-spy 0.4 writes it: the calling thread (101) in set-up,
# in the calls (the injected work, then waiting for the loop) and in teardown; zarr's loop thread (202) busy and idle
MAIN = "thread (101): MainThread;<module> (<frozen runpy>:88);_child (thread_profile.py:170)"
CALLS = f"{MAIN};_sampled_calls (thread_profile.py:150);<lambda> (thread_profile.py:172);Read.time_read (suite.py:40)"
LOOP = ("thread (202): zarr_io;Thread._bootstrap (threading.py:1012);BaseEventLoop.run_forever (base_events.py:645);"
        "BaseEventLoop._run_once (base_events.py:1999)")
TASK = f"{LOOP};Handle._run (events.py:88);_runner (sync.py:130);AsyncArray._get_selection (array.py:1590)"
RAW = f"""\
{MAIN};ReadBenchmark.setup (suite.py:106) 7
{CALLS};Array.__getitem__ (array.py:2301);_zarr_cryoet_injected_work (array.py:6010) 80
{CALLS};Array.__getitem__ (array.py:2302);sync (sync.py:155);Condition.wait (threading.py:359) 41
{MAIN};_sampled_calls (thread_profile.py:150) 2
{MAIN};ReadBenchmark.teardown (suite.py:126) 3
{TASK};_zarr_cryoet_injected_work_on_the_loop (array.py:6020) 40
{LOOP};EpollSelector.select (selectors.py:452) 300
{TASK} 1
not a stack line
"""


def test_the_raw_stacks_count_the_calls_on_the_calling_thread_and_every_busy_thread_and_drop_waits():
    own, on_stack = thread_profile.parse(RAW, 101)
    # the calling thread outside _sampled_calls (set-up, teardown), frames of thread_profile.py and waits: dropped
    assert own == {"_zarr_cryoet_injected_work (array.py)": 80,
                   "_zarr_cryoet_injected_work_on_the_loop (array.py)": 40, "AsyncArray._get_selection (array.py)": 1}
    assert on_stack["Array.__getitem__ (array.py)"] == 80 and on_stack["Read.time_read (suite.py)"] == 80
    assert on_stack["AsyncArray._get_selection (array.py)"] == 41
    assert on_stack["BaseEventLoop._run_once (base_events.py)"] == 41  # its select: waiting, dropped
    assert not any("setup" in f or "teardown" in f or "thread_profile" in f or "wait" in f for f in on_stack)


def _profile(own: dict[str, int], calls: int = 10) -> thread_profile.ThreadProfile:
    return thread_profile.ThreadProfile(own, dict(own), calls, 200.0, 1.0)


def test_equal_growths_rank_by_name_whatever_order_py_spy_wrote_them_in():
    before = _profile({"a (x.py)": 10, "b (x.py)": 10, "c (x.py)": 10})
    # ties: a, b, c (10 → 14 samples in 10 calls, +2 ms each); y, z (new, 6 samples, +3 ms each)
    grown = {"big (x.py)": 90, "b (x.py)": 14, "z (x.py)": 6, "c (x.py)": 14, "a (x.py)": 14, "y (x.py)": 6}
    orders = {tuple(g.function for g in profile_comparison.compare_profiles(before, _profile(dict(items))))
              for items in (list(grown.items()), list(reversed(grown.items())), sorted(grown.items()))}
    assert orders == {("big (x.py)", "y (x.py)", "z (x.py)", "a (x.py)", "b (x.py)", "c (x.py)")}
    growths = profile_comparison.compare_profiles(before, _profile(grown))
    assert [g.delta_ms for g in growths] == pytest.approx([45, 3, 3, 2, 2, 2])
    assert [g.function for g in profile_comparison.compare_profiles(before, _profile(grown), top=2)] == \
        ["big (x.py)", "y (x.py)"]


PREPARED = '''
from pathlib import Path


class Read:
    params, param_names = (["x"],), ["p"]

    def setup_cache(self=None):
        with open("built.txt", "a") as log:  # in the sampler's scratch directory, as asv runs it
            log.write("built\\n")
        return {"value": 42}

    def setup(self, cache, p):
        self.cache = cache

    def time_read(self, cache, p):
        assert cache == {"value": 42}

    def teardown(self, cache, p):
        Path("teardown.txt").write_text(repr(self.cache))
'''


def test_the_setup_cache_is_built_before_the_sampled_process_and_loaded_there(tmp_path, monkeypatch):
    """sample()'s two children in this process: the setup cache alone (its zarr writes, on zarr's own threads,
    must not be sampled), then the sampled one, which loads it and never builds it."""
    (tmp_path / "prepbench").mkdir()
    (tmp_path / "prepbench" / "__init__.py").write_text("")
    (tmp_path / "prepbench" / "cached.py").write_text(PREPARED)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    request = {"benchmark": "cached.Read.time_read('x')", "benchmarks": str(tmp_path), "module": "prepbench",
               "seconds": 0.01, "calls": str(tmp_path / "calls.json"), "cache": str(tmp_path / "cache.pickle")}
    thread_profile._child({**request, "prepare": True})
    assert (tmp_path / "built.txt").read_text() == "built\n" and not (tmp_path / "calls.json").exists()
    thread_profile._child(request)
    assert (tmp_path / "built.txt").read_text() == "built\n"  # not built again in the sampled process
    assert (tmp_path / "teardown.txt").read_text() == "{'value': 42}"
    assert json.loads((tmp_path / "calls.json").read_text())["calls"] >= 1
