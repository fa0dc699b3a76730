"""recommend's answer: the limits block, the mixed-use row, --shape scaling and --use, from the recorded run."""

import math
from pathlib import Path

import pytest

from zarr_cryoet import cli
from zarr_cryoet.answer import render as answer, mixed_use, recommend, scaling
from zarr_cryoet.answer.recommend import Answer, Ranked, USE_CASES
from zarr_cryoet.stats.estimate import Estimate
from zarr_cryoet.asv.results import ReportResults

# no zarr in these tests (recorded asv results and statistics only): run under the newest zarr alone
pytestmark = pytest.mark.once

RESULTS = Path(__file__).parent.parent / "recorded" / "results"


@pytest.fixture(scope="module")
def results():
    return ReportResults.load(RESULTS, machine="vm")


def _answer(key, times: dict) -> Answer:
    use_case = next(u for u in USE_CASES if u.key == key)
    ranked = tuple(sorted((Ranked(Estimate(t, (t, t * 1.05), 2), chunks=c, zarr_format=2) for c, t in times.items()),
                          key=lambda r: r.seconds))
    return Answer(use_case, "3.4.2", "phantom", ranked)


def test_mixed_use_takes_the_smallest_worst_case_ratio_not_the_smallest_sum():
    answers = [_answer("xy-viewer", {"a": 0.001, "b": 0.0015, "c": 0.010}),
               _answer("particles", {"a": 0.100, "b": 0.030, "c": 0.020}),
               _answer("whole-volume", {"a": 1.0, "b": 1.2, "c": 0.9})]
    ranked, missing = mixed_use.choose(answers)
    # a: worst 5× (particles); b: worst 1.5× (particles), c: worst 10× (viewer); summed time would pick c
    assert [m.chunks for m in ranked] == ["b", "a", "c"] and missing == []
    assert ranked[0].worst == pytest.approx(1.5)
    line = mixed_use.line(answers)
    assert line.startswith("**Mixed use (an XY viewer, particle picking, whole-volume processing): b v2**")
    assert "at most 1.50×" in line and "Next: a v2, at most 5.00×" in line
    assert "1.50× ~ (p = 0.33, 2 v 2)" in line and "±" not in line  # 2 processes a side: never told apart


def test_mixed_use_names_the_uses_it_could_not_judge():
    answers = [_answer("xy-viewer", {"a": 0.001}), _answer("whole-volume", {"a": 1.0})]
    ranked, missing = mixed_use.choose(answers, ("xy-viewer", "particles-64", "whole-volume"))
    assert [m.chunks for m in ranked] == ["a"] and missing == ["particles-64"]
    assert "left out: 64³ particle boxes" in mixed_use.line(answers, ("xy-viewer", "particles-64", "whole-volume"))


def test_scaling_counts_chunks_for_planes_and_volumes_and_keeps_boxes():
    # a full read of 64³ chunks: 2×10×10 chunks at 128×640×640 against 2×2×2 at 128³
    assert scaling.chunk_factor("whole-volume", "64x64x64", (128,) * 3, (128, 640, 640)) == pytest.approx(25)
    # the middle XY plane of 16×128×128 chunks: 5×5 chunks against 1
    assert scaling.chunk_factor("xy-viewer", "16x128x128", (128,) * 3, (128, 640, 640)) == pytest.approx(25)
    # shards count their inner chunks; 16 boxes cost the same at any size
    assert scaling.chunk_factor("whole-volume", "32x32x32/128x128x128", (128,) * 3, (256,) * 3) == pytest.approx(8)
    assert scaling.chunk_factor("particles", "32x32x32", (128,) * 3, (400, 1000, 1000)) == pytest.approx(1)
    # a chunk larger than the volume is clipped to it (zarr stores one partial chunk)
    assert scaling.chunks_read("whole-volume", "128x128x128", (64, 64, 64)) == 1


def test_the_measured_shape_is_not_scaled_and_another_is_marked(results):
    measured = answer.answers_for(results, shape=(128, 128, 128))
    assert measured and all(a.scaled_to is None and a.cores == "one core" for a in measured)
    scaled = answer.answers_for(results, shape=(400, 1000, 1000))
    assert scaled and all(a.scaled_to == (400, 1000, 1000) for a in scaled)
    # scaled from the measured size nearest in voxels: the portal's where the run measured it
    source = results.volume(scaled[0].data).shape
    assert source == ((184, 630, 630) if recommend.PORTAL in recommend.measured_sizes(results) else (128, 128, 128))
    by_key = {a.use_case.key: a for a in answer.answers_for(results, shape=source)}
    for a in scaled:
        for r in a.ranked:
            before = next(m for m in by_key[a.use_case.key].ranked if (m.chunks, m.zarr_format, m.via)
                          == (r.chunks, r.zarr_format, r.via))
            factor = scaling.chunk_factor(a.use_case.key, r.chunks, source, (400, 1000, 1000))
            assert r.seconds == pytest.approx(before.seconds * factor)
            assert r.time.high / r.seconds == pytest.approx(before.time.high / before.seconds)
        assert [r.seconds for r in a.ranked] == sorted(r.seconds for r in a.ranked)
    text = answer.render(results, shape=(400, 1000, 1000))
    assert "≈400×1000×1000 (scaled from phantom" in text and scaling.RULE in text and "≈" in text


def test_the_answer_opens_with_its_limits_and_the_run_to_run_precision(results):
    text = answer.render(results)
    head = text.split("| use case |")[0]
    for words in ("**Covers:**", "synthetic phantom", "warm page cache", "moto's S3 API", "**Does not cover:**",
                  "a cluster larger than this machine", "dask", "**Precision:**", "Between 13 runs"):
        assert words in head, words
    cores = "every core" if recommend.measured_sizes(results)[0] == recommend.PORTAL else "one core"
    assert f"read on {cores}" in head and "**Mixed use (" in head


def test_shape_and_use_errors_are_one_line(capsys):
    for args, words in ((["--shape", "1,2"], "give Z,Y,X"), (["--shape", "a,b,c"], "give Z,Y,X"),
                        (["--use", "viewer,bogus"], "unknown use bogus")):
        with pytest.raises(SystemExit) as stop:
            cli.main(["recommend", "--results", str(RESULTS), *args])
        assert stop.value.code == 2
        assert words in capsys.readouterr().err.strip().splitlines()[-1]


def test_use_names_map_to_use_cases():
    assert answer.parse_uses("viewer, particles,training") == ("xy-viewer", "particles", "whole-volume")
    assert answer.parse_uses("s3,object-storage") == ("object-storage",)


def test_the_readme_answer_is_rendered_without_the_command_line(monkeypatch):
    """answer/readme.py renders from the answer modules, not through cli.main (no import circle)."""
    from zarr_cryoet.answer import readme

    monkeypatch.chdir(RESULTS.parent.parent)
    monkeypatch.setattr(cli, "main", lambda *a: pytest.fail("readme went through cli.main"))
    text = readme.run_command(f"zarr-cryoet recommend --results {RESULTS} --shape 128,128,128")
    assert "| use case |" in text and "one core" in text
    with pytest.raises(readme.ReadmeError, match="recommend"):
        readme.run_command("zarr-cryoet report")
    with pytest.raises(readme.ReadmeError, match="--bogus"):
        readme.run_command("zarr-cryoet recommend --bogus")


def test_every_time_of_the_answer_carries_its_interval_and_no_plus_minus(results):
    text = answer.render(results)
    table = [line for line in text.splitlines() if line.startswith("| ") and "use case" not in line]
    assert table and all("n=" in line and ("[" in line or "(range " in line) for line in table)
    assert "±" not in text
    # every runner-up says whether the rank test tells it apart from the best, with the test
    assert all(("cannot tell apart" in line or "told apart" in line) and " v " in line for line in table)
    assert not any(math.isnan(r.seconds) for a in answer.answers_for(results) for r in a.ranked)
