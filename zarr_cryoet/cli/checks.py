"""The measurement-quality subcommands of ``zarr-cryoet``: overhead, stability, crosscheck, schedule-study.

Kept apart from :mod:`zarr_cryoet.cli` (which adds them to its parser) because they belong to
:mod:`zarr_cryoet.measure`: they judge asv's numbers on this machine rather than report them.
"""

from __future__ import annotations

import os
from pathlib import Path

from zarr_cryoet.asv import options
from zarr_cryoet.checks import intervals


def cmd_overhead(args) -> int:
    from zarr_cryoet.checks.quality import format_overhead, overhead

    print(format_overhead(*overhead(args.results, args.machine, args.commit)))
    return 0


def cmd_stability(args) -> int:
    from zarr_cryoet.checks.quality import format_stability, stability

    measured = stability(args.results, args.machine, commit=args.commit, other_dir=args.results_b)
    print(format_stability(measured, bench=args.bench))
    if args.save:
        print(f"\nnoise profile: {measured.profile.save(args.save)} (the nightly job's thresholds: --noise)")
    return 0


def cmd_crosscheck(args) -> int:
    from zarr_cryoet.checks import release_crosscheck
    from zarr_cryoet.checks.quality import QualityError
    from zarr_cryoet.asv.results import ReportResults

    if not args.engines and "512" in (args.size or []):
        raise QualityError("--size 512 is a size of the engine comparison; add --engines, or use --size 128 "
                           "or --size 184x630x630")
    if args.engines and "184x630x630" in (args.size or []):
        raise QualityError("the engine comparison runs at --size 128 and --size 512; drop --size 184x630x630")
    if (args.lossy or args.engines) and args.state:
        raise QualityError("--state applies to the zarr releases' cross-check; drop it with --engines or --lossy")
    if args.lossy and (args.engines or args.size):
        raise QualityError("--lossy checks the lossy codecs at 128³ on its own; drop --engines and --size")
    results = ReportResults.load(args.results, machine=args.machine, commit=args.commit) if args.results else None
    if args.lossy:
        from zarr_cryoet.checks import lossy_crosscheck

        print(lossy_crosscheck.table(lossy_crosscheck.run(args.env_dir), results))
        return 0
    if args.engines:
        from zarr_cryoet.checks import engine_crosscheck

        measured = engine_crosscheck.run(args.env_dir, sizes=args.size or engine_crosscheck.SIZES)
        print(engine_crosscheck.table(measured, results))
        return 0
    measured = release_crosscheck.run(args.env_dir, sizes=args.size or ("128", "184x630x630"),
                                      states=args.state or ("pinned",))
    print(release_crosscheck.table(measured, results))
    return 0


def cmd_schedule_study(args) -> int:
    from zarr_cryoet.checks import schedule_study
    from zarr_cryoet.checks.quality import QualityError

    if args.processes < 4 or args.samples < 1:
        raise QualityError("--processes must be at least 4 (two disjoint halves of two) and --samples at least 1")
    if args.trace:
        t = schedule_study.trace(args.trace)
        print(f"machine speed over {args.trace:g} s on the benchmarks' core: {t['loops']} loops, the fastest "
              f"{t['fastest_ms']:.3f} ms; {t['fast_share']:.0%} of loops within 10 % of it, the median "
              f"{t['median_over_fastest']:.2f}× it; {t['fast_windows']:.0%} of half-second windows mostly fast, "
              f"the longest slow stretch {t['longest_slow_s']:.1f} s\n")
    if args.source:
        data = schedule_study.load(args.source)
    else:
        data = schedule_study.measure(args.env_dir, args.processes, args.samples)
        if args.out:
            schedule_study.save(data, args.out)
    print(schedule_study.analyse(data))
    return 0


def add_parsers(sub) -> None:
    over = sub.add_parser("overhead", help="asv's overhead: wall time per environment against the timed samples",
                          description="For one machine and commit of an asv results directory, print each "
                                      "environment's benchmark wall time (asv's duration), the time inside the "
                                      "timed samples (number x repeat x median) and their ratio.")
    stab = sub.add_parser("stability", help="how well runs of one commit agree; each timing's smallest detectable change",
                          description="Compare every time_ result of several runs of one commit (machine names, "
                                      "e.g. a second run recorded with asv run --machine NAME-2), with the suite's "
                                      "statistic: the share within 5/10/20 %, the zarr release ratios, how often "
                                      "one run's value lies inside the other's interval, and per timing the "
                                      "smallest change it can detect (--save: the noise profile the nightly job's "
                                      "thresholds come from).")
    cross = sub.add_parser("crosscheck", help="the headline results timed again by a plain loop outside asv",
                           description="In every asv environment, time the headline reads and writes in fresh "
                                       "processes with the suite's statistic and schedule (processes per case, "
                                       "samples per process, releases interleaved) and print them next to asv's "
                                       "values, with the zarr 3 / zarr 2 ratios and whether they agree.")
    for parser in (over, stab, cross):
        options.add_results(parser, "asv results directory (default: %(default)s; these commands check runs made on "
                            "this machine, so unlike report they never fall back to the recorded run)",
                            default=options.LOCAL_RESULTS)
        options.add_commit(parser, "commit hash or prefix (default: the latest with results)")
    options.add_machine(over)
    over.set_defaults(func=cmd_overhead)
    options.add_machine(stab, "asv machine name, twice or more: the runs", action="append", default=[])
    stab.add_argument("--results-b", help="results directory of the second run (default: --results)")
    stab.add_argument("--bench", help="only benchmarks matching this regex, e.g. '^(compression|chunking)\\.'")
    stab.add_argument("--save", help="write the noise profile (per timing, the smallest detectable change) here, "
                                     "e.g. .asv/noise/vm.json")
    stab.set_defaults(func=cmd_stability)
    options.add_machine(cross, "asv machine of the results to compare with (default: this host's, else the newest)")
    cross.add_argument("--env-dir", default=os.path.join(".asv", "env"), help="asv environments (default: %(default)s)")
    cross.add_argument("--state", action="append", choices=["pinned", "loaded", "wrote first"],
                       help="allocator states of the measuring processes (default: pinned, as the suite runs; "
                            "give several to compare)")
    cross.add_argument("--size", action="append", choices=["128", "184x630x630", "512"],
                       help="phantom sizes to check (default: 128 and 184x630x630; with --engines 128 and 512)")
    cross.add_argument("--engines", action="store_true",
                       help="compare zarr-python, the zarrs pipeline and tensorstore instead of the zarr releases")
    cross.add_argument("--lossy", action="store_true",
                       help="time the lossy codecs' writes and full reads (128³, 64³ chunks) instead")
    cross.set_defaults(func=cmd_crosscheck)
    study = sub.add_parser("schedule-study", help="which statistic and schedule reproduce here: the measurement "
                                                  "behind the suite's", description=(
        "Time four headline operations in every asv environment in many fresh processes, interleaved as the "
        "suite runs, then compare statistics (median, mean, 10th percentile, minimum, median of process minima) "
        "and schedules (processes x samples) by how often disjoint halves agree within 5 %% and 10 %%."))
    study.add_argument("--env-dir", default=os.path.join(".asv", "env"), help="asv environments (default: %(default)s)")
    study.add_argument("--processes", type=int, default=48, help="processes per release and operation (default: 48)")
    study.add_argument("--samples", type=int, default=8, help="samples per process (default: 8)")
    study.add_argument("--trace", type=float, default=0, help="first trace the machine's speed for this many seconds")
    study.add_argument("--out", help="keep the samples in this JSON file")
    study.add_argument("--from", dest="source", help="analyse samples kept before instead of measuring")
    study.set_defaults(func=cmd_schedule_study)


def cmd_intervals(args) -> int:
    print(intervals.analyse(args.runs, args.machine, Path(args.save) if args.save else None,
                  at_least_s=args.hours_apart * intervals.HOUR, between_machines=args.between_machines))
    return 0


def add_intervals_parser(sub) -> None:
    parser = sub.add_parser("intervals", help="measure this machine's interval bands and prove the comparison rule "
                                              "on A/A runs", description=(
        "From several asv runs of one commit (folders of result files, as tools/aa_runs.py writes them: one zarr "
        "release in two environments, run back to back for hours): the A/A share called different within a run and "
        "between runs, the bands fitted on half the runs and their coverage on the other half, and a release "
        "ratio's run-to-run spread. --save writes the machine's profile, which the report then uses."))
    parser.add_argument("runs", nargs="+", help="run folders (asv result files of one commit; benchmarks.json in "
                                                "the folder or its parent)")
    options.add_machine(parser, "the asv machine the profile is for (default: %(default)s)", default="vm")
    parser.add_argument("--hours-apart", type=float, default=1.0,
                        help="held-out pairs of runs at least this far apart (default: %(default)s)")
    parser.add_argument("--save", help="write the profile here, e.g. recorded/noise/vm-intervals.json")
    parser.add_argument("--between-machines", action="append", default=[], metavar="HERE:THERE",
                        help="a release ratio measured on this machine and on another of its kind with the same "
                             "benchmark code (e.g. 1.484:1.375); the profile keeps the largest shift as the "
                             "between-machine term of the release line")
    parser.set_defaults(func=cmd_intervals)
