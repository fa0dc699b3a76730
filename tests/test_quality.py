"""zarr-cryoet overhead, stability and crosscheck: the commands that measure the suite itself."""

import json
import shutil
import sys
from pathlib import Path

import pytest

from zarr_cryoet import cli
from zarr_cryoet.checks import quality, release_crosscheck
from zarr_cryoet.stats import schedule
from zarr_cryoet.store import compat
from zarr_cryoet.asv import noise

RECORDED = Path(__file__).parent / "data" / "asv-results"


def test_overhead_is_wall_time_over_the_time_inside_the_samples(capsys):
    machine, commit, rows = quality.overhead(RECORDED)
    assert machine == "vm" and commit.startswith("9cdc5d27")
    assert {r.env for r in rows} == {"zarr 2.18.7 (Python 3.11)", "zarr 3.1.6 (Python 3.11)", "zarr 3.4.2 (Python 3.13)"}
    data = json.loads(next((RECORDED / "vm").glob("*zarr2.18.7.json")).read_text())
    columns = data["result_columns"]
    wall = timed = 0.0
    for row in data["results"].values():
        cell = dict(zip(columns, row))  # asv drops trailing empty columns
        wall += cell["duration"]
        for value, number, repeat in zip(cell["result"], cell.get("stats_number") or [],
                                         cell.get("stats_repeat") or []):
            if value is not None and value == value and number:
                timed += number * repeat * value
    [row] = [r for r in rows if r.env.startswith("zarr 2.18.7")]
    assert row.wall == pytest.approx(wall) and row.timed == pytest.approx(timed)
    assert row.ratio == pytest.approx(wall / timed) and row.ratio > 1
    assert cli.main(["overhead", "--results", str(RECORDED)]) == 0
    assert "| zarr 3.1.6 (Python 3.11) |" in capsys.readouterr().out


def with_samples(results_dir: Path, machine: str, scale: dict | None = None) -> None:
    """Give every timing of ``machine``'s results in ``results_dir`` recorded samples: two processes of two
    samples around its value (times ``scale[benchmark]`` where given), as a run of the suite records them."""
    scale = scale or {}
    benchmarks = json.loads((results_dir / "benchmarks.json").read_text())
    for name, bench in benchmarks.items():
        if isinstance(bench, dict) and bench.get("type") == "time":
            bench["repeat"] = 2
    (results_dir / "benchmarks.json").write_text(json.dumps(benchmarks))
    for path in (results_dir / machine).glob("*-virtualenv-*.json"):
        data = json.loads(path.read_text())
        data["params"]["machine"] = machine
        columns = data["result_columns"]
        for name, row in data["results"].items():
            if ".time_" not in name:
                continue
            row.extend([None] * (len(columns) - len(row)))
            factor = scale.get(name, 1.0)
            values = row[columns.index("result")]
            row[columns.index("samples")] = [None if v is None or v != v else
                                             [v * factor * f for f in (1.0, 1.02, 1.01, 1.04)] for v in values]
        path.write_text(json.dumps(data))


@pytest.fixture
def two_runs(tmp_path):
    """The recorded run as machine ``vm`` and, as ``vm-b``, the same run with the compression reads 1.5x slower,
    both with samples as the suite records them."""
    results = tmp_path / "results"
    shutil.copytree(RECORDED, results)
    shutil.copytree(results / "vm", results / "vm-b")
    (results / "vm-b" / "machine.json").write_text(
        (results / "vm" / "machine.json").read_text().replace('"vm"', '"vm-b"'))
    with_samples(results, "vm")
    with_samples(results, "vm-b", {"compression.Read.time_read": 1.5})
    return results


def test_stability_compares_the_suites_statistic_of_runs_of_one_commit(two_runs, capsys, tmp_path):
    stable = quality.stability(two_runs, ["vm", "vm-b"])
    changed = [k for k in stable.common() if k[1].startswith("compression.Read.time_read")]
    assert changed and all(stable.values["vm-b"][k].value / stable.values["vm"][k].value == pytest.approx(1.5)
                           for k in changed)
    assert stable.share_within(0.10) == pytest.approx(1 - len(changed) / len(stable.common()))
    # the statistic is the fastest process: the smallest of the samples
    k = changed[0]
    assert stable.values["vm"][k].value == pytest.approx(min(stable.values["vm"][k].samples))
    # every timing gets a smallest detectable change; the changed family's is the largest
    detectable = {key: stable.profile.detectable(*key) for key in stable.common()}
    assert all(d is not None and d >= 0 for d in detectable.values())
    assert max(detectable, key=detectable.get)[1].startswith("compression.Read.time_read")
    profile = tmp_path / "noise.json"
    assert cli.main(["stability", "--results", str(two_runs), "--machine", "vm", "--machine", "vm-b",
                     "--bench", "^compression", "--save", str(profile)]) == 0
    out = capsys.readouterr().out
    assert "10 %: 50%" in out and "1.50×  compression.Read.time_read" in out  # the reads, not the writes
    # the values of an unchanged timing lie inside the other run's range of processes; the 1.5× slower ones not
    assert f"interval check: {stable.inside_interval():.0%} of values lie inside the other run's interval, " \
           "the range of its processes' minima" in out
    assert stable.inside_interval() == pytest.approx(1 - len(changed) / len(stable.common()))
    assert "±" not in out
    assert "smallest detectable change per timing" in out and "release ratios" in out
    loaded = noise.NoiseProfile.load(profile)
    assert loaded.detectable(*k) == pytest.approx(stable.profile.detectable(*k), rel=1e-4)


def test_stability_needs_two_runs_and_says_so_in_one_line(two_runs, capsys):
    assert cli.main(["stability", "--results", str(two_runs), "--machine", "vm"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "give --machine at least twice" in err[0]
    assert cli.main(["overhead", "--results", str(two_runs)]) == 0  # several machines: the default one


def test_a_noise_profile_that_cannot_be_read_is_one_line(tmp_path):
    bad = tmp_path / "noise.json"
    bad.write_text('{"format": 99}')
    with pytest.raises(noise.NoiseError, match="measure it again with zarr-cryoet stability"):
        noise.NoiseProfile.load(bad)


def test_crosscheck_times_the_headline_reads_with_the_suites_schedule(tmp_path, monkeypatch):
    """A fake asv environment (this Python) and the 128³ cases: each timed in its schedule's processes."""
    fake_asv_environment(tmp_path / "env")
    monkeypatch.setattr(schedule, "QUICK_READ", {"rounds": 2, "repeat": 2})
    monkeypatch.setattr(schedule, "WRITE", {"rounds": 2, "repeat": 1})
    monkeypatch.setattr(release_crosscheck, "CASES", [c for c in release_crosscheck.CASES
                                                      if c.size == "128" and c.chunks == "64x64x64"])
    rounds = []
    measured = release_crosscheck.run(tmp_path / "env", sizes=("128",), states=("pinned", "loaded"),
                                      log=lambda line: rounds.append(line) if line.startswith("round") else None)
    assert rounds == ["round 1/2 done", "round 2/2 done"]
    assert {label for _, label, _ in measured} == {c.label for c in release_crosscheck.CASES}
    for (zarr, label, state), (found, faults) in measured.items():
        assert zarr == compat.ZARR_VERSION and found.processes == 2 and found.value > 0 and faults >= 0
        assert found.samples == (2 if "write" in label else 4) and found.low <= found.value <= found.high
    table = release_crosscheck.table(measured)
    assert f"| {compat.ZARR_VERSION} | – |" in table and "| plain, loaded |" in table  # no asv results given


def fake_asv_environment(env_dir):
    """An asv environment directory whose python is this one, recorded with the installed zarr."""
    env = env_dir / "abc"
    (env / "bin").mkdir(parents=True)
    (env / "bin" / "python").write_text(f"#!/bin/sh\nexec {sys.executable} \"$@\"\n")
    (env / "bin" / "python").chmod(0o755)
    (env / "asv-env-info.json").write_text(json.dumps({"requirements": {"zarr": compat.ZARR_VERSION}}))


def test_crosscheck_engines_times_every_engine_this_environment_has(tmp_path, monkeypatch):
    """A fake asv environment (this Python): each engine that is installed is timed and checked, the others skip."""
    from zarr_cryoet import engines
    from zarr_cryoet.checks import engine_crosscheck

    fake_asv_environment(tmp_path / "env")
    monkeypatch.setattr(engine_crosscheck, "LAYOUTS", [("64x64x64", 2)])
    monkeypatch.setattr(engine_crosscheck, "OPERATIONS", ("full", "write"))
    monkeypatch.setattr(schedule, "QUICK_READ", {"rounds": 1, "repeat": 2})
    monkeypatch.setattr(schedule, "SLOW", {"rounds": 1, "repeat": 1})
    skipped = []
    measured = engine_crosscheck.run(tmp_path / "env", sizes=("128",),
                                     log=lambda line: skipped.append(line) if "skipped" in line else None)
    installed = {name for name in engines.ENGINE_NAMES if engines.get(name).unavailable() is None}
    assert {key[5] for key in measured} == installed
    assert all(found.value > 0 for found in measured.values())
    assert len(skipped) == 2 * (len(engines.ENGINE_NAMES) - len(installed))
    table = engine_crosscheck.table(measured)
    assert "| 64x64x64 v2 | full |" in table and "×1.00" in table


def test_crosscheck_lossy_times_writes_and_reads_checked_against_numcodecs(tmp_path, monkeypatch):
    """A fake asv environment (this Python): each lossy codec's write and full read, timed and checked."""
    from zarr_cryoet.checks import lossy_crosscheck

    fake_asv_environment(tmp_path / "env")
    monkeypatch.setattr(schedule, "QUICK_READ", {"rounds": 1, "repeat": 2})
    monkeypatch.setattr(schedule, "WRITE", {"rounds": 1, "repeat": 1})
    measured = lossy_crosscheck.run(tmp_path / "env", codecs=("zfp-rate-4", "scaleoffset-int8"),
                                    log=lambda line: None)
    assert set(measured) == {(compat.ZARR_VERSION, c, op) for c in ("zfp-rate-4", "scaleoffset-int8")
                             for op in ("full", "write")}
    assert all(found.value > 0 for found in measured.values())
    assert "| zfp-rate-4 | full |" in lossy_crosscheck.table(measured)


@pytest.mark.parametrize("args, phrase", [(["--size", "512"], "add --engines"),
                                          (["--engines", "--size", "184x630x630"], "drop --size 184x630x630"),
                                          (["--lossy", "--engines"], "drop --engines and --size"),
                                          (["--lossy", "--state", "loaded"], "drop it with --engines or --lossy")])
def test_crosscheck_sizes_that_do_not_go_together_fail_in_one_line(args, phrase, capsys):
    assert cli.main(["crosscheck", *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and phrase in err[0]
