"""recommend's portal-size table by a plain loop outside asv, beside the recorded run's values.

    .venv/bin/python tools/portal_use_cases.py WORKDIR ENV_PYTHON PROCESSES [RESULTS]

ENV_PYTHON is a Python with zarr_cryoet and the zarr release to check (e.g. an asv environment of the matrix).
WORKDIR gets the 184×630×630 phantom and its stores in ``realistic.USE_CASE_LAYOUTS`` once (not timed). Each of
PROCESSES rounds starts a fresh process per layout, in alternating order, on every core, as
``realistic.UseCases`` does; each reads every use case's selections (``object_traffic``'s workloads) once after
a warm-up, every read checked against the volume. Printed per use case and layout: the fastest process (the
suite's statistic), asv's value from RESULTS (default: recorded/results, the newest zarr) and their ratio, and
each use case's best layout by both. Outside asv on purpose: the cross-check of the README's answer.
"""
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.realistic import USE_CASE_LAYOUTS, USE_CASE_READS  # noqa: E402

CHILD = r'''
import sys, time, json, numpy as np
from zarr_cryoet.measure import object_traffic
from zarr_cryoet.store import stores
path, volume_path, particles_path = sys.argv[1:4]
workloads = sys.argv[4].split(",")
volume = np.load(volume_path); particles = np.load(particles_path)
array = stores.open_store(path)
out = {}
for name in workloads:
    selections = object_traffic.selections(name, volume.shape, particles)
    [array[s] for s in selections]  # warm-up
    t = time.perf_counter(); data = [array[s] for s in selections]; out[name] = time.perf_counter() - t
    assert all(np.array_equal(d, volume[s]) for d, s in zip(data, selections)), name
print(json.dumps(out))
'''
PREP = r'''
import sys, numpy as np
from zarr_cryoet.data import sources
from zarr_cryoet.store.stores import Layout, write_store
out, specs = sys.argv[1], sys.argv[2].split(",")
loaded = sources.load(sources.SourceRequest.parse("phantom:184x630x630"))
np.save(f"{out}/volume.npy", loaded.volume); np.save(f"{out}/particles.npy", loaded.particles)
for spec in specs:
    fmt = 3 if "/" in spec else 2
    write_store(f"{out}/{spec.replace('/', '_')}.zarr", loaded.volume, Layout.from_spec("blosc-zstd", spec, fmt))
'''


def main() -> None:
    work, python, processes = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    results_dir = sys.argv[4] if len(sys.argv) > 4 else str(ROOT / "recorded" / "results")
    work.mkdir(parents=True, exist_ok=True)
    if not (work / "volume.npy").exists():
        subprocess.run([python, "-c", PREP, str(work), ",".join(USE_CASE_LAYOUTS)], check=True)
    workloads = list(USE_CASE_READS.values())
    times: dict = {}
    for i in range(processes):
        for spec in (USE_CASE_LAYOUTS if i % 2 == 0 else USE_CASE_LAYOUTS[::-1]):
            store = str(work / f"{spec.replace('/', '_')}.zarr")
            out = json.loads(subprocess.run([python, "-c", CHILD, store, str(work / "volume.npy"),
                                             str(work / "particles.npy"), ",".join(workloads)],
                                            check=True, capture_output=True, text=True).stdout)
            for name, seconds in out.items():
                times.setdefault((name, spec), []).append(seconds)
    from zarr_cryoet.asv.results import ReportResults

    results = ReportResults.load(results_dir)
    env, data = results.newest, results.choices("realistic.UseCases", "data")[0]
    for method, name in USE_CASE_READS.items():
        rows = []
        for spec in USE_CASE_LAYOUTS:
            plain = min(times[(name, spec)])
            asv = results.value(env, f"realistic.UseCases.{method}", data=data, chunks=spec)
            rows.append((spec, plain, asv, max(times[(name, spec)]) / plain))
        for spec, plain, asv, spread in rows:
            print(f"{name:10s} {spec:24s} plain {plain * 1e3:8.1f} ms (slowest ÷ fastest {spread:.2f})  "
                  f"asv {asv * 1e3:8.1f} ms  plain ÷ asv {plain / asv:.2f}")
        print(f"{name:10s} best: plain {min(rows, key=lambda r: r[1])[0]}, asv {min(rows, key=lambda r: r[2])[0]}")


if __name__ == "__main__":
    main()
