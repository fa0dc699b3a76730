"""``zarr-cryoet decide``: spend extra processes only where the answer cannot yet tell the best layout apart.

After the default run, each use case of ``recommend`` at portal size names a best layout and a runner-up; with the
tier's 2 processes per layout the comparison rule (:mod:`zarr_cryoet.stats.compare`) can never tell them apart (the
smallest p of 2 against 2 processes is 1/3). A racing step (successive elimination) follows the default schedule:

1. per undecided use case, the candidates are the best layout and the runner-up (the best with other chunks: the
   choice the answer makes); every other layout keeps the processes it has;
2. ``asv run --append-samples`` runs :data:`ROUNDS` more processes of exactly the candidates' reads (asv selects
   single parameter combinations by name), in the newest zarr's environment only;
3. the answer is computed again from all the processes; repeat while undecided use cases remain, the budget
   (``--budget`` seconds, measured as the steps run) allows another step, and at most :data:`STEPS` steps.

It prints how many use cases were decided before and after, with each row's test; the samples stay in asv's
results (restated afterwards by ``tasks.py``), so ``recommend`` and the dashboard use them.
"""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from zarr_cryoet.answer.recommend import PORTAL, Answer, choose_env, recommend
from zarr_cryoet.asv.families import REALISTIC
from zarr_cryoet.asv.results import ReportResults
from zarr_cryoet.asv import config as asv_config
from zarr_cryoet.store.stores import implied_format
from zarr_cryoet.util.files import write_atomically
from zarr_cryoet.tracking.alarm import bench_arguments
from zarr_cryoet.tracking.backfill import one_environment
from zarr_cryoet.util import markdown

#: processes added per candidate and step, and the most steps
ROUNDS = 2
STEPS = 3
#: the default budget in seconds (``tasks.py benchmark``)
BUDGET = 240


@dataclass
class Step:
    seconds: float
    names: int
    status: int


def candidates(answer: Answer) -> list:
    """The best layout and the runner-up where the rule cannot tell them apart (empty when the answer is decided)."""
    if answer.decided:
        return []
    return [answer.best, answer.runner_up]


def names_to_run(results: ReportResults, answers: list[Answer]) -> list[str]:
    """asv's names of every read of every candidate of the undecided answers (portal size)."""
    names = []
    for answer in answers:
        for ranked in candidates(answer):
            for benchmark, extra in answer.use_case.reads_at(PORTAL):
                if ranked.zarr_format != implied_format(ranked.chunks):  # plain chunks on format 3: UseCasesV3
                    benchmark = REALISTIC.on_format_3(benchmark) or benchmark
                cell = {"data": answer.data, "chunks": ranked.chunks, **dict(extra)}
                if answer.use_case.varies:
                    cell[answer.use_case.varies] = ranked.via
                name = results.asv_name(benchmark, **cell)
                if name:
                    names.append(name)
    return sorted(set(names))


def summary(answers: list[Answer]) -> str:
    lines = markdown.table(["use case", "best", "runner-up", "test", "decided"])
    for a in answers:
        runner = a.runner_up
        test = a.versus(runner).text() if runner else "–"
        lines.append(markdown.row([a.use_case.key, f"{a.best.label} {a.best}",
                                   f"{runner.label} {runner}" if runner else "–", test,
                                   "yes" if a.decided else "cannot tell apart"]))
    return "\n".join(lines)


def decide(results_dir: Path, machine: str | None, config: Path, asv: Path, budget_s: float = BUDGET,
           log=print) -> tuple[list[Answer], list[Answer], list[Step]]:
    """Race the undecided use cases of the newest commit's portal-size answer; (before, after, steps)."""
    results = ReportResults.load(results_dir, machine=machine)
    machine = results.machine
    before = answers = recommend(results, size=PORTAL)
    env = choose_env(results)
    # a scratch config of that one environment (asv's -E picks a Python for the whole matrix, not an environment)
    config = config.resolve()
    conf = one_environment(asv_config.with_absolute_paths(asv_config.load(config), config.parent), env.zarr_version,
                           env.python)
    conf["results_dir"] = str(Path(results_dir).resolve())
    scratch = config.parent / ".asv" / "decide.asv.conf.json"
    write_atomically(scratch, json.dumps(conf, indent=2))
    steps: list[Step] = []
    try:  # the scratch config goes whatever happens
        while len(steps) < STEPS:
            names = names_to_run(results, answers)
            slowest = max((s.seconds for s in steps), default=0.0)
            spent = sum(s.seconds for s in steps)
            if not names or spent + slowest > budget_s:
                break
            log(f"[decide] step {len(steps) + 1}: {ROUNDS} more processes of {len(names)} reads "
                f"({sum(1 for a in answers if not a.decided)} use cases undecided)")
            started = time.monotonic()
            status = subprocess.run([str(asv), "run", "--config", str(scratch), *asv_config.RUN_ARGS, "--append-samples",
                                     "--machine", machine, "-a", f"rounds={ROUNDS}", *bench_arguments(names),
                                     f"{results.commit}^!"], cwd=config.parent).returncode
            steps.append(Step(time.monotonic() - started, len(names), status))
            if status:
                log(f"[decide] asv exited {status}; keeping the answer as it is")
                break
            results = ReportResults.load(results_dir, machine=machine, commit=results.commit)
            answers = recommend(results, size=PORTAL)
    finally:
        scratch.unlink(missing_ok=True)
    return before, answers, steps


def report(before: list[Answer], after: list[Answer], steps: list[Step]) -> str:
    decided = (sum(a.decided for a in before), sum(a.decided for a in after))
    return "\n".join([
        f"Decided use cases at portal size: {decided[0]} of {len(before)} after the default run, {decided[1]} of "
        f"{len(after)} after {len(steps)} racing steps ({sum(s.seconds for s in steps):.0f} s, "
        f"{sum(s.names for s in steps)} reads re-run with {ROUNDS} processes each).", "", "Before:", "",
        summary(before), "", "After:", "", summary(after)])
