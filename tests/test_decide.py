"""zarr-cryoet decide: the racing step runs more processes of exactly the undecided use cases' best and runner-up."""

from dataclasses import replace
from pathlib import Path

import pytest

from zarr_cryoet.answer.recommend import PORTAL, recommend
from zarr_cryoet.asv.results import ReportResults
from zarr_cryoet.stats.compare import Comparison
from zarr_cryoet.tracking import decide

# no zarr in these tests (recorded asv results and statistics only): run under the newest zarr alone
pytestmark = pytest.mark.once

RESULTS = Path(__file__).resolve().parent.parent / "recorded" / "results"


def test_only_the_undecided_best_and_runner_up_are_run_again():
    results = ReportResults.load(RESULTS, machine="vm")
    answers = recommend(results, size=PORTAL)
    # the recorded run's own racing decided some use cases (8 processes a side); the others are run again
    undecided = [a for a in answers if not a.decided]
    assert answers and undecided
    names = decide.names_to_run(results, answers)
    for a in undecided:
        for ranked in (a.best, a.runner_up):
            reads = a.use_case.reads_at(PORTAL)
            # plain chunks on format 3 are run by their own class (realistic.UseCasesV3)
            own = [b if ranked.zarr_format == 2 or "/" in ranked.chunks else b.replace(".UseCases.", ".UseCasesV3.")
                   for b, _ in reads]
            assert all(any(n.startswith(benchmark + "(") and f"'{ranked.chunks}'" in n for n in names)
                       for benchmark in own), (a.use_case.key, ranked.label)
    assert len(names) == sum(2 * len(a.use_case.reads_at(PORTAL)) for a in undecided)
    # a use case told apart needs nothing more
    told = Comparison(2.0, 0.001, (6, 6), q=0.001)
    first = replace(undecided[0], comparisons={**undecided[0].comparisons, undecided[0].runner_up.label: told})
    assert first.decided and decide.candidates(first) == []
    assert len(decide.names_to_run(results, [first, *undecided[1:]])) == len(names) - 2 * len(
        undecided[0].use_case.reads_at(PORTAL))


def test_the_report_counts_decided_use_cases_before_and_after():
    results = ReportResults.load(RESULTS, machine="vm")
    answers = recommend(results, size=PORTAL)
    text = decide.report(answers, answers, [decide.Step(30.0, 14, 0)])
    decided = sum(a.decided for a in answers)
    assert text.startswith(f"Decided use cases at portal size: {decided} of {len(answers)} after the default run, "
                           f"{decided} of {len(answers)} after 1 racing steps (30 s, 14 reads re-run with 2 processes "
                           "each).")
    assert "cannot tell apart" in text and " v " in text
