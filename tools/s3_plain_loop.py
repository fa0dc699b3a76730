"""Usage: python3 tools/s3_plain_loop.py 3.1.6=<asv env>/bin/python 3.4.2=<asv env>/bin/python (stdlib only).

Plain loop outside asv: the sharded XY plane from S3 (zarr-python + obstore, 20 ms/request), zarr 3.4.2 vs 3.1.6,
the suite's statistic (fastest of the processes; REMOTE schedule 2 x 1, here 4 processes per release, alternating),
one core (taskset -c 1), every read checked."""
import json, subprocess, sys
CHILD = r'''
import os, sys, tempfile, time, json, numpy as np
from pathlib import Path
from zarr_cryoet.data.phantom_cache import load_phantom
from zarr_cryoet.engines.object_storage import get
from zarr_cryoet.store import stores
from zarr_cryoet.store.object_storage import S3Endpoint
from zarr_cryoet.store.shaping_proxy import Shaping
volume = load_phantom((128, 128, 128)).volume
layout = stores.Layout.from_spec("blosc-zstd", "32x32x32/128x128x128", 3)
work = Path(tempfile.mkdtemp())
stores.write_store(work / "s.zarr", volume, layout)
sel = (64, slice(None), slice(None))
with S3Endpoint(Shaping(0.020, 1e9)) as s3:
    s3.put_tree(work / "s.zarr", "s.zarr")
    client = get("zarr-python+obstore")
    with client.session():
        array = client.open(s3, "s.zarr", 3)
        array[sel]  # warm-up
        t = time.perf_counter(); data = array[sel]; seconds = time.perf_counter() - t
assert np.array_equal(data, volume[sel])
print(json.dumps(seconds))
'''
envs = dict(a.split("=") for a in sys.argv[1:])
times = {v: [] for v in envs}
for i in range(4):
    for version in (list(envs) if i % 2 == 0 else list(envs)[::-1]):
        out = subprocess.run(["taskset", "-c", "1", envs[version], "-c", CHILD], capture_output=True, text=True, check=True)
        times[version].append(json.loads(out.stdout.strip().splitlines()[-1]))
for v, t in times.items():
    print(v, "fastest", round(min(t) * 1e3, 1), "ms; processes", [round(x * 1e3, 1) for x in t])
a, b = (min(times[v]) for v in envs)
print("ratio", list(envs)[1], "/", list(envs)[0], round(b / a, 3))
