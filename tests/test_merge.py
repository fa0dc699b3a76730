"""Joining backfill shards (tracking/merge.py) and choosing a shard's commits and environment (tracking/backfill.py),
on small recorded asv results; tests/test_backfill_asv.py runs the jobs for real."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from zarr_cryoet.asv import config as asv_config
from zarr_cryoet.tracking.backfill import BackfillError, Shard, one_environment
from zarr_cryoet.asv.entries import load_history
from zarr_cryoet.tracking.merge import MergeError, merge, overlay

DATA = Path(__file__).resolve().parent.parent / "recorded" / "results"  # with recorded samples
ROOT = DATA.parent.parent


def shard_copy(tmp_path: Path, name: str) -> Path:
    return Path(shutil.copytree(DATA, tmp_path / name, ignore=shutil.ignore_patterns("README.md")))


def same(a: dict, b: dict) -> bool:
    """Two histories' entries equal, NaN (a skipped result) equal to NaN."""
    return a.keys() == b.keys() and all(repr(a[k]) == repr(b[k]) for k in a)


def result_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.json") if p.name not in ("machine.json", "benchmarks.json"))


def test_shards_are_picked_round_robin_and_bad_ones_named():
    commits = [f"c{i}" for i in range(7)]
    picked = [Shard.parse(f"{i}/3").pick(commits) for i in (1, 2, 3)]
    assert picked == [["c0", "c3", "c6"], ["c1", "c4"], ["c2", "c5"]]
    assert sorted(sum(picked, [])) == commits
    for bad in ("0/3", "4/3", "two", "1/0"):
        with pytest.raises(BackfillError, match="I/N"):
            Shard.parse(bad)


def test_a_job_gets_exactly_one_environment_of_the_matrix():
    conf = asv_config.load(ROOT / "asv.conf.json")
    assert asv_config.environments(one_environment(conf, "3.4.2", None)) == [("3.13", "3.4.2")]
    assert asv_config.environments(one_environment(conf, "2.18.7", "3.11")) == [("3.11", "2.18.7")]
    with pytest.raises(BackfillError, match="--zarr 3.1.6 --python 3.11"):
        one_environment(conf, "9.9", None)
    with pytest.raises(BackfillError, match="a job runs one"):
        one_environment(conf, None, None)  # three environments: say which


def test_disjoint_shards_are_merged_file_by_file(tmp_path):
    one, two = shard_copy(tmp_path, "one"), shard_copy(tmp_path, "two")
    files = result_files(one)
    keep, move = files[: len(files) // 2], files[len(files) // 2:]
    for path in keep:
        (two / path.relative_to(one)).unlink()
    for path in move:
        path.unlink()
    summary = merge([one, two], tmp_path / "dest")
    assert summary.added == len(files) and summary.appended == 0
    assert sorted(p.name for p in result_files(tmp_path / "dest")) == sorted(p.name for p in files)
    # the merged directory is what asv and the suite read (with the recorded run's interval profile beside it, as
    # recorded/noise/ is beside recorded/results)
    (tmp_path / "noise").mkdir()
    shutil.copy(DATA.parent / "noise" / "vm-intervals.json", tmp_path / "noise")
    assert same(load_history(tmp_path / "dest", "vm").entries, load_history(DATA, "vm").entries)


def test_a_commit_measured_twice_keeps_both_sets_of_samples(tmp_path):
    one, two = shard_copy(tmp_path, "one"), shard_copy(tmp_path, "two")
    summary = merge([one, two], tmp_path / "dest")
    assert summary.appended == len(result_files(one))
    before, after = load_history(DATA, "vm"), load_history(tmp_path / "dest", "vm")
    timed = [key for key, entry in before.entries.items() if entry.samples]
    assert timed
    for key in timed:
        assert len(after.entries[key].samples) == 2 * len(before.entries[key].samples)
        assert after.entries[key].value == pytest.approx(before.entries[key].value)  # same fastest process


def test_differing_results_without_samples_are_refused_and_nothing_is_written(tmp_path):
    one, two = shard_copy(tmp_path, "one"), shard_copy(tmp_path, "two")
    path = result_files(two)[0]
    data = json.loads(path.read_text())
    column = data["result_columns"].index("result")
    name = next(n for n, row in data["results"].items() if ".track_" in n and row[column])
    data["results"][name][column] = [v * 2 if isinstance(v, (int, float)) else v for v in data["results"][name][column]]
    path.write_text(json.dumps(data))
    with pytest.raises(MergeError, match=f"{name} has two different results"):
        merge([one, two], tmp_path / "dest")
    assert not (tmp_path / "dest").exists()


def test_a_corrupt_shard_or_the_destination_itself_is_refused_before_anything_is_written(tmp_path):
    one, bad = shard_copy(tmp_path, "one"), shard_copy(tmp_path, "bad")
    victim = result_files(bad)[-1]
    victim.write_text(victim.read_text()[:100])
    with pytest.raises(MergeError, match="is not a readable asv result file.*nothing was merged"):
        merge([one, bad], tmp_path / "dest")
    assert not (tmp_path / "dest").exists()
    (bad / "vm" / "machine.json").unlink()
    with pytest.raises(MergeError, match="no machine.json"):
        merge([bad], tmp_path / "dest")
    with pytest.raises(MergeError, match="is the results directory it would be merged into"):
        merge([one], one)


def test_the_backfill_workflow_plans_every_environment_times_every_shard():
    import subprocess
    import sys

    out = subprocess.run([sys.executable, str(ROOT / "tools" / "matrix.py"), "--backfill", "asv.conf.json", "2"],
                         capture_output=True, text=True, check=True).stdout
    assert out.startswith("matrix=")
    jobs = json.loads(out.removeprefix("matrix="))
    envs = asv_config.environments(asv_config.load(ROOT / "asv.conf.json"))
    assert {(j["python"], j["zarr"], j["shard"]) for j in jobs} == {(p, z, s) for p, z in envs for s in ("1/2", "2/2")}
    assert len({j["name"] for j in jobs}) == len(jobs)  # one artifact name per job
    workflow = (ROOT / ".github" / "workflows" / "backfill.yml").read_text()
    assert "tools/matrix.py --backfill" in workflow and "tasks.py backfill-shard" in workflow
    assert "tasks.py merge-results" in workflow
    assert "bash .ci/run" in (ROOT / ".github" / "workflows" / "ci.yml").read_text()


def rows(folder: Path) -> dict[tuple[str, str], list]:
    """Every result row of a results directory: (file, benchmark) -> row."""
    return {(path.name, name): row for path in result_files(folder)
            for name, row in json.loads(path.read_text())["results"].items()}


def test_the_halves_of_a_run_replace_their_rows_and_keep_the_others(tmp_path):
    """tasks.py's two halves (tracking/both_cores.py): each half's rows replace the ones the run's results held for
    those benchmarks, as one asv run writes its rows; the other rows (the whole-machine tier) stay."""
    dest = shard_copy(tmp_path, "results")
    before = rows(dest)
    names = sorted({name for _, name in before})
    halves = [shard_copy(tmp_path, f"half-{n}") for n in (0, 1)]
    mine = {0: set(names[:10]), 1: set(names[10:20])}
    for n, half in enumerate(halves):
        for path in result_files(half):
            data = json.loads(path.read_text())
            data["results"] = {name: row for name, row in data["results"].items() if name in mine[n]}
            for name, row in data["results"].items():
                row[0] = [f"half {n}"] * len(row[0]) if isinstance(row[0], list) else f"half {n}"
            path.write_text(json.dumps(data))
    written = overlay(halves, dest)
    after = rows(dest)
    assert written == len(result_files(dest)) and after.keys() == before.keys()
    for (file, name), row in after.items():
        owner = next((n for n in mine if name in mine[n]), None)
        if owner is None:
            assert row == before[file, name]
        else:
            assert row[1:] == before[file, name][1:] and "half" in json.dumps(row[0]), (file, name)


def test_a_bad_half_is_refused_before_anything_is_written(tmp_path):
    dest = shard_copy(tmp_path, "results")
    good, bad = shard_copy(tmp_path, "half-0"), shard_copy(tmp_path, "half-1")
    result_files(bad)[0].write_text("{not json")
    before = {p: p.read_bytes() for p in dest.rglob("*.json")}
    with pytest.raises(MergeError, match="not a readable asv result file"):
        overlay([good, bad], dest)
    assert {p: p.read_bytes() for p in dest.rglob("*.json")} == before
