"""zarr-cryoet overhead, stability and crosscheck: the commands that measure the suite itself."""

import json
import shutil
import sys
from pathlib import Path

import pytest

from zarr_cryoet import cli
from zarr_cryoet.measure import crosscheck_report, quality
from zarr_cryoet.store import compat

RECORDED = Path(__file__).parent / "data" / "asv-results"


def test_overhead_is_wall_time_over_the_time_inside_the_samples(capsys):
    machine, commit, rows = quality.overhead(RECORDED)
    assert machine == "vm" and commit.startswith("9cdc5d27")
    assert {r.env for r in rows} == {"zarr 2.18.7 (py3.11)", "zarr 3.1.6 (py3.11)", "zarr 3.4.2 (py3.13)"}
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
    assert "| zarr 3.1.6 (py3.11) |" in capsys.readouterr().out


@pytest.fixture
def two_runs(tmp_path):
    """The recorded run as machine ``vm`` and, as ``vm-b``, the same run with some times changed."""
    results = tmp_path / "results"
    shutil.copytree(RECORDED, results)
    shutil.copytree(results / "vm", results / "vm-b")
    (results / "vm-b" / "machine.json").write_text(
        (results / "vm" / "machine.json").read_text().replace('"vm"', '"vm-b"'))
    for path in (results / "vm-b").glob("*-virtualenv-*.json"):
        data = json.loads(path.read_text())
        data["params"]["machine"] = "vm-b"
        row = data["results"]["compression.Read.time_read"]
        row[0] = [v * 1.5 if v is not None else v for v in row[0]]  # the medians, 1.5x slower
        path.write_text(json.dumps(data))
    return results


def test_stability_compares_medians_of_two_runs_of_one_commit(two_runs, capsys):
    stable = quality.stability((two_runs, "vm"), (two_runs, "vm-b"))
    changed = [p for p in stable.pairs if p[0].startswith("compression.Read.time_read")]
    assert changed and all(b / a == pytest.approx(1.5) for _, _, a, b in changed)
    assert stable.share_within(0.10) == pytest.approx(1 - len(changed) / len(stable.pairs))
    assert quality.suggested_factor(stable) >= 1.0
    assert cli.main(["stability", "--results", str(two_runs), "--machine", "vm", "--machine", "vm-b",
                     "--bench", "^compression"]) == 0
    out = capsys.readouterr().out
    assert "0% within ±10%" in out and "1.50×  compression.Read.time_read" in out


def test_stability_needs_two_runs_and_says_so_in_one_line(two_runs, capsys):
    assert cli.main(["stability", "--results", str(two_runs), "--machine", "vm"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "give --machine A --machine B" in err[0]
    assert cli.main(["overhead", "--results", str(two_runs)]) == 0  # several machines: the default one


def test_crosscheck_times_the_headline_reads_in_fresh_processes(tmp_path, capsys, monkeypatch):
    """A fake asv environment (this Python) and the 128³ cases: every state measured and tabled."""
    env = tmp_path / "env" / "abc"
    (env / "bin").mkdir(parents=True)
    (env / "bin" / "python").write_text(f"#!/bin/sh\nexec {sys.executable} \"$@\"\n")  # a venv's python
    (env / "bin" / "python").chmod(0o755)
    (env / "asv-env-info.json").write_text(json.dumps({"requirements": {"zarr": compat.ZARR_VERSION}}))
    monkeypatch.setattr(crosscheck_report, "CASES", [c for c in crosscheck_report.CASES
                                                     if c.size == "128" and c.chunks == "64x64x64"])
    measured = crosscheck_report.run(tmp_path / "env", reads=2, sizes=("128",), log=lambda line: None)
    labels = {label for _, label, _ in measured}
    assert labels == {c.label for c in crosscheck_report.CASES}
    for (zarr, label, state), result in measured.items():
        assert zarr == compat.ZARR_VERSION and len(result["times"]) == 2 and result["median"] > 0
    table = crosscheck_report.table(measured)
    assert f"| {compat.ZARR_VERSION} | – |" in table  # no asv results given: the asv column is empty


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
    from zarr_cryoet.measure import engine_crosscheck

    fake_asv_environment(tmp_path / "env")
    monkeypatch.setattr(engine_crosscheck, "LAYOUTS", [("64x64x64", 2)])
    monkeypatch.setattr(engine_crosscheck, "OPERATIONS", ("full", "write"))
    skipped = []
    measured = engine_crosscheck.run(tmp_path / "env", reads=2, sizes=("128",),
                                     log=lambda line: skipped.append(line) if "skipped" in line else None)
    installed = {name for name in engines.ENGINE_NAMES if engines.get(name).unavailable() is None}
    assert {key[5] for key in measured} == installed
    assert all(value > 0 for value in measured.values())
    assert len(skipped) == 2 * (len(engines.ENGINE_NAMES) - len(installed))
    table = engine_crosscheck.table(measured)
    assert "| 64x64x64 v2 | full |" in table and "×1.00" in table


def test_crosscheck_lossy_times_writes_and_reads_checked_against_numcodecs(tmp_path, monkeypatch):
    """A fake asv environment (this Python): each lossy codec's write and full read, timed and checked."""
    from zarr_cryoet.measure import lossy_crosscheck

    fake_asv_environment(tmp_path / "env")
    measured = lossy_crosscheck.run(tmp_path / "env", reads=2, codecs=("zfp-rate-4", "scaleoffset-int8"),
                                    log=lambda line: None)
    assert set(measured) == {(compat.ZARR_VERSION, c, op) for c in ("zfp-rate-4", "scaleoffset-int8")
                             for op in ("full", "write")}
    assert all(value > 0 for value in measured.values())
    assert "| zfp-rate-4 | full |" in lossy_crosscheck.table(measured)


@pytest.mark.parametrize("args, phrase", [(["--size", "512"], "add --engines"),
                                          (["--engines", "--size", "184x630x630"], "drop --size 184x630x630"),
                                          (["--lossy", "--engines"], "drop --engines and --size")])
def test_crosscheck_sizes_that_do_not_go_together_fail_in_one_line(args, phrase, capsys):
    assert cli.main(["crosscheck", *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and phrase in err[0]
