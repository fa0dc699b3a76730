"""Usage: python3 tools/s3_plain_loop.py 3.1.6=<asv env>/bin/python 3.4.2=<asv env>/bin/python
          [--processes N] [--benchmarks FILE] [--size N]        (stdlib only)

Plain loop outside asv: the sharded XY plane from S3 (zarr-python + obstore, 20 ms/request), zarr 3.4.2 vs 3.1.6,
on the plain loop's skeleton (zarr_cryoet.checks.plain_loop: fresh processes, allocator pinned, one core, every
read checked; each release's own store, written by zarr_cryoet.checks.prepare). The schedule is what asv recorded
for object_storage.Read.time_read_xy in --benchmarks (default .asv/results/benchmarks.json): its samples per
process, and twice its rounds as processes per release (2 x 2 = 4, as docs/object_storage.md ran; --processes
sets another), alternating. The statistic is the suite's (zarr_cryoet.stats.estimate: the fastest process).
"""
import argparse
import contextlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from zarr_cryoet.checks import prepare  # noqa: E402
from zarr_cryoet.checks.plain_loop import Environment, Job, ScheduleError, run_schedule, schedule_of  # noqa: E402
from zarr_cryoet.stats.estimate import NAME  # noqa: E402

BENCHMARK = "object_storage.Read.time_read_xy"
LAYOUT = prepare.layout("blosc-zstd", "32x32x32/128x128x128", 3)
REMOTE = {"client": "zarr-python+obstore", "latency_s": 0.020, "bandwidth_bps": 1e9}  # the suite's 20ms-1gbit


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="the S3 tier's headline ratio by a plain loop outside asv")
    parser.add_argument("envs", nargs=2, metavar="VERSION=PYTHON", help="the base release first, then the other")
    parser.add_argument("--processes", type=int, help="processes per release (default: twice the suite's rounds)")
    parser.add_argument("--benchmarks", default=str(ROOT / ".asv" / "results" / "benchmarks.json"),
                        help="asv's benchmarks.json, whose schedule is used")
    parser.add_argument("--size", default="128", help="the phantom (default 128: the suite's 128³)")
    args = parser.parse_args(argv)
    try:
        schedule = schedule_of(args.benchmarks, BENCHMARK)
        processes = args.processes or 2 * schedule["rounds"]
        envs = [Environment(*spec.split("=", 1)) for spec in args.envs]
        with contextlib.ExitStack() as stack:
            jobs = []
            for env in envs:  # each release's own store, written by its zarr
                work = stack.enter_context(prepare.prepared(env, args.size, [LAYOUT]))
                jobs.append(Job((env.zarr,), env, prepare.store(work, LAYOUT), "xy", prepare.volume(work), schedule,
                                LAYOUT, cores="one", remote=REMOTE))
            timings = run_schedule(jobs, log=lambda line: print(line, file=sys.stderr), rounds=processes,
                                   alternate=True, strict=True)
    except (ScheduleError, RuntimeError) as err:
        sys.exit(f"s3_plain_loop: {err}")
    print(f"schedule: {processes} processes x {schedule['repeat']} samples per release ({BENCHMARK}'s in "
          f"{args.benchmarks}); statistic: the suite's, {NAME}")
    found = {env.zarr: timings[(env.zarr,)].estimate for env in envs}
    for version, estimate in found.items():
        print(version, NAME, round(estimate.value * 1e3, 1), "ms; processes",
              [round(x * 1e3, 1) for x in estimate.minima])
    a, b = (found[env.zarr].value for env in envs)
    print("ratio", envs[1].zarr, "/", envs[0].zarr, round(b / a, 3))


if __name__ == "__main__":
    main()
