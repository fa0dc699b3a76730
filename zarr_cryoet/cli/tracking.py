"""The tracking subcommands of ``zarr-cryoet``: nightly, alarm-proof, restate, backfill-shard and merge-results.

Kept apart from :mod:`zarr_cryoet.cli` (which adds them to its parser) because they belong to
:mod:`zarr_cryoet.tracking`: the cron job, the proof of its alarm, and the suite's statistic in asv's files.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from zarr_cryoet.asv import options
from zarr_cryoet.tracking import both_cores, decide
from zarr_cryoet.util.errors import ZarrCryoetError


def add_asv_run_arguments(parser) -> None:
    """``--bench`` and ``--quick``, passed on to ``asv run`` (:func:`asv_run_arguments`)."""
    parser.add_argument("--bench", "-b", action="append", default=[], help="passed to asv run (a regex)")
    parser.add_argument("--quick", action="store_true", help="passed to asv run (one sample per benchmark)")


def asv_run_arguments(args) -> list[str]:
    return [*(a for b in args.bench for a in ("--bench", b)), *(["--quick"] if args.quick else [])]


def cmd_nightly(args) -> int:
    from zarr_cryoet.tracking.nightly import NightlyOptions, install_sigterm_handler, nightly

    install_sigterm_handler()
    asv_args = [*asv_run_arguments(args), *(a for attr in args.attribute for a in ("--attribute", attr)),
                *(a for e in args.environment for a in ("--environment", e))]
    return nightly(NightlyOptions(config=Path(args.config), machine=args.machine, repo=args.repo,
                                  factor=args.factor, noise=Path(args.noise) if args.noise else None,
                                  cpu=args.cpu, results_branch=args.results_branch,
                                  follow_releases=args.follow_releases, max_commits=args.max_commits,
                                  confirm=args.confirm, bisect=args.bisect,
                                  report=Path(args.report) if args.report else None, publish=args.publish,
                                  asv_args=asv_args))


def cmd_alarm_proof(args) -> int:
    from zarr_cryoet.tracking import alarm_proof

    slowdowns = tuple(args.slowdown or alarm_proof.SLOWDOWNS)
    if args.runs < 1 or any(not 0 < s <= 10 for s in slowdowns):
        raise ZarrCryoetError("--runs must be at least 1 and every --slowdown a fraction above 0 (0.1 is 10 %)")
    results = Path(args.results) if args.evaluate_only else alarm_proof.run_all(
        Path(args.config), args.env, args.runs, slowdowns, bench=args.bench, cpu=args.cpu)
    outcomes, measured = alarm_proof.evaluate(results, args.runs, slowdowns)
    print(alarm_proof.table(outcomes, measured, args.runs))
    return 0


def cmd_restate(args) -> int:
    from zarr_cryoet.asv.restate import restate

    results = Path(args.results)
    if not (results / "benchmarks.json").is_file():
        raise ZarrCryoetError(f"no asv results in {results} (benchmarks.json is missing); run python3 tasks.py "
                              "benchmark first, or pass --results DIR")
    print(f"restated {restate(results, args.machine)} timings in {results} with the suite's statistic")
    return 0


def cmd_backfill_shard(args) -> int:
    from zarr_cryoet.tracking.backfill import Shard, run_shard

    asv_args = asv_run_arguments(args)
    code = run_shard(Path(args.config), args.range, Shard.parse(args.shard), args.machine, Path(args.out),
                     zarr=args.zarr, python=args.python, steps=args.steps, asv_args=asv_args, cpu=args.cpu)
    return 0 if code in (0, 2) else 2  # 2 from asv: some benchmarks failed; their results are in the shard


def cmd_merge_results(args) -> int:
    import tempfile

    from zarr_cryoet.asv import config as asv_config, history
    from zarr_cryoet.asv.process import asv_command, run_foreground
    from zarr_cryoet.tracking.merge import merge, read_shard
    from zarr_cryoet.tracking.nightly import git_toplevel, load_config

    config = Path(args.config).resolve()
    conf = asv_config.with_absolute_paths(load_config(config), config.parent)
    shards = [Path(s) for s in args.shards]
    for shard in shards:
        read_shard(shard)  # every shard checked before the results or the branch are touched
    results = Path(conf["results_dir"])
    repo = git_toplevel(config.parent)
    branch = args.results_branch if args.results_branch is not None else f"asv-results/{conf.get('project', 'asv')}"
    if branch and repo is not None:
        history.restore(repo, results, branch)
    summary = merge(shards, results)
    print(f"[merge] {summary.line()}")
    if branch and repo is not None:
        commit = history.commit_snapshot(repo, results, branch, f"backfill: {summary.line()}")
        print(f"[merge] results committed to branch {branch} ({commit[:8]})" if commit else "[merge] branch unchanged")
    if args.publish:
        with tempfile.NamedTemporaryFile("w", suffix=".json", dir=results.parent, delete=False) as tmp:
            tmp.write(json.dumps(conf))
        try:
            if run_foreground(asv_command(Path(tmp.name), "publish"), config.parent) != 0:
                raise ZarrCryoetError("asv publish failed (see above); the results are merged and committed, the "
                                      "dashboard is not: run asv publish again")
        finally:
            os.unlink(tmp.name)
        print(f"[merge] dashboard: {conf['html_dir']}")
    return 0


def add_backfill_parsers(sub) -> None:
    """Add ``backfill-shard`` and ``merge-results`` (the backfill workflow's two jobs) to the subparsers."""
    shard = sub.add_parser(
        "backfill-shard", help="one backfill job: a shard of a commit range in one environment, into a directory",
        description="Benchmark every N-th commit of a range (shard I/N) in one environment of the matrix into a "
                    "results directory of its own, with shard.json saying what it holds; merge-results joins "
                    "the shards (.github/workflows/backfill.yml).")
    options.add_config(shard)
    shard.add_argument("--range", required=True, help="commits, as asv run takes them: A..B, a branch or a commit")
    shard.add_argument("--shard", default="1/1", help="I/N: this job's share of the range (default: %(default)s)")
    shard.add_argument("--zarr", help="the environment's zarr release (asv.conf.json's matrix)")
    shard.add_argument("--python", help="the environment's Python, where a zarr release has several")
    shard.add_argument("--steps", type=int, help="thin the range to this many evenly spaced commits first")
    options.add_machine(shard, "asv machine name: the runner class, the same for every job", required=True)
    shard.add_argument("--out", required=True, help="a fresh results directory for this shard (the artifact)")
    add_asv_run_arguments(shard)
    options.add_cpu(shard)
    shard.set_defaults(func=cmd_backfill_shard)
    merge_parser = sub.add_parser(
        "merge-results", help="join backfill shards into the results branch and publish the dashboard",
        description="Check every shard (refused, with nothing merged, if any file is unreadable), merge them into "
                    "the config's results directory (a commit and environment measured twice keeps both sets of "
                    "samples), commit it to the results branch and run asv publish.")
    merge_parser.add_argument("shards", nargs="+", help="the shards' results directories")
    options.add_config(merge_parser)
    merge_parser.add_argument("--results-branch", help="git branch of the results history (default: "
                              "asv-results/PROJECT, the nightly job's; '' to only merge the directory)")
    merge_parser.add_argument("--no-publish", dest="publish", action="store_false", help="skip asv publish")
    merge_parser.set_defaults(func=cmd_merge_results)


def add_parsers(sub) -> None:
    """Add ``alarm-proof`` and ``restate`` to ``zarr-cryoet``'s subparsers."""
    proof = sub.add_parser(
        "alarm-proof", help="the nightly alarm against injected slowdowns: false alarms and detection rates",
        description="Run one commit's chunking and access reads in one environment, in clean pairs and with "
                    "zarr-python's reads slowed by a known amount (ZARR_CRYOET_INJECT_SLOWDOWN), alternating, "
                    "then count the timings the alarm flags: false alarms per clean pair, and the share flagged "
                    "per injected run, for each threshold rule.")
    options.add_config(proof)
    proof.add_argument("--env", default="virtualenv-py3.11-zarr3.1.6", help="the environment (default: %(default)s)")
    proof.add_argument("--runs", type=int, default=5, help="clean pairs, and injected runs per slowdown (default: 5)")
    proof.add_argument("--slowdown", type=float, action="append",
                       help="an injected slowdown as a fraction, repeatable (default: 0.1 and 0.25)")
    proof.add_argument("--bench", default=r"^(chunking|access)\.Read\.", help="asv --bench regex (default: %(default)s)")
    options.add_cpu(proof)
    proof.add_argument("--evaluate-only", action="store_true", help="evaluate runs made before (in --results)")
    options.add_results(proof, "with --evaluate-only: where the runs are (default: %(default)s)", default=options.LOCAL_RESULTS)
    proof.set_defaults(func=cmd_alarm_proof)
    restate_parser = sub.add_parser(
        "restate", help="write the suite's statistic (fastest process, with its interval) into asv's result files",
        description="For every time_ result with recorded samples, set asv's result to the fastest of the "
                    "processes and its ci_99 columns to the ends of the suite's interval (zarr_cryoet.stats."
                    "estimate): the machine's measured band where it has an interval profile, else the range "
                    "of the processes' minima. tasks.py benchmark and the nightly job do this after every asv run.")
    options.add_results(restate_parser, "asv results directory (default: %(default)s)", default=options.LOCAL_RESULTS)
    options.add_machine(restate_parser, "only this asv machine's results (default: every machine)")
    restate_parser.set_defaults(func=cmd_restate)


def add_nightly_parser(sub) -> None:
    """Add ``nightly`` to ``zarr-cryoet``'s subparsers."""
    from zarr_cryoet.tracking.regressions import DEFAULT_FACTOR

    night = sub.add_parser(
        "nightly", help="cron job: benchmark new commits and releases, publish, exit 1 on a regression",
        description="Take a lock, run asv on the new commits (and on the newest zarr release), publish the "
                    "dashboard, compare every new result with its baseline like asv compare, write a Markdown "
                    "report and commit the results to a git branch. Exit status: 0 no regression, "
                    "1 regression, 2 error, 75 another run is in progress.")
    options.add_config(night, "asv config: asv.conf.json (zarr releases) or asv.upstream.conf.json (zarr commits)")
    night.add_argument("--repo", help="override the config's repo (a path or URL of the benchmarked git repository)")
    options.add_machine(night, "asv machine name (default: this host's name)")
    night.add_argument("--factor", type=float, default=None,
                       help="one ratio that counts as a change for every timing, with asv compare's rules "
                            f"(default: each timing's own threshold from the noise profile, else the rank test "
                            f"of its two results' processes; {DEFAULT_FACTOR:g} for results without samples)")
    night.add_argument("--noise", help="noise profile of this machine (zarr-cryoet stability --save; default: "
                       ".asv/noise/MACHINE.json, else recorded/noise/MACHINE.json)")
    options.add_cpu(night, "pin benchmarks to this CPU core, like taskset (default: auto = the last core when "
                           "there are several; none to disable)")
    night.add_argument("--results-branch", help="git branch that keeps the results history "
                       "(default: asv-results/PROJECT; '' to disable)")
    night.add_argument("--no-follow-releases", dest="follow_releases", action="store_false",
                       help="do not add an environment for a zarr release newer than the matrix")
    night.add_argument("--max-commits", type=int, default=10, help="benchmark at most this many new commits")
    night.add_argument("--no-confirm", dest="confirm", action="store_false",
                       help="raise the alarm on the first look (default: run flagged timings again to confirm)")
    night.add_argument("--no-bisect", dest="bisect", action="store_false",
                       help="on an alarm, do not bisect the commits since the last benchmarked one nor profile the "
                            "culprit (default: bisect, so the report names the first bad commit)")
    night.add_argument("--report", help="also write the Markdown report here")
    night.add_argument("--no-publish", dest="publish", action="store_false", help="skip asv publish")
    add_asv_run_arguments(night)
    night.add_argument("--attribute", "-a", action="append", default=[], help="passed to asv run, e.g. repeat=5")
    night.add_argument("--environment", "-E", action="append", default=[], help="passed to asv run")
    night.set_defaults(func=cmd_nightly)


def cmd_both_cores(args) -> int:
    cores = both_cores.cores_for_halves()
    if cores is None:
        print("zarr-cryoet: error: both-cores needs two cores, and this process may use one; run asv run as usual",
              file=sys.stderr)
        return 2
    return both_cores.run_halves(Path(args.config), [args.asv] if args.asv else [sys.executable, "-m", "asv"], cores,
                      args.asv_args)


def add_both_cores_parser(sub) -> None:
    parser = sub.add_parser("both-cores", help="the one-core tier as two asv runs at once, one per core (tasks.py "
                                               "benchmark's second step)", description=both_cores.__doc__.split("\n\n")[0])
    options.add_config(parser, "asv config of the run (default: %(default)s)")
    parser.add_argument("--asv", help="the asv command (default: this Python's asv module)")
    parser.add_argument("asv_args", nargs="*", help="more asv run arguments, after --, e.g. -- --machine vm")
    parser.set_defaults(func=cmd_both_cores)


def cmd_decide(args) -> int:
    before, after, steps = decide.decide(Path(args.results), args.machine, Path(args.config), Path(args.asv), args.budget)
    print(decide.report(before, after, steps))
    return 0


def add_decide_parser(sub) -> None:
    parser = sub.add_parser("decide", help="more processes where recommend cannot tell the best layout apart "
                                           "(racing after the default run)", description=decide.__doc__.split("\n\n")[1])
    options.add_results(parser, "asv results (default: %(default)s)", default=options.LOCAL_RESULTS)
    options.add_machine(parser, "the asv machine of the run (default: this host's, as asv records it)")
    options.add_config(parser, "asv config of the run (default: %(default)s)")
    parser.add_argument("--asv", default=str(Path(sys.executable).parent / "asv"), help="the asv command")
    parser.add_argument("--budget", type=float, default=decide.BUDGET, help="seconds to spend at most (default: %(default)s)")
    parser.set_defaults(func=cmd_decide)
