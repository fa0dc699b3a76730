#!/usr/bin/env python3
"""A/A runs for ``zarr-cryoet intervals``: one zarr release in two asv environments that differ by nothing that
matters (``ZARR_CRYOET_AA=a`` / ``b`` in asv's matrix), run back to back, each run's result files kept apart.

    python3 tools/aa_runs.py --runs 40 --out .asv/aa-runs            # ~2-3 min a run here (chunking reads, writes)
    .venv/bin/zarr-cryoet intervals .asv/aa-runs/run-* --save recorded/noise/vm-intervals.json

Every run is a real ``asv run`` of this checkout's HEAD with the suite's options (``--interleave-rounds
--record-samples``, the benchmarks on core 1), so the two environments' processes alternate within a run, and the
runs, minutes to hours apart, show how the machine moves between runs. ``touch OUT/STOP`` ends the loop after the
current run. Needs ``.venv`` (``python3 tasks.py recommend`` makes it). Standard library only.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from zarr_cryoet.asv import config as asv_config  # noqa: E402  (stdlib only)

CONFIG = ROOT / ".asv" / "asv.aa.conf.json"
RESULTS = ROOT / ".asv" / "results-aa"
MACHINE = "vm-aa"


def write_config(zarr: str) -> Path:
    """asv.conf.json with a matrix of ``zarr`` alone, twice: ``ZARR_CRYOET_AA`` a and b."""
    conf = asv_config.load(ROOT / "asv.conf.json")
    conf["matrix"] = {"req": {"zarr": [zarr]}, "env": {"ZARR_CRYOET_AA": ["a", "b"]}}
    conf.pop("include", None)
    conf.update(repo=str(ROOT), benchmark_dir=str(ROOT / "benchmarks"), env_dir=str(ROOT / ".asv" / "env-aa"),
                results_dir=str(RESULTS), html_dir=str(ROOT / ".asv" / "html-aa"))
    CONFIG.parent.mkdir(parents=True, exist_ok=True)
    CONFIG.write_text(json.dumps(conf, indent=1))
    return CONFIG


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=40, help="how many runs (default: %(default)s)")
    parser.add_argument("--out", default=str(ROOT / ".asv" / "aa-runs"), help="where the runs go (default: %(default)s)")
    parser.add_argument("--zarr", default="3.1.6", help="the zarr release of both environments (default: %(default)s)")
    parser.add_argument("--bench", default=r"^chunking\.(Read|Write)\.",
                        help="asv --bench regex (default: %(default)s: reads of 5 processes, writes of 3)")
    parser.add_argument("--pause", type=float, default=0, help="minutes between runs (default: none)")
    args = parser.parse_args(argv)
    asv = ROOT / ".venv" / "bin" / "asv"
    if not asv.exists():
        sys.exit("aa_runs: error: .venv has no asv; run python3 tasks.py recommend once to make it")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    config = write_config(args.zarr)
    subprocess.run([str(asv), "machine", "--yes", "--machine", MACHINE], check=True, stdout=subprocess.DEVNULL)
    for i in range(1, args.runs + 1):
        if (out / "STOP").exists():
            break
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        folder = out / f"run-{stamp}"
        log = out / f"run-{stamp}.log"
        with log.open("w") as sink:
            status = subprocess.run([str(asv), "run", "--config", str(config), "--show-stderr",
                                     *asv_config.RUN_ARGS, "--cpu-affinity", "1", "--machine", MACHINE,
                                     "--bench", args.bench, "HEAD^!"], cwd=ROOT, stdout=sink, stderr=sink).returncode
        folder.mkdir()
        for path in (RESULTS / MACHINE).glob("*.json"):
            shutil.move(str(path), folder / path.name) if path.name != "machine.json" else shutil.copy(path, folder)
        shutil.copy(RESULTS / "benchmarks.json", out / "benchmarks.json")
        shutil.rmtree(asv_config.setup_cache_root(ROOT / ".asv" / "env-aa"), ignore_errors=True)
        print(f"run {i}/{args.runs}: {folder.name} (asv exit {status})", flush=True)
        if args.pause and i < args.runs:
            time.sleep(args.pause * 60)
    return 0


if __name__ == "__main__":
    sys.exit(main())
