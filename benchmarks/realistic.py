"""Does the answer hold at the size users have? Every use case on a portal-sized phantom, on every core.

The default data (128³, one core) shows per-chunk costs and carries the release history; a
tomogram on the CryoET Data Portal is hundreds of MB, read by programs that use every core. This
tier answers ``zarr-cryoet recommend`` at :data:`SHAPE` (by default the shape of dataset 10445's run
TS_100_3: 630 × 630 × 184 voxels, 292 MB), on every core of the machine (zarr 3 decodes chunks
concurrently; on one core it cannot):

* ``UseCases``: each use case's reads (:mod:`zarr_cryoet.measure.object_traffic`'s workloads: the
  middle XY plane, the three orthogonal planes, 16 particle boxes of 32³ and of 64³, the whole
  volume) on :data:`USE_CASE_LAYOUTS` (the portal's own 256³ chunks among them), plain chunks on format 2 and
  shards on format 3;
* ``UseCasesV3``: the same reads of the plain chunks of :data:`USE_CASE_LAYOUTS` on format 3 (does the format
  matter at the size users have?);
* ``ObjectStorage``: the XY plane and the whole volume from S3 on loopback (20 ms per request, 1 Gbit/s),
  through zarr-python + obstore and tensorstore, on the S3 tier's two layouts, the portal's 256³ chunks and
  16×128×128 (:data:`S3_LAYOUTS_HERE`);
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
nearest (:mod:`zarr_cryoet.answer.scaling`); ``recommend --source phantom --size Z,Y,X`` measures there instead.
The portal's 256³ chunks, ``UseCasesV3`` and the two S3 layouts added for issue 32 cost, per zarr 3 environment,
six more portal-size stores in the setup cache (~35 s here) and ~2 min 15 s of reads (~65 s of them from S3),
measured on zarr 3.4.2 with the machine shared (load ~5 on 2 cores); on zarr 2.18.7 only the 256³ store and its
reads (format 3 and the S3 clients of this tier are skips there).

With the default data the tier's volume is the phantom at :data:`SHAPE`; with other data (``ZARR_CRYOET_SOURCE``,
or ``zarr-cryoet recommend --source``) it is that data, as loaded (a crop, or with ``--size full`` the whole
volume). A focused run (``ZARR_CRYOET_FOCUSED``, set by :mod:`zarr_cryoet.tracking.focused_run`) runs only
``UseCases`` and ``UseCasesV3``, so its setup cache builds only their stores; with an ``s3://`` source read whole,
``InPlace`` also reads the source's own store where it is (defined only then).
"""


import os
from dataclasses import replace

from zarr_cryoet.asv.config import FOCUSED_ENV
from zarr_cryoet.data import sources
from zarr_cryoet.store import stores
from . import common
from .object_storage import CLIENT_GRID as S3_CLIENTS, CHUNKINGS as S3_LAYOUTS, S3ReadBenchmark, workload
from .suite import (FULL_VOLUME, FormatFollowsChunks, LayoutSuite, ReadBenchmark, _timed, middle_plane, on_every_core,
                    plain_v2_sharded_v3)

#: the tier's volume with the default data; ``ZARR_CRYOET_REALISTIC_SHAPE=ZxYxX`` changes it (the tests use a small one)
SHAPE = os.environ.get("ZARR_CRYOET_REALISTIC_SHAPE", "").strip() or "184x630x630"
#: the default data: the phantom at :data:`SHAPE`; other data (``ZARR_CRYOET_SOURCE``, a focused run): that data
OWN_DATA = common.REQUEST.spec != sources.DEFAULT_SOURCE
REQUEST = common.REQUEST if OWN_DATA else sources.SourceRequest.parse(f"phantom:{SHAPE}")
DATA = [REQUEST.identity()]
#: a focused run (``recommend --source`` on a whole volume) measures the use cases only: its setup cache builds
#: their stores and nothing else
FOCUSED = os.environ.get(FOCUSED_ENV, "").strip() not in ("", "0")
#: an ``s3://`` source read whole: its use cases are also read in place, from the object store (``InPlace``)
IN_PLACE = REQUEST.kind == "s3" and REQUEST.size is None
LAYOUTS_RUN = ["64x64x64", "128x128x128", "64x64x64/128x128x128"]
#: the portal's own chunks (clipped to the volume, as the portal does: :func:`as_stored`)
PORTAL_CHUNKS = "256x256x256"
#: the chunking question's default grid without 16³ chunks (see above), and the portal's own chunks
USE_CASE_LAYOUTS = ["32x32x32", "64x64x64", "128x128x128", "16x128x128", "32x32x32/128x128x128",
                    "64x64x64/128x128x128", "16x128x128/128x128x128", PORTAL_CHUNKS]
#: the plain chunks of :data:`USE_CASE_LAYOUTS`, also on format 3 (``UseCasesV3``)
PLAIN_USE_CASE_LAYOUTS = [c for c in USE_CASE_LAYOUTS if "/" not in c]
#: the use cases' reads (object_traffic's workloads), by timed method
USE_CASE_READS = {"time_read_slice_xy": "xy", "time_read_orthogonal": "orthogonal",
                  "time_read_particle_boxes": "box32", "time_read_particle_boxes_64": "box64",
                  "time_read_full": "full"}
#: zarr-python's own reader and the fastest one of the S3 tier at 128³
S3_CLIENTS_HERE = [c for c in ("zarr-python+obstore", "tensorstore") if c in S3_CLIENTS]
#: the S3 tier's two layouts, and the candidates users have: the portal's 256³ chunks and 16×128×128
S3_LAYOUTS_HERE = [*S3_LAYOUTS, PORTAL_CHUNKS, "16x128x128"]

suite = LayoutSuite({"chunks": LAYOUTS_RUN, "zarr_format": [2, 3]}, data=DATA, codec="blosc-zstd",
                    measured=plain_v2_sharded_v3)
use_cases = FormatFollowsChunks({"chunks": USE_CASE_LAYOUTS}, data=DATA, codec="blosc-zstd")
use_cases_v3 = LayoutSuite({"chunks": PLAIN_USE_CASE_LAYOUTS}, data=DATA, codec="blosc-zstd", zarr_format=3)
object_storage = FormatFollowsChunks({"chunks": S3_LAYOUTS_HERE, "client": S3_CLIENTS_HERE}, data=DATA,
                                     codec="blosc-zstd")
#: what the setup cache builds: every layout of the tier, or in a focused run the use cases' only
LAYOUTS = list(dict.fromkeys(use_cases.layouts + use_cases_v3.layouts if FOCUSED else
                             suite.layouts + use_cases.layouts + use_cases_v3.layouts + object_storage.layouts))


def as_stored(layout: stores.Layout, shape) -> stores.Layout:
    """The portal's 256³ chunks clipped to the volume, as the portal stores them (184×256×256 at 184×630×630:
    :mod:`zarr_cryoet.data.ome_zarr`); every other layout as it is (one larger than the volume is a skip)."""
    if layout.shards is None and layout.chunks == stores.parse_chunks(PORTAL_CHUNKS):
        return replace(layout, chunks=tuple(min(c, n) for c, n in zip(layout.chunks, shape)))
    return layout


@common.built_once
def setup_cache():
    loaded = sources.load(REQUEST)
    stored = {layout: as_stored(layout, loaded.volume.shape) for layout in LAYOUTS}
    cache = common.write_reference(loaded, list(stored.values()))
    for key in ("stores", "skipped"):  # under the layouts the benchmarks name
        cache[key] = {layout: cache[key][built] for layout, built in stored.items() if built in cache[key]}
    return cache


def _own_cache(cls):
    """The tier's own setup cache (its own volume), every core."""
    cls = on_every_core(cls)
    cls.setup_cache = staticmethod(setup_cache)
    return cls


Write = _own_cache(suite.write_class(common.LONG))
Read = _own_cache(suite.read_class(common.SLOW, time_read_full=FULL_VOLUME, time_read_slice_xy=middle_plane("xy")))
UseCases = _own_cache(use_cases.read_class(common.REMOTE, name="UseCases",
                                           **{method: workload(w) for method, w in USE_CASE_READS.items()}))
UseCasesV3 = _own_cache(use_cases_v3.read_class(common.REMOTE, name="UseCasesV3",
                                                **{method: workload(w) for method, w in USE_CASE_READS.items()}))
ObjectStorage = _own_cache(object_storage.read_class(common.REMOTE, name="ObjectStorage", base=S3ReadBenchmark,
                                                     time_read_xy=workload("xy"), time_read_full=workload("full")))


_in_place_arrays: dict = {}


def _in_place(request) -> object:
    """The source's own array on its object store (opened once per process), as :mod:`zarr_cryoet.data.readers`
    opens it (level ``request.level`` of an OME-Zarr image, or a plain array; the endpoint ``$AWS_ENDPOINT_URL``)."""
    from zarr_cryoet.data.readers import _open_level

    if request.spec not in _in_place_arrays:
        _in_place_arrays[request.spec] = _open_level(request.location, request.level)[0]
    return _in_place_arrays[request.spec]


if IN_PLACE:
    @common.sampled(common.REMOTE)
    class InPlace(ReadBenchmark):
        """The use cases' reads of an ``s3://`` source's own array, in place on its object store (as stored: its
        chunks, its format, its network), by zarr-python over s3fs on every core; each read checked against the
        volume loaded once. Only with an ``s3://`` source read whole (a focused run's default)."""

        params = (DATA,)
        param_names = ["data"]
        readers = {method: workload(w) for method, w in USE_CASE_READS.items()}
        setup_cache = staticmethod(setup_cache)

        def setup(self, cache, *params):
            common.use_every_core()
            self.expected = self.result = None
            self.volume = common.reference_volume(cache)
            self.array = _in_place(REQUEST)
            self.selections = {name: how(self.volume.shape, cache, {}) for name, how in self.readers.items()}

    for _method in USE_CASE_READS:
        setattr(InPlace, _method, _timed(_method))
