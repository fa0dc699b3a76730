"""recommend's portal-size table by a plain loop outside asv, beside the recorded run's values.

    .venv/bin/python tools/portal_use_cases.py WORKDIR ENV_PYTHON [PROCESSES] [RESULTS]
                     [--benchmarks FILE] [--size SIZE] [--layouts A,B,...]

ENV_PYTHON is a Python with zarr_cryoet and the zarr release to check (e.g. an asv environment of the matrix).
WORKDIR gets the 184×630×630 phantom and its stores in ``realistic.USE_CASE_LAYOUTS`` once (not timed), written
by ``zarr_cryoet.checks.prepare``. On the plain loop's skeleton (``zarr_cryoet.checks.plain_loop``: fresh
processes, allocator pinned, every read checked against the volume), each of PROCESSES rounds (default: the
suite's rounds) starts a fresh process per layout and use case, in alternating order, on every core, as
``realistic.UseCases`` does; each reads the use case's selections (``object_traffic``'s workloads) after a
warm-up, as many times as asv's schedule of ``realistic.UseCases`` says (in --benchmarks, default
RESULTS/benchmarks.json). Printed per use case and layout: the suite's statistic (``zarr_cryoet.stats.estimate``:
the fastest process), asv's value from RESULTS (default: recorded/results, the newest zarr) and their ratio, and
each use case's best layout by both. Outside asv on purpose: the cross-check of the README's answer.
"""
import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.realistic import USE_CASE_LAYOUTS, USE_CASE_READS  # noqa: E402
from zarr_cryoet.checks import prepare  # noqa: E402
from zarr_cryoet.checks.plain_loop import Job, ScheduleError, environment, run_schedule, schedule_of  # noqa: E402
from zarr_cryoet.stats.estimate import NAME  # noqa: E402


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workdir", type=Path)
    parser.add_argument("python")
    parser.add_argument("processes", type=int, nargs="?", help="processes per case (default: the suite's rounds)")
    parser.add_argument("results", nargs="?", default=str(ROOT / "recorded" / "results"))
    parser.add_argument("--benchmarks", help="asv's benchmarks.json, whose schedule is used "
                                             "(default: RESULTS/benchmarks.json)")
    parser.add_argument("--size", default="184x630x630", help="the phantom (default: portal size)")
    parser.add_argument("--layouts", default=",".join(USE_CASE_LAYOUTS), help="chunkings, comma-separated "
                                                                              "(default: the suite's)")
    args = parser.parse_args(argv)
    benchmarks = args.benchmarks or str(Path(args.results) / "benchmarks.json")
    specs = args.layouts.split(",")
    layouts = {spec: prepare.layout("blosc-zstd", spec) for spec in specs}  # the format follows the chunks
    try:
        schedules = {m: schedule_of(benchmarks, f"realistic.UseCases.{m}") for m in USE_CASE_READS}
        env = environment(args.python)
        work = prepare.prepare(env, args.workdir, args.size, layouts.values())
        jobs = [Job((name, spec), env, prepare.store(work, layouts[spec]), f"use:{name}", prepare.volume(work),
                    schedules[method], layouts[spec], cores="all")
                for spec in specs for method, name in USE_CASE_READS.items()]
        times = run_schedule(jobs, log=lambda line: print(line, file=sys.stderr), rounds=args.processes,
                             alternate=True, strict=True)
    except (ScheduleError, RuntimeError) as err:
        sys.exit(f"portal_use_cases: {err}")
    from zarr_cryoet.asv.results import ReportResults

    results = ReportResults.load(args.results)
    env, data = results.newest, results.choices("realistic.UseCases", "data")[0]
    for method, name in USE_CASE_READS.items():
        schedule = schedules[method]
        print(f"{name:10s} schedule: {args.processes or schedule['rounds']} processes x {schedule['repeat']} reads "
              f"(realistic.UseCases.{method}'s in {benchmarks}); statistic: the suite's, {NAME}")
        rows = []
        for spec in specs:
            found = times[(name, spec)].estimate
            asv = results.value(env, f"realistic.UseCases.{method}", data=data, chunks=spec)
            rows.append((spec, found.value, asv, found.high / found.value))
        for spec, plain, asv, spread in rows:
            print(f"{name:10s} {spec:24s} plain {plain * 1e3:8.1f} ms (slowest ÷ fastest {spread:.2f})  "
                  f"asv {asv * 1e3:8.1f} ms  plain ÷ asv {plain / asv:.2f}")
        print(f"{name:10s} best: plain {min(rows, key=lambda r: r[1])[0]}, asv {min(rows, key=lambda r: r[2])[0]}")


if __name__ == "__main__":
    main()
