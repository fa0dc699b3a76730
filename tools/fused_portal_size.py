"""zarr-python's fused pipeline ÷ its default, full read and XY plane, at portal size (184×630×630), every core.

    python tools/fused_portal_size.py WORKDIR ENV_PYTHON PROCESSES

ENV_PYTHON is a Python with zarr >= 3.3 and zarr_cryoet (an asv environment of the matrix). WORKDIR gets the
phantom and its two stores (64³ v2, 32³ in 128³ shards v3) once. Each of PROCESSES rounds starts a fresh
process per pipeline and store, in alternating order; each reads after a warm-up, 3 times, every read checked
against the volume. Printed: the fastest process of each (the suite's statistic) and the slowest ÷ fastest.
Outside asv on purpose: the cross-check of docs/engines.md, "At portal size".
"""
import json
import subprocess
import sys
from pathlib import Path
work = Path(sys.argv[1]); python = sys.argv[2]; processes = int(sys.argv[3])
CHILD = r'''
import sys, time, json, numpy as np, zarr
from zarr_cryoet import engines
from zarr_cryoet.measure import allocator
engine = engines.get(sys.argv[1]); path = sys.argv[2]; volume = np.load(sys.argv[3], mmap_mode="r")
out = {}
with engine.session():
    array = engine.open(path)
    for name, sel in (("full", (slice(None),) * 3), ("xy", (volume.shape[0] // 2, slice(None), slice(None)))):
        array[sel]
        best = float("inf")
        for _ in range(3):
            t = time.perf_counter(); data = array[sel]; best = min(best, time.perf_counter() - t)
        assert np.array_equal(data, volume[sel])
        out[name] = best
print(json.dumps(out))
'''
PREP = r'''
import sys, numpy as np
from zarr_cryoet.data.phantom_cache import load_phantom
from zarr_cryoet.store.stores import Layout, parse_chunks, write_store
out = sys.argv[1]
volume = load_phantom(parse_chunks("184x630x630")).volume
np.save(f"{out}/volume.npy", volume)
for spec, fmt in (("64x64x64", 2), ("32x32x32/128x128x128", 3)):
    write_store(f"{out}/{spec.replace('/', '_')}_v{fmt}.zarr", volume, Layout.from_spec("blosc-zstd", spec, fmt))
'''
work.mkdir(parents=True, exist_ok=True)
if not (work / "volume.npy").exists():
    subprocess.run([python, "-c", PREP, str(work)], check=True)
results = {}
for i in range(processes):
    for store in ("64x64x64_v2.zarr", "32x32x32_128x128x128_v3.zarr"):
        for engine in (("zarr-python", "zarr-python-fused") if i % 2 == 0 else ("zarr-python-fused", "zarr-python")):
            out = json.loads(subprocess.run([python, "-c", CHILD, engine, str(work / store), str(work / "volume.npy")],
                                            check=True, capture_output=True, text=True).stdout)
            for op, t in out.items():
                results.setdefault((store, op, engine), []).append(t)
for store in ("64x64x64_v2.zarr", "32x32x32_128x128x128_v3.zarr"):
    for op in ("full", "xy"):
        d, f = (min(results[(store, op, e)]) for e in ("zarr-python", "zarr-python-fused"))
        print(f"{store} {op}: default {d*1e3:.1f} ms, fused {f*1e3:.1f} ms, fused/default {f/d:.2f}  "
              f"(spread default {max(results[(store, op, 'zarr-python')])/d:.2f}, fused {max(results[(store, op, 'zarr-python-fused')])/f:.2f})")
