"""zarr-python's fused pipeline ÷ its default, full read and XY plane, at portal size (184×630×630), every core.

    python tools/fused_portal_size.py WORKDIR ENV_PYTHON [PROCESSES] [--benchmarks FILE] [--size SIZE]

ENV_PYTHON is a Python with zarr >= 3.3 and zarr_cryoet (an asv environment of the matrix). WORKDIR gets the
phantom and its two stores (64³ v2, 32³ in 128³ shards v3) once, written by zarr_cryoet.checks.prepare. On the
plain loop's skeleton (zarr_cryoet.checks.plain_loop: fresh processes, allocator pinned, every read checked
against the volume), each of PROCESSES rounds (default: the suite's rounds) starts a fresh process per pipeline,
store and read, in alternating order; each reads after a warm-up, as many times as asv's schedule of the
portal-sized reads (realistic.Read.time_read_full / time_read_slice_xy in --benchmarks, default
.asv/results/benchmarks.json) says. Printed: the suite's statistic of each (zarr_cryoet.stats.estimate: the
fastest process) and the slowest process ÷ the fastest. Outside asv on purpose: the cross-check of
docs/engines.md, "At portal size".
"""
import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from zarr_cryoet.checks import prepare  # noqa: E402
from zarr_cryoet.checks.plain_loop import Job, ScheduleError, environment, run_schedule, schedule_of  # noqa: E402
from zarr_cryoet.stats.estimate import NAME  # noqa: E402

LAYOUTS = [prepare.layout("blosc-zstd", "64x64x64", 2),
           prepare.layout("blosc-zstd", "32x32x32/128x128x128", 3)]
READS = {"full": "realistic.Read.time_read_full", "xy": "realistic.Read.time_read_slice_xy"}
ENGINES = ("zarr-python", "zarr-python-fused")


def label(layout) -> str:
    """The name each line starts with (the store's name in the first version of this tool)."""
    return f"{layout.spec.replace('/', '_')}_v{layout.zarr_format}.zarr"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workdir", type=Path)
    parser.add_argument("python")
    parser.add_argument("processes", type=int, nargs="?", help="processes per case (default: the suite's rounds)")
    parser.add_argument("--benchmarks", default=str(ROOT / ".asv" / "results" / "benchmarks.json"),
                        help="asv's benchmarks.json, whose schedule is used")
    parser.add_argument("--size", default="184x630x630", help="the phantom (default: portal size)")
    args = parser.parse_args(argv)
    try:
        schedules = {op: schedule_of(args.benchmarks, name) for op, name in READS.items()}
        env = environment(args.python)
        work = prepare.prepare(env, args.workdir, args.size, LAYOUTS)
        jobs = [Job((label(layout), op, engine), env, prepare.store(work, layout), op, prepare.volume(work),
                    schedules[op], layout, cores="all", engine=engine)
                for layout in LAYOUTS for op in READS for engine in ENGINES]
        timings = run_schedule(jobs, log=lambda line: print(line, file=sys.stderr), rounds=args.processes,
                               alternate=True, strict=True)
    except (ScheduleError, RuntimeError) as err:
        sys.exit(f"fused_portal_size: {err}")
    for op, schedule in schedules.items():
        print(f"{op}: {args.processes or schedule['rounds']} processes x {schedule['repeat']} reads "
              f"({READS[op]}'s schedule in {args.benchmarks}); statistic: the suite's, {NAME}")
    for layout in LAYOUTS:
        for op in READS:
            d, f = (timings[(label(layout), op, e)].estimate for e in ENGINES)
            print(f"{label(layout)} {op}: default {d.value*1e3:.1f} ms, fused {f.value*1e3:.1f} ms, "
                  f"fused/default {f.value/d.value:.2f}  "
                  f"(spread default {d.high/d.value:.2f}, fused {f.high/f.value:.2f})")


if __name__ == "__main__":
    main()
