#!/usr/bin/env python3
"""Does a benchmark's time change when the other core runs benchmarks too? The check behind ``tasks.py benchmark``
running its one-core tier as two halves at once, one per core (docs/measurement.md, "Both cores").

    python3 tools/two_cores.py run --pairs 3 --out .asv/two-cores     # ~5 min a pair here
    .venv/bin/python tools/two_cores.py analyse .asv/two-cores

``run`` alternates two kinds of real ``asv run`` of this checkout's HEAD with the A/A configuration of
``tools/aa_runs.py`` (zarr 3.1.6 in two environments that differ by ``ZARR_CRYOET_AA`` only; ``chunking.Read`` and
``chunking.Write``, the timings whose bands are measured), on core 1 with the suite's options:

* ``alone-*``: as the suite ran before, core 0 idle but for asv's own process;
* ``beside-*``: the same, while core 0 runs the other half of the suite (``engines`` and ``lossy``, the half
  ``tasks.py`` runs beside ``chunking``), started over and over until the measured run ends.

``analyse`` compares them with the suite's own rules (:mod:`zarr_cryoet.stats`): the geometric mean over the timings
of each run beside ÷ the runs alone just before and after it (the machine drifts within an hour), per environment;
the share of timings a run of the other kind lands outside the machine's 90 % band (recorded/noise/vm-intervals.json),
next to the same share between runs of one kind; and the A/A rule (two environments within one run) on the
``beside`` runs. Needs ``.venv`` (``python3 tasks.py recommend``
makes it).
"""

from __future__ import annotations

import argparse
import itertools
import math
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))
from zarr_cryoet.asv import config as asv_config  # noqa: E402  (stdlib only)

import aa_runs  # noqa: E402

MEASURED = r"^chunking\.(Read|Write)\."
#: the other half of the one-core tier (asv_config.ONE_CORE_HALVES) that runs beside chunking
BESIDE = r"^(engines|lossy)\."


def measured_run(asv: Path, config: Path, folder: Path, log: Path) -> int:
    with log.open("w") as sink:
        status = subprocess.run([str(asv), "run", "--config", str(config), "--show-stderr", *asv_config.RUN_ARGS,
                                 "--cpu-affinity", "1", "--machine", aa_runs.MACHINE, "--bench", MEASURED, "HEAD^!"],
                                cwd=ROOT, stdout=sink, stderr=sink).returncode
    folder.mkdir()
    for path in (aa_runs.RESULTS / aa_runs.MACHINE).glob("*.json"):
        shutil.move(str(path), folder / path.name) if path.name != "machine.json" else shutil.copy(path, folder)
    shutil.copy(aa_runs.RESULTS / "benchmarks.json", folder.parent / "benchmarks.json")
    shutil.rmtree(asv_config.setup_cache_root(ROOT / ".asv" / "env-aa"), ignore_errors=True)
    return status


def load_on_core_0(asv: Path, log: Path) -> subprocess.Popen:
    """The other half, on core 0, in this checkout's own environments (zarr 3.1.6 on Python 3.11), over and over;
    nothing saved."""
    loop = (f"while true; do {asv} run --config {ROOT / 'asv.conf.json'} --dry-run --cpu-affinity 0 "
            f"-E virtualenv:3.11 --bench '{BESIDE}' HEAD^! || sleep 1; done")
    return subprocess.Popen(["bash", "-c", loop], cwd=ROOT, stdout=log.open("w"), stderr=subprocess.STDOUT,
                            start_new_session=True)


def cmd_run(args) -> int:
    asv = ROOT / ".venv" / "bin" / "asv"
    if not asv.exists():
        sys.exit("two_cores: error: .venv has no asv; run python3 tasks.py recommend once to make it")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    config = aa_runs.write_config("3.1.6")
    subprocess.run([str(asv), "machine", "--yes", "--machine", aa_runs.MACHINE], check=True, stdout=subprocess.DEVNULL)
    for i in range(args.pairs):
        for kind in ("alone", "beside"):
            if (out / "STOP").exists():
                return 0
            stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
            load = load_on_core_0(asv, out / f"{kind}-{stamp}.load.log") if kind == "beside" else None
            try:
                status = measured_run(asv, config, out / f"{kind}-{stamp}", out / f"{kind}-{stamp}.log")
            finally:
                if load is not None:
                    os.killpg(load.pid, signal.SIGTERM)
                    load.wait()
            print(f"pair {i + 1}/{args.pairs}: {kind}-{stamp} (asv exit {status})", flush=True)
    return 0


def _geomean(a: dict, b: dict, keep=lambda name: True) -> float:
    """The geometric mean of b ÷ a over the timings both have (``keep``: which)."""
    names = [n for n in a.keys() & b.keys() if keep(n)]
    return math.exp(statistics.fmean(math.log(b[n].value / a[n].value) for n in names))


def cmd_analyse(args) -> str:
    from zarr_cryoet.stats import calibration
    from zarr_cryoet.checks.intervals import load_runs, within_run

    folders = sorted((p for p in Path(args.folder).iterdir() if p.is_dir() and p.name.split("-")[0] in
                      ("alone", "beside")), key=lambda p: p.name.split("-", 1)[1])  # in time order
    units = load_runs(folders)
    kinds = [folder.name.split("-")[0] for folder in folders]
    envs: dict[int, list[dict]] = {}
    for u in units:
        envs.setdefault(u.run, []).append(u.timings.timings)
    bands = calibration.Profile.load(args.profile).bands
    # each run against the runs of the other kind just before and after it (the machine drifts over an hour), per
    # environment: how much slower a run beside the other half is than the runs alone around it
    rows = ["| timings | runs beside ÷ the runs alone before and after them, per environment | geometric mean |",
            "|---|---|---|"]
    families = (("all", lambda n: True), ("reads", lambda n: ".time_write" not in n),
                ("writes", lambda n: ".time_write" in n))
    for label, keep in families:
        shifts = []
        for i, kind in enumerate(kinds):
            around = [j for j in (i - 1, i + 1) if 0 <= j < len(kinds) and kinds[j] == "alone"]
            if kind != "beside" or not around:
                continue
            for e, timings in enumerate(envs[i]):
                shifts.append(math.exp(statistics.fmean(math.log(_geomean(envs[j][e], timings, keep))
                                                        for j in around)))
        if shifts:
            rows.append(f"| {label} | {', '.join(f'{x:.3f}' for x in shifts)} | "
                        f"**{math.exp(statistics.fmean(math.log(x) for x in shifts)):.3f}** ({len(shifts)}) |")
    # the band: is a run of the other kind as often inside the 90 % band as a run of the same kind?
    firsts = [envs[i][0] for i in range(len(kinds))]
    runs = [calibration.Run(0.0, timings) for timings in firsts]
    band_rows = ["| pairs of runs | pairs | outside the 90 % band |", "|---|---|---|"]
    for first, second in (("alone", "alone"), ("beside", "beside"), ("alone", "beside")):
        pairs = [(i, j) for i, j in itertools.combinations(range(len(runs)), 2) if {kinds[i], kinds[j]} ==
                 {first, second} and (first != second or kinds[i] == first)]
        if pairs:
            cover = calibration.check(runs, pairs, bands)
            band_rows.append(f"| {first} and {second} | {len(pairs)} | {1 - cover.measured():.1%} of "
                             f"{sum(cover.total.values())} |")
    inside = [row for row in within_run(units) if kinds[row[0]] == "beside"]
    called, total = sum(d for _, _, d, _ in inside), sum(n for _, n, _, _ in inside)
    text = "\n".join([
        f"{kinds.count('alone')} runs alone and {kinds.count('beside')} beside the other half, alternating, "
        f"{folders[0].name.split('-', 1)[1]} to {folders[-1].name.split('-', 1)[1]} (UTC).", "", *rows, "",
        *band_rows, "",
        f"A/A within the runs beside the other half (environments a and b, the one rule): {called} of {total} "
        f"timings called different ({called / max(1, total):.1%})."])
    print(text)
    return text


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="alternate runs alone and beside the other half")
    run.add_argument("--pairs", type=int, default=3, help="how many pairs of runs (default: %(default)s)")
    run.add_argument("--out", default=str(ROOT / ".asv" / "two-cores"), help="where the runs go (default: %(default)s)")
    analyse = sub.add_parser("analyse", help="compare the two kinds of run")
    analyse.add_argument("folder", help="the --out folder of run")
    analyse.add_argument("--profile", default=str(ROOT / "recorded" / "noise" / "vm-intervals.json"),
                         help="the machine's bands (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.command == "run":
        return cmd_run(args)
    cmd_analyse(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
