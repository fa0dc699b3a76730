"""The plain-loop tools (tools/s3_plain_loop.py, fused_portal_size.py, portal_use_cases.py) on the checks/ skeleton.

Each tool's main path runs here on a 128³ phantom, in this process, with a benchmarks.json the test writes: the
schedule each measuring process gets must be the one written there, and every directory must be prepared by
zarr_cryoet.checks.prepare, the one preparing module of the tools and the crosschecks alike.
"""

import ast
import importlib
import json
import sys
from pathlib import Path

import pytest

from zarr_cryoet.checks import plain_loop, prepare
from zarr_cryoet.checks.plain_loop import ScheduleError, schedule_of
from zarr_cryoet.store import compat

ROOT = Path(__file__).resolve().parent.parent
TOOLS = ("s3_plain_loop", "fused_portal_size", "portal_use_cases")
CHECKS = ("release_crosscheck", "engine_crosscheck", "lossy_crosscheck", "schedule_study")


def tool(name: str):
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(ROOT / "tools"))


def write_benchmarks(path: Path, schedules: dict) -> Path:
    """A benchmarks.json as asv writes it (the fields the schedule is read from, and a few others)."""
    path.write_text(json.dumps({name: {"name": name, "type": "time", "number": 0, "min_run_count": 2,
                                       "warmup_time": 0.001, "rounds": rounds, "repeat": repeat}
                                for name, (rounds, repeat) in schedules.items()} | {"version": 2}))
    return path


@pytest.fixture
def spies(monkeypatch):
    """What every measuring process was asked to do, and every directory prepared (both still done for real)."""
    measured, prepared = [], []
    measure, prepare_ = plain_loop.measure_in_fresh_process, prepare.prepare

    def measuring(store, operation, volume_path, reads=10, **kwargs):
        measured.append({"operation": operation, "reads": reads, **kwargs})
        return measure(store, operation, volume_path, reads, **kwargs)

    def preparing(env, directory, size, layouts, **kwargs):
        layouts = list(layouts)
        prepared.append((size, [prepare.layout_arg(layout) for layout in layouts]))
        return prepare_(env, directory, size, layouts, **kwargs)

    monkeypatch.setattr(plain_loop, "measure_in_fresh_process", measuring)
    monkeypatch.setattr(prepare, "prepare", preparing)
    return measured, prepared


def test_the_schedule_is_read_from_asvs_benchmarks_json(tmp_path):
    path = write_benchmarks(tmp_path / "benchmarks.json", {"realistic.Read.time_read_full": (3, 1)})
    assert schedule_of(path, "realistic.Read.time_read_full") == {
        "rounds": 3, "repeat": 1, "number": 0, "min_run_count": 2, "warmup_time": 0.001}
    recorded = schedule_of(ROOT / "recorded" / "results" / "benchmarks.json", "object_storage.Read.time_read_xy")
    assert (recorded["rounds"], recorded["repeat"]) == (2, 1)  # REMOTE, as asv recorded it
    for where, name, phrase in [(tmp_path / "none.json", "x.Y.time_z", "run asv first"),
                                (path, "realistic.Read.time_nothing", "has no benchmark 'realistic.Read.time_nothing'"),
                                (path, "version", "has no benchmark")]:
        with pytest.raises(ScheduleError, match=phrase) as err:
            schedule_of(where, name)
        assert "\n" not in str(err.value)


def test_every_tool_says_in_one_line_that_benchmarks_json_is_missing(tmp_path, capsys):
    missing = str(tmp_path / "nowhere" / "benchmarks.json")
    for name, argv in [("s3_plain_loop", ["a=python", "b=python"]),
                       ("fused_portal_size", [str(tmp_path / "w"), sys.executable]),
                       ("portal_use_cases", [str(tmp_path / "w"), sys.executable])]:
        with pytest.raises(SystemExit) as exit_:
            tool(name).main([*argv, "--benchmarks", missing])
        message = str(exit_.value.code)
        assert message.startswith(f"{name}: no {missing}: run asv first") and "\n" not in message
    assert not (tmp_path / "w").exists()


def test_the_tools_and_the_crosschecks_prepare_with_one_module():
    """No store-preparing script of their own: each imports zarr_cryoet.checks.prepare, none writes a store."""
    sources = {name: (ROOT / "tools" / f"{name}.py").read_text() for name in TOOLS}
    sources |= {name: (ROOT / "zarr_cryoet" / "checks" / f"{name}.py").read_text() for name in CHECKS}
    for name, source in sources.items():
        imported = {node.module for node in ast.walk(ast.parse(source)) if isinstance(node, ast.ImportFrom)}
        assert "zarr_cryoet.checks" in imported or "zarr_cryoet.checks.prepare" in imported, name
        assert "prepare." in source, name
        assert "write_store" not in source and '"-c"' not in source and "CHILD" not in source, name
    for name in TOOLS:  # and no timing loop of their own: the plain loop's, with the suite's statistic
        assert "run_schedule(" in sources[name] and "perf_counter" not in sources[name], name
        assert "estimate" in sources[name] and "min(times" not in sources[name], name


@pytest.mark.once  # the tool's plumbing (schedule, jobs, statistic); the plain loop itself runs under every zarr
def test_s3_plain_loop_times_the_suites_schedule_from_benchmarks_json(tmp_path, spies, capsys):
    from zarr_cryoet.engines import object_storage as clients

    reason = clients.get("zarr-python+obstore").unavailable(3)
    if reason:
        pytest.skip(reason)
    path = write_benchmarks(tmp_path / "benchmarks.json", {"object_storage.Read.time_read_xy": (1, 2)})
    tool("s3_plain_loop").main(["old=" + sys.executable, "new=" + sys.executable, "--benchmarks", str(path)])
    measured, prepared = spies
    out = capsys.readouterr().out.splitlines()
    # twice the recorded rounds (1) as processes per release, the recorded repeat (2) as samples per process
    assert len(measured) == 4 and {m["reads"] for m in measured} == {2}
    assert all(m["remote"]["client"] == "zarr-python+obstore" and m["cores"] == "one" and m["state"] == "pinned"
               for m in measured)
    assert prepared == [("128", ["blosc-zstd:32x32x32/128x128x128@3"])] * 2
    assert out[0] == (f"schedule: 2 processes x 2 samples per release (object_storage.Read.time_read_xy's in "
                      f"{path}); statistic: the suite's, fastest of the processes")
    for line, version in zip(out[1:3], ("old", "new")):
        assert line.startswith(f"{version} fastest of the processes ") and line.count(",") == 1  # two processes
    assert out[3].startswith("ratio new / old ")


@pytest.mark.skipif(compat.ZARR_MAJOR < 3, reason="zarr's fused pipeline needs zarr >= 3.3")
@pytest.mark.once  # under the newest zarr, the one that has the fused pipeline
def test_fused_portal_size_times_both_pipelines_with_the_recorded_schedule(tmp_path, spies, capsys):
    from zarr_cryoet import engines

    reason = engines.get("zarr-python-fused").unavailable()
    if reason:
        pytest.skip(reason)
    path = write_benchmarks(tmp_path / "benchmarks.json", {"realistic.Read.time_read_full": (1, 2),
                                                           "realistic.Read.time_read_slice_xy": (1, 3)})
    fused = tool("fused_portal_size")
    fused.main([str(tmp_path / "work"), sys.executable, "--benchmarks", str(path), "--size", "128"])
    measured, prepared = spies
    out = capsys.readouterr().out.splitlines()
    assert len(measured) == 8 and {m["engine"] for m in measured} == {"zarr-python", "zarr-python-fused"}
    assert {(m["operation"], m["reads"]) for m in measured} == {("full", 2), ("xy", 3)}  # per read, as recorded
    assert all(m["cores"] == "all" and m["state"] == "pinned" for m in measured)
    assert prepared == [("128", ["blosc-zstd:64x64x64@2", "blosc-zstd:32x32x32/128x128x128@3"])]
    assert json.loads((tmp_path / "work" / prepare.MARKER).read_text())["size"] == "128"
    assert out[0].startswith("full: 1 processes x 2 reads (realistic.Read.time_read_full's schedule in ")
    assert [line.split(":")[0] for line in out[2:]] == ["64x64x64_v2.zarr full", "64x64x64_v2.zarr xy",
                                                        "32x32x32_128x128x128_v3.zarr full",
                                                        "32x32x32_128x128x128_v3.zarr xy"]
    assert all("fused/default" in line and "(spread default 1.00, fused 1.00)" in line for line in out[2:])
    # the WORKDIR is prepared once: a second run (2 processes given) reuses it
    fused.main([str(tmp_path / "work"), sys.executable, "2", "--benchmarks", str(path), "--size", "128"])
    assert len(prepared) == 2 and len(measured) == 8 + 16
    assert "1 processes" not in capsys.readouterr().out


@pytest.mark.once  # as above: test_quality.py times the plain loop under every zarr
def test_portal_use_cases_reads_every_use_case_with_the_recorded_schedule(tmp_path, spies, capsys):
    cases = tool("portal_use_cases")
    path = write_benchmarks(tmp_path / "benchmarks.json",
                            {f"realistic.UseCases.{m}": (1, 2 if m == "time_read_full" else 1)
                             for m in cases.USE_CASE_READS})
    cases.main([str(tmp_path / "work"), sys.executable, "--benchmarks", str(path), "--size", "128",
                "--layouts", "64x64x64"])
    measured, prepared = spies
    out = capsys.readouterr().out.splitlines()
    workloads = list(cases.USE_CASE_READS.values())
    assert [m["operation"] for m in measured] == [f"use:{w}" for w in workloads]
    assert [m["reads"] for m in measured] == [2 if w == "full" else 1 for w in workloads]
    assert prepared == [("128", ["blosc-zstd:64x64x64@2"])]
    for workload in workloads:
        assert f"{workload:10s} schedule: 1 processes x " in "\n".join(out)
        assert any(line.startswith(f"{workload:10s} 64x64x64") and "plain ÷ asv" in line for line in out)
        assert f"{workload:10s} best: plain 64x64x64, asv 64x64x64" in out
