"""The proof of the count alarm: clean runs' spread, and a fixed amount of extra work flagged.

    .venv/bin/python tools/count_proof.py run [--runs 11] [--env zarr3.1.6] [--out recorded/count-proof]
    .venv/bin/python tools/count_proof.py analyse [--out recorded/count-proof]

``run`` counts the cases of the timed classes in :data:`CLASSES` (every environment of asv.conf.json that
an ``asv run`` of this commit has set up, with its setup cache) ``--runs`` times clean, each a fresh
valgrind process (:mod:`zarr_cryoet.measure.class_counts`), then twice more with a fixed number of
extra instructions inside every counted call: 2 % and 5 % of the case's count in the first clean run
(a loop of :func:`class_counts.busy`, its cost per iteration counted in the same Python). ``analyse``
applies the alarm's one rule (:data:`regressions.INSTRUCTIONS_CHANGE`) to consecutive clean runs (false
alarms) and to each injected run against the last clean run (detections); the threshold was set from
other runs (the two of docs/measurement.md's spread table), so no run here both sets it and is judged.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import pickle
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from zarr_cryoet.measure import class_counts  # noqa: E402
from zarr_cryoet.asv import process as asv_process  # noqa: E402
from zarr_cryoet.tracking import regressions

CLASSES = [("access", "Read")]
INJECTED = (0.02, 0.05)


def environments() -> list[tuple[str, str, dict]]:
    """(name, python, setup cache) of every environment with a shared setup cache of the newest commit."""
    found = []
    for label, path in asv_process.environment_dirs(ROOT / ".asv" / "env").items():
        caches = sorted((ROOT / ".asv" / "setup-cache" / label).glob("*-common.setup_cache-*/setup-cache.pickle"),
                        key=lambda p: p.stat().st_mtime)
        if caches:
            found.append((label, str(path / "bin" / "python"), pickle.loads(caches[-1].read_bytes())))
    return found


def run(out: Path, runs: int, only: str) -> None:
    os.environ["PYTHONPATH"] = str(ROOT)  # this checkout's zarr_cryoet in the environments' Pythons
    sys.path.insert(0, str(ROOT))
    out.mkdir(parents=True, exist_ok=True)
    for label, python, cache in environments():
        if only not in label:
            continue
        per_iteration = class_counts.loop_cost(python)
        for module_name, name in CLASSES:
            module = importlib.import_module(f"benchmarks.{module_name}")
            clean = []
            for i in range(runs):
                clean.append(class_counts.count_class(module, name, cache, python=python))
                print(f"{label} {module_name}.{name}: clean run {i + 1} of {runs}", flush=True)
            injected = {}
            for fraction in INJECTED:
                loops = {k: round(fraction * v / per_iteration) for k, v in clean[0].items()}
                injected[str(fraction)] = class_counts.count_class(module, name, cache, python=python, inject=loops)
                print(f"{label} {module_name}.{name}: +{fraction:.0%} injected", flush=True)
            (out / f"{label}-{module_name}.{name}.json").write_text(json.dumps(
                {"env": label, "class": f"{module_name}.{name}", "loop_instructions": per_iteration,
                 "clean": clean, "injected": injected}, indent=1))


def analyse(out: Path) -> None:
    bar = 1 + regressions.INSTRUCTIONS_CHANGE
    print(f"| environment | class | cases | clean pairs | counts beyond ±{bar - 1:.1%} | largest clean change | "
          + " | ".join(f"+{f:.0%} flagged" for f in INJECTED) + " |")
    print("|---|---|---|---|---|---|" + "---|" * len(INJECTED))
    for path in sorted(out.glob("*.json")):
        record = json.loads(path.read_text())
        clean = record["clean"]
        pairs = list(zip(clean, clean[1:]))
        ratios = [after[k] / before[k] for before, after in pairs for k in before]
        false = sum(r > bar or r < 1 / bar for r in ratios)
        largest = max(abs(r - 1) for r in ratios)
        flagged = []
        for fraction in INJECTED:
            injected = record["injected"][str(fraction)]
            hits = sum(injected[k] / clean[-1][k] > bar for k in clean[-1])
            flagged.append(f"{hits} of {len(clean[-1])}")
        print(f"| {record['env']} | {record['class']} | {len(clean[0])} | {len(pairs)} | {false} of {len(ratios)} "
              f"| {largest:.2%} | " + " | ".join(flagged) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=["run", "analyse"])
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--out", type=Path, default=ROOT / "recorded" / "count-proof")
    parser.add_argument("--env", default="", help="only the environments whose name contains this")
    args = parser.parse_args()
    run(args.out, args.runs, args.env) if args.step == "run" else analyse(args.out)


if __name__ == "__main__":
    main()
