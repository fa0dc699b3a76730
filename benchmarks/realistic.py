"""Does the answer hold at the size users have? Every use case on a portal-sized phantom, on every core.

The default data (128³, one core) shows per-chunk costs and carries the release history; a
tomogram on the CryoET Data Portal is hundreds of MB, read by programs that use every core. This
tier answers ``zarr-cryoet recommend`` at :data:`SHAPE` (by default the shape of dataset 10445's run
TS_100_3: 630 × 630 × 184 voxels, 292 MB), on every core of the machine (zarr 3 decodes chunks
concurrently; on one core it cannot):

* ``UseCases``: each use case's reads (:mod:`zarr_cryoet.measure.object_traffic`'s workloads: the
  middle XY plane, the three orthogonal planes, 16 particle boxes of 32³ and of 64³, the whole
  volume) on :data:`USE_CASE_LAYOUTS`, plain chunks on format 2 and shards on format 3;
* ``ObjectStorage``: the XY plane and the whole volume from S3 on loopback (20 ms per request, 1 Gbit/s),
  through zarr-python + obstore and tensorstore, on the S3 tier's two layouts;
* ``Write`` and ``Read``: the write, the full read and the XY plane of 64³ and 128³ chunks (format 2) and 64³
  chunks in 128³ shards (format 3) on both formats: the tier's history since it began (names and parameters
  unchanged).

**What runs at which size, and why** (the default run's budget): the use-case layouts are the
chunking question's default grid without 16³ chunks (19 200 chunks at this size: 21 s to write per
environment here, and the slowest layout for every read at 128³ already); two processes per
combination (:data:`~zarr_cryoet.stats.schedule.REMOTE`: a combination's fastest process was within
8 % of the third's in 98 % of 54 cases), since asv starts a process per combination. Everything else
(codecs, lossy settings, engines, HTTP, cold caches, the S3 clients and traffic) runs at 128³ only,
where per-chunk costs show and a run takes minutes. ``recommend --shape`` scales from the size measured
nearest (:mod:`zarr_cryoet.answer.scaling`).

This tier runs only with the default data (with ``ZARR_CRYOET_SOURCE`` set, the user's own data is the
realistic case).
"""

import os

from zarr_cryoet.data import sources
from . import common
from .object_storage import CLIENT_GRID as S3_CLIENTS, CHUNKINGS as S3_LAYOUTS, S3ReadBenchmark, workload
from .suite import FULL_VOLUME, FormatFollowsChunks, LayoutSuite, middle_plane, on_every_core, plain_v2_sharded_v3

#: the tier's volume; ``ZARR_CRYOET_REALISTIC_SHAPE=ZxYxX`` changes it (the tests use a small one)
SHAPE = os.environ.get("ZARR_CRYOET_REALISTIC_SHAPE", "").strip() or "184x630x630"
REQUEST = sources.SourceRequest.parse(f"phantom:{SHAPE}")
DATA = [REQUEST.identity()]
LAYOUTS_RUN = ["64x64x64", "128x128x128", "64x64x64/128x128x128"]
#: the chunking question's default grid without 16³ chunks (see above)
USE_CASE_LAYOUTS = ["32x32x32", "64x64x64", "128x128x128", "16x128x128", "32x32x32/128x128x128",
                    "64x64x64/128x128x128", "16x128x128/128x128x128"]
#: the use cases' reads (object_traffic's workloads), by timed method
USE_CASE_READS = {"time_read_slice_xy": "xy", "time_read_orthogonal": "orthogonal",
                  "time_read_particle_boxes": "box32", "time_read_particle_boxes_64": "box64",
                  "time_read_full": "full"}
#: zarr-python's own reader and the fastest one of the S3 tier at 128³
S3_CLIENTS_HERE = [c for c in ("zarr-python+obstore", "tensorstore") if c in S3_CLIENTS]

suite = LayoutSuite({"chunks": LAYOUTS_RUN, "zarr_format": [2, 3]}, data=DATA, codec="blosc-zstd",
                    measured=plain_v2_sharded_v3)
use_cases = FormatFollowsChunks({"chunks": USE_CASE_LAYOUTS}, data=DATA, codec="blosc-zstd")
object_storage = FormatFollowsChunks({"chunks": S3_LAYOUTS, "client": S3_CLIENTS_HERE}, data=DATA, codec="blosc-zstd")
LAYOUTS = list(dict.fromkeys(suite.layouts + use_cases.layouts + object_storage.layouts))
ENABLED = common.REQUEST.spec == sources.DEFAULT_SOURCE


@common.built_once
def setup_cache():
    if not ENABLED:
        return {"stores": {}, "skipped": {}, "disabled": True}
    return common.write_reference(sources.load(REQUEST), LAYOUTS)


def _own_cache(cls):
    """The tier's own setup cache (its own volume), every core; with other data than the default, a skip."""
    base_setup = on_every_core(cls).setup

    def setup(self, cache, *params):
        if cache.get("disabled"):
            raise NotImplementedError("the realistic-size tier runs with the default data only")
        base_setup(self, cache, *params)

    cls.setup = setup
    cls.setup_cache = staticmethod(setup_cache)
    return cls


Write = _own_cache(suite.write_class(common.LONG))
Read = _own_cache(suite.read_class(common.SLOW, time_read_full=FULL_VOLUME, time_read_slice_xy=middle_plane("xy")))
UseCases = _own_cache(use_cases.read_class(common.REMOTE, name="UseCases",
                                           **{method: workload(w) for method, w in USE_CASE_READS.items()}))
ObjectStorage = _own_cache(object_storage.read_class(common.REMOTE, name="ObjectStorage", base=S3ReadBenchmark,
                                                     time_read_xy=workload("xy"), time_read_full=workload("full")))
