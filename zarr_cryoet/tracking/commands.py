"""The alarm's subcommands of ``zarr-cryoet``: alarm-proof and restate.

Kept apart from :mod:`zarr_cryoet.cli` (which adds them to its parser) because they belong to
:mod:`zarr_cryoet.tracking`: they prove the nightly alarm and put the suite's statistic into asv's files.
"""

from __future__ import annotations

import os
from pathlib import Path

from zarr_cryoet.errors import ZarrCryoetError


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
    from zarr_cryoet.tracking.restate import restate

    results = Path(args.results)
    if not (results / "benchmarks.json").is_file():
        raise ZarrCryoetError(f"no asv results in {results} (benchmarks.json is missing); run python3 tasks.py "
                              "benchmark first, or pass --results DIR")
    print(f"restated {restate(results, args.machine)} timings in {results} with the suite's statistic")
    return 0


def add_parsers(sub) -> None:
    """Add ``alarm-proof`` and ``restate`` to ``zarr-cryoet``'s subparsers."""
    proof = sub.add_parser(
        "alarm-proof", help="the nightly alarm against injected slowdowns: false alarms and detection rates",
        description="Run one commit's chunking and access reads in one environment, in clean pairs and with "
                    "zarr-python's reads slowed by a known amount (ZARR_CRYOET_INJECT_SLOWDOWN), alternating, "
                    "then count the timings the alarm flags: false alarms per clean pair, and the share flagged "
                    "per injected run, for each threshold rule.")
    proof.add_argument("--config", default="asv.conf.json", help="asv config (default: %(default)s)")
    proof.add_argument("--env", default="virtualenv-py3.11-zarr3.1.6", help="the environment (default: %(default)s)")
    proof.add_argument("--runs", type=int, default=5, help="clean pairs, and injected runs per slowdown (default: 5)")
    proof.add_argument("--slowdown", type=float, action="append",
                       help="an injected slowdown as a fraction, repeatable (default: 0.1 and 0.25)")
    proof.add_argument("--bench", default=r"^(chunking|access)\.Read\.", help="asv --bench regex (default: %(default)s)")
    proof.add_argument("--cpu", default="auto", help="core for the benchmarks (default: auto, the last one)")
    proof.add_argument("--evaluate-only", action="store_true", help="evaluate runs made before (in --results)")
    proof.add_argument("--results", default=os.path.join(".asv", "results"),
                       help="with --evaluate-only: where the runs are (default: %(default)s)")
    proof.set_defaults(func=cmd_alarm_proof)
    restate_parser = sub.add_parser(
        "restate", help="write the suite's statistic (fastest process, with its interval) into asv's result files",
        description="For every time_ result with recorded samples, set asv's result to the fastest of the "
                    "processes and its ci_99 columns to that value's bootstrap interval (zarr_cryoet.measure."
                    "statistic). tasks.py benchmark and the nightly job do this after every asv run.")
    restate_parser.add_argument("--results", default=os.path.join(".asv", "results"),
                                help="asv results directory (default: %(default)s)")
    restate_parser.add_argument("--machine", help="only this asv machine's results (default: every machine)")
    restate_parser.set_defaults(func=cmd_restate)
