"""How is the tomogram read, and what does the cloud see? Slices, particle boxes and z-slabs, per layout.

Each pattern (see :mod:`zarr_cryoet.store.access`) is read from local disk
(``Read.time_read``) and, served over HTTP on 127.0.0.1, counted as the cloud sees
it (``Requests``): GET requests for data and the bytes they carry. On an object store
without caching, GETs are what latency and request charges multiply; the counts do
not depend on the machine, only on layout, pattern and zarr version. ``RemoteRead``
times the same reads over HTTP with a fixed delay added to every answer
(``latency_ms``, a distant object store's round trip), so what request counts cost in
wall time, and how well each zarr overlaps requests, shows up as time. Layouts:
Blosc-Zstd with 64³, 32³ and (16, 128, 128) chunks on formats 2 and 3, and sharded
(format 3) 128³ shards of 32³ or (16, 128, 128) inner chunks.

Default grid: the patterns xy, box32 and zslabs (chunking's middle planes cover XZ and YZ), and over slow HTTP the plain 64³
and (16, 128, 128) chunks on format 2 and the sharded 32³ ones (format 3);
``ZARR_CRYOET_FULL=1`` adds xz, yz, box64, and every layout on both formats over HTTP.
"""

from zarr_cryoet.store.access import PATTERNS

from . import common
from .suite import LayoutSuite, ServedRead, StorageBenchmark, access_pattern, plain_v2_sharded_v3

CHUNKINGS = ["64x64x64", "32x32x32", "16x128x128", "32x32x32/128x128x128", "16x128x128/128x128x128"]
PATTERN_GRID = common.grid(default=["xy", "box32", "zslabs"], full=list(PATTERNS))
suite = LayoutSuite({"chunks": CHUNKINGS, "zarr_format": [2, 3], "pattern": PATTERN_GRID}, codec="blosc-zstd")
LAYOUTS = suite.layouts

Read = suite.read_class(time_read=access_pattern())

#: over HTTP with added latency: the viewer's and the sub-tomogram averager's questions
REMOTE_PATTERNS = ["xy", "box32"]
REMOTE_CHUNKINGS = common.grid(default=["64x64x64", "16x128x128", "32x32x32/128x128x128"], full=CHUNKINGS)
LATENCIES_MS = [20]  # a same-region object store is ~10-30 ms to first byte
#: default grid: plain chunks over HTTP on format 2 (the portal's), shards on format 3; full grid: both formats
remote_suite = LayoutSuite({"chunks": REMOTE_CHUNKINGS, "zarr_format": [2, 3], "pattern": REMOTE_PATTERNS},
                           codec="blosc-zstd", measured=None if common.FULL else plain_v2_sharded_v3)


class Requests(StorageBenchmark):
    """The reads over HTTP on 127.0.0.1, counted at the server (deterministic: computed once)."""

    suite = suite
    params, param_names = suite.params, suite.param_names

    def setup(self, cache, data, chunks, zarr_format, pattern):
        layout = suite.layout({"chunks": chunks, "zarr_format": zarr_format})
        self.count = common.counted_requests(cache, layout, pattern)

    def track_get_requests(self, cache, data, chunks, zarr_format, pattern):
        return self.count["data_gets"]

    track_get_requests.unit = "requests"

    def track_bytes_fetched(self, cache, data, chunks, zarr_format, pattern):
        return self.count["data_bytes"]

    track_bytes_fetched.unit = "bytes"


RemoteRead = remote_suite.read_class(common.SLOW, name="RemoteRead", base=ServedRead,
                                     params={"latency_ms": LATENCIES_MS}, time_read=access_pattern())
