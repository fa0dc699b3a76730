"""zarr-cryoet recommend: layouts ranked per use case from a recorded whole run (recorded/results)."""

from pathlib import Path

import pytest

from tests.test_report import raw_results
from zarr_cryoet import cli
from zarr_cryoet.stats.compare import adjust, compare
from zarr_cryoet.answer import notes as answer_notes, recommend
from zarr_cryoet.asv.results import ReportResults

# no zarr in these tests (recorded asv results and statistics only): run under the newest zarr alone
pytestmark = pytest.mark.once

RESULTS = Path(__file__).parent.parent / "recorded" / "results"
RAW, _ = raw_results(RESULTS)  # the result files are restated: every timing's result is the suite's statistic
COMMIT = "061d104c"


@pytest.fixture(scope="module")
def results():
    return ReportResults.load(RESULTS, machine="vm")


@pytest.mark.parametrize("zarr", ["2.18.7", "3.1.6", "3.4.2"])
def test_every_use_case_is_answered_from_the_sum_of_its_timings(results, zarr):
    answers = recommend.recommend(results, zarr, recommend.SMALL)
    # every use case whose reads the run measured at 128³
    def measured(benchmark, extra):
        module = benchmark.partition(".")[0]
        return benchmark in results.param_names and all(v in results.choices(module, k) for k, v in extra)

    assert [a.use_case.key for a in answers] == [u.key for u in recommend.USE_CASES
                                                 if u.reads and all(measured(*read) for read in u.reads)]
    for answer in answers:
        assert [r.seconds for r in answer.ranked] == sorted(r.seconds for r in answer.ranked)
        for ranked in answer.ranked:
            # object storage ranks layout x library: its grid has the client, and the format follows the chunks
            layout = (ranked.chunks, ranked.via) if ranked.via else (ranked.chunks, ranked.zarr_format)
            total = sum(RAW[(zarr, bench, (answer.data, *layout, *dict(extra).values()))]
                        for bench, extra in answer.use_case.reads)
            assert ranked.seconds == pytest.approx(total)
        if zarr.startswith("2."):
            assert {r.zarr_format for r in answer.ranked} == {2}  # format 3 is skipped there, never ranked


def test_the_answers_of_the_recorded_run(results):
    answers = {a.use_case.key: a for a in recommend.recommend(results, size=recommend.SMALL)}
    assert answers["particles"].best.chunks == "32x32x32"
    assert answers["whole-volume"].worst.chunks == "16x16x16"
    assert answers["xy-viewer"].best.chunks == "16x128x128"


def test_the_command_prints_the_table_and_names_the_run(capsys):
    assert cli.main(["recommend", "--results", str(RESULTS), "--zarr", "3.4.2", "--shape", "128,128,128"]) == 0
    out = capsys.readouterr().out
    assert f"commit {COMMIT}, machine vm" in out and out.count("| zarr 3.4.2, phantom 128³ float32, one core |") == 6


def test_an_unknown_release_fails_in_one_line(capsys):
    assert cli.main(["recommend", "--results", str(RESULTS), "--zarr", "9.9"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no results for zarr 9.9" in err[0]


def test_help_is_plain_text_and_lists_every_subcommand(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = capsys.readouterr().out
    description = out.split("positional arguments:")[0]
    assert "``" not in out
    names = cli.build_parser()._subparsers._group_actions[0].choices
    assert all(f"zarr-cryoet {name}" in description for name in names), [n for n in names
                                                                       if f"zarr-cryoet {n}" not in description]


def test_the_codec_lossy_reader_and_size_lines_come_from_the_same_run(results):
    lines = answer_notes.extras(results, "3.4.2")
    text = "\n".join(lines)
    assert "Lossless codec: **blosc-zstd** (1.167×" in text
    # the lossy tier: no setting with RMSE above 0.03 σ or a particle box below 0.999 is named
    lossy = next(line for line in lines if line.startswith("Lossy"))
    assert "**zfp-accuracy-1**" in lossy and "**scaleoffset-int8**" in lossy and "zfp-rate" not in lossy
    assert sum(line.startswith("Reader for") for line in lines) == 4
    # readers the rank test cannot tell from the fastest (adjusted across the line) are marked ~
    env = results.newest
    for line in (line for line in lines if line.startswith("Reader for")):
        chunks = {"16³": "16x16x16", "64³": "64x64x64", "128³": "128x128x128", "32³ in 128³": "32x32x32/128x128x128"}[
            line.removeprefix("Reader for ").split(" v")[0]]
        fmt = 3 if "/" in chunks else 2
        timed = {e: results.estimate(env, "engines.Read.time_read_full", data="phantom 128³ float32",
                                     chunks=chunks, zarr_format=fmt, engine=e)
                 for e in results.choices("engines", "engine")}
        best = min(timed, key=lambda e: timed[e].value)
        assert f"**{best}** ({timed[best]})" in line
        others = [e for e in timed if e != best]
        tests = adjust([compare(timed[best], timed[e]) for e in others])
        for engine, c in zip(others, tests):
            assert f"{engine} {'' if c.differs else '~ '}{timed[engine]}" in line
    assert any(line.startswith("At portal size, full read") for line in lines)
    assert all("zarr 3.4.2" in line for line in lines if not line.startswith(("Trade-off", "zarr ")))


def test_a_sum_adds_the_reads_processes_and_undecided_rows_are_marked(results):
    """A use case's time is the sum of its reads, process by process; a runner-up the rank test cannot tell apart
    from the best (Benjamini–Hochberg across the whole answer) is marked ~ and says so, with its test."""
    env = results.newest
    answers = {a.use_case.key: a for a in recommend.recommend(results, size=recommend.SMALL)}
    orthogonal = answers["orthogonal"]
    cell = dict(data=orthogonal.data, chunks=orthogonal.best.chunks, zarr_format=orthogonal.best.zarr_format)
    parts = [results.estimate(env, f"chunking.Read.time_read_slice_{axis}", **cell) for axis in ("xy", "xz", "yz")]
    assert orthogonal.best.seconds == pytest.approx(sum(p.value for p in parts))
    assert orthogonal.best.time.minima == pytest.approx([sum(m) for m in zip(*(p.minima for p in parts))])
    assert orthogonal.best.time.low <= orthogonal.best.seconds <= orthogonal.best.time.high
    every = [c for a in answers.values() for c in a.comparisons.values()]
    assert every and all(c.q is not None for c in every)  # adjusted together
    table = recommend.table(list(answers.values()), results)
    for a in answers.values():
        row = next(line for line in table.splitlines() if line.startswith(f"| {a.use_case.title}"))
        runner, test = a.runner_up, a.versus(a.runner_up)
        verdict = "told apart" if test.differs else "cannot tell apart"
        assert f"| {'' if test.differs else '~ '}{runner.label}: {runner} ({verdict}, {test.text()}) |" in row
        assert "±" not in row
    particles = answers["particles"]
    # the runner-up has other chunks; the same chunks on the other format are named in the best's cell
    assert all(a.runner_up.chunks != a.best.chunks for a in answers.values())
    assert particles.other_format.chunks == particles.best.chunks != particles.runner_up.chunks


def test_the_table_names_its_run_and_says_it_in_one_sentence(results):
    answers = recommend.recommend(results, size=recommend.SMALL)
    label, _, short = recommend.table(answers, results).splitlines()[:3]
    assert label.startswith(f"One asv run: commit {COMMIT}, machine vm (2 cores, AMD EPYC), 2026-12-06; zarr 3.4.2")
    assert "phantom 128³ float32 (128×128×128, 8.4 MB)" in label and "Mann–Whitney" in label
    assert short.startswith("In short, for phantom 128³ float32 on zarr 3.4.2: chunks 16×128×128 for an XY viewer")
    assert "lossless codec blosc-zstd" in short and "scaleoffset-int8 (fastest write)" in short
    # a winner the test cannot tell from the runner-up is not named alone: the sentence must not hide a close call
    for a in answers:
        named = recommend._choice(a)
        assert (" or " in named and "(~)" in named) == (not a.decided)
        assert f"{named} for {recommend.SHORT[a.use_case.key]}" in short


def test_trade_offs_and_releases_are_computed_from_the_same_timings(results):
    answers = recommend.recommend(results, size=recommend.SMALL)
    lines = answer_notes.tradeoffs(answers)
    by_key = {a.use_case.key: a for a in answers}
    whole = by_key["whole-volume"].best
    line = next(line for line in lines if line.startswith(f"Trade-off: {whole.label}, the best for whole-volume"))
    boxes = RAW[("3.4.2", "chunking.Read.time_read_particle_boxes", ("phantom 128³ float32", whole.chunks,
                                                                     whole.zarr_format))]
    assert f"{boxes / by_key['particles'].best.seconds:.1f}×" in line and "the best for particles" in line
    releases = answer_notes.releases(results)
    assert [line.split(" against ")[0] for line in releases] == ["zarr 3.1.6", "zarr 3.4.2"]
    for line in releases:
        assert "against 2.18.7" in line and "geometric mean of 139 timings from 36 benchmark methods" in line
        assert "Benjamini–Hochberg" in line and "±" not in line
        low, high = (float(x) for x in line.split("× [")[1].split("]")[0].split("–"))
        assert low < float(line.split("timings ")[1].split("×")[0]) < high


def test_the_readme_tables_are_what_their_commands_print(capsys):
    """README.md's generated blocks match what their commands print now (zarr-cryoet readme --check)."""
    from zarr_cryoet.answer import readme

    root = RESULTS.parent.parent
    text = (root / "README.md").read_text(encoding="utf-8")
    assert [command for command, _ in readme.blocks(text)] == [
        "zarr-cryoet recommend --results recorded/results", "zarr-cryoet command-times --dir recorded/command-times",
        "zarr-cryoet instructions --counts recorded/counts --results recorded/results"]
    # the block sits before the two commands: the answer comes first
    assert text.index("<!-- generated by:") < text.index("## The two commands")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        assert readme.stale(root / "README.md") == []


def test_readme_rewrites_a_stale_block_and_check_reports_it(tmp_path, monkeypatch, capsys):
    from zarr_cryoet.answer import readme

    monkeypatch.chdir(RESULTS.parent.parent)
    page = tmp_path / "page.md"
    command = f"zarr-cryoet recommend --results {RESULTS} --zarr 2.18.7 --shape 128,128,128"
    page.write_text(f"intro\n{readme.BEGIN.format(command=command)}\nold numbers\n{readme.END}\noutro\n")
    assert cli.main(["readme", "--check", str(page)]) == 1
    assert "out of date" in capsys.readouterr().err
    assert cli.main(["readme", str(page)]) == 0
    text = page.read_text()
    assert "old numbers" not in text and "zarr 2.18.7, phantom 128³ float32, one core" in text
    assert text.startswith("intro\n") and text.endswith("outro\n")
    assert cli.main(["readme", "--check", str(page)]) == 0


@pytest.mark.parametrize("command, phrase", [
    ("ls -l", "is not one the README can show; write it as zarr-cryoet recommend or command-times"),
    ("zarr-cryoet report", "is not one the README can show"),
    ("zarr-cryoet recommend --bogus", "unrecognized arguments: --bogus"),
    ("zarr-cryoet recommend --results /nonexistent", "zarr-cryoet recommend --results /nonexistent failed: no asv "
                                                     "results directory at /nonexistent"),
])
def test_a_bad_block_command_is_one_line_and_the_file_is_kept(command, phrase, tmp_path, capsys):
    from zarr_cryoet.answer import readme

    page = tmp_path / "page.md"
    original = f"{readme.BEGIN.format(command=command)}\nkept\n{readme.END}\n"
    page.write_text(original)
    assert cli.main(["readme", str(page)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and phrase in err[0]
    assert page.read_text() == original


def test_without_results_here_the_recorded_run_answers(tmp_path, monkeypatch, capsys):
    """A fresh clone that never benchmarked: recommend and report read recorded/results and say so."""
    import shutil

    from zarr_cryoet.asv import results as results_module

    shutil.copytree(RESULTS.parent, tmp_path / "recorded")
    monkeypatch.chdir(tmp_path)
    assert results_module.default_results_dir() == results_module.RECORDED_RESULTS
    assert cli.main(["recommend"]) == 0
    assert f"commit {COMMIT}, machine vm" in capsys.readouterr().out
    # once this checkout has results of its own, they are the default
    shutil.copytree(RESULTS, tmp_path / ".asv" / "results")
    assert results_module.default_results_dir() == results_module.DEFAULT_RESULTS


def _with_plain_v3(tmp_path: Path, factor: float) -> Path:
    """The recorded run plus ``realistic.UseCasesV3``: its plain chunks on format 3, every time ``factor`` × format
    2's (the same samples, scaled), as a run of the tier now records them."""
    import json
    import shutil

    out = tmp_path / "results"
    shutil.copytree(RESULTS, out)
    benchmarks = json.loads((out / "benchmarks.json").read_text())
    for path in (out / "vm").glob("*-virtualenv-*.json"):
        doc = json.loads(path.read_text())
        columns = doc["result_columns"]
        for name in [n for n in doc["results"] if n.startswith("realistic.UseCases.")]:
            row = dict(zip(columns, doc["results"][name]))
            keep = [i for i, chunks in enumerate(row["params"][1]) if "/" not in chunks]
            per_combo = ("result", "stats_ci_99_a", "stats_ci_99_b", "stats_q_25", "stats_q_75", "stats_number",
                         "stats_repeat", "samples")

            def scaled(value, key):
                if key == "samples":
                    return None if value is None else [v * factor for v in value]
                return value * factor if isinstance(value, float) and key != "stats_number" else value

            for key in per_combo:
                if row.get(key) is not None:
                    row[key] = [scaled(row[key][i], key) for i in keep]
            row["params"] = [row["params"][0], [row["params"][1][i] for i in keep]]
            v3 = name.replace("realistic.UseCases.", "realistic.UseCasesV3.")
            doc["results"][v3] = [row.get(c) for c in columns]
            entry = dict(benchmarks[name], name=v3, params=row["params"])
            benchmarks[v3] = entry
        path.write_text(json.dumps(doc))
    (out / "benchmarks.json").write_text(json.dumps(benchmarks))
    return out


def test_plain_chunks_on_format_3_at_portal_size_are_ranked_beside_format_2(tmp_path):
    results = ReportResults.load(_with_plain_v3(tmp_path, 0.5), machine="vm")
    answers = {a.use_case.key: a for a in recommend.recommend(results, "3.4.2", recommend.PORTAL)}
    viewer = answers["xy-viewer"]
    assert (viewer.best.chunks, viewer.best.zarr_format) == ("16x128x128", 3)  # half of format 2's time
    assert viewer.other_format.zarr_format == 2 and viewer.other_format.seconds == pytest.approx(
        2 * viewer.best.seconds)
    assert {r.label for r in viewer.ranked} >= {"16×128×128 v2", "16×128×128 v3", "32³ v3", "16×128×128 in 128³ v3"}
    assert all(len([r for r in a.ranked if r.zarr_format == 3 and "/" not in r.chunks]) == 5  # 32³, 64³, 128³, 16×128×128, 256³
               for key, a in answers.items() if key != "object-storage")
    assert "object-storage" in answers and all(r.via for r in answers["object-storage"].ranked)
    assert cli.main(["recommend", "--results", str(tmp_path / "results")]) == 0  # the mixed-use line weighs them too


def test_decide_reruns_plain_chunks_on_format_3_by_their_own_benchmark(tmp_path):
    from zarr_cryoet.tracking import decide

    results = ReportResults.load(_with_plain_v3(tmp_path, 0.999), machine="vm")
    answers = recommend.recommend(results, "3.4.2", recommend.PORTAL)
    names = decide.names_to_run(results, answers)
    plain_v3 = [(a, r) for a in answers for r in decide.candidates(a) if r.zarr_format == 3 and "/" not in r.chunks
                and not a.use_case.varies]
    assert plain_v3  # at 0.999× format 2's times the rule cannot tell them apart
    for answer, ranked in plain_v3:
        for benchmark, _ in answer.use_case.reads_at(recommend.PORTAL):
            on_3 = benchmark.replace("realistic.UseCases.", "realistic.UseCasesV3.")
            assert results.asv_name(on_3, data=answer.data, chunks=ranked.chunks) in names
