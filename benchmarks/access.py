"""How is the tomogram read? Random orthogonal slices, particle boxes and a z-slab stream, per layout.

Each pattern (see :mod:`zarr_cryoet.store.access`) is read from local disk
(``Read.time_read``) and, served over HTTP on 127.0.0.1, counted as the cloud
sees it (``Requests``): GET requests for data and the bytes they carry. On an
object store without caching, GETs are what latency and request charges
multiply; the counts do not depend on the machine, only on layout, pattern and
zarr version. ``RemoteRead`` times the same reads over HTTP with a fixed
delay added to every answer (``latency_ms``, a distant object store's round
trip), so what request counts cost in wall time, and how well each zarr
overlaps requests, shows up as time. Layouts: Blosc-Zstd with 64³, 32³ and
(16, 128, 128) chunks on formats 2 and 3, and sharded (format 3) 128³ shards
of 32³ or (16, 128, 128) inner chunks.
"""

import contextlib

from zarr_cryoet.store.access import PATTERNS
from zarr_cryoet.store.remote import count_requests, served_array
from zarr_cryoet.store.stores import ZARR_FORMATS, Layout, parse_chunking

from . import common

CODEC = "blosc-zstd"
CHUNKINGS = ["64x64x64", "32x32x32", "16x128x128", "32x32x32/128x128x128", "16x128x128/128x128x128"]
PARAMS = (common.DATA, CHUNKINGS, list(ZARR_FORMATS), list(PATTERNS))
PARAM_NAMES = ["data", "chunks", "zarr_format", "pattern"]
#: over HTTP with added latency: the viewer's and the sub-tomogram averager's questions
REMOTE_PATTERNS = ["xy", "box32"]
LATENCIES_MS = [20]  # a same-region object store is ~10-30 ms to first byte


def layout_for(data, chunks, zarr_format, pattern=None):
    inner, shards = parse_chunking(chunks)
    if shards and zarr_format != 3:
        raise NotImplementedError("sharding needs zarr format 3")
    return Layout(CODEC, inner, zarr_format, shards)


def setup_cache():
    return common.build_cache([layout_for(common.DATA[0], c, f) for c in CHUNKINGS
                               for f in ZARR_FORMATS if "/" not in c or f == 3])


setup_cache.timeout = common.SETUP_CACHE_TIMEOUT


class Read(common.ReadBenchmark):
    """Every selection of the pattern read in turn from local disk (each one checked)."""

    params, param_names = PARAMS, PARAM_NAMES
    layout_for = staticmethod(layout_for)

    def setup(self, cache, data, chunks, zarr_format, pattern):
        super().setup(cache, data, chunks, zarr_format, pattern)
        self.selections = common.pattern_selections(cache, pattern)

    def time_read(self, cache, data, chunks, zarr_format, pattern):
        self.read_each(self.selections)


class Requests:
    """The same reads over HTTP on 127.0.0.1, counted at the server (each read checked)."""

    params, param_names = PARAMS, PARAM_NAMES
    timeout = common.BENCHMARK_TIMEOUT
    count = None

    def setup(self, cache, data, chunks, zarr_format, pattern):
        path = common.reference_store(cache, layout_for(data, chunks, zarr_format))
        self.count = count_requests(path, common.pattern_selections(cache, pattern),
                                    volume=common.reference_volume(cache))

    def track_get_requests(self, cache, data, chunks, zarr_format, pattern):
        return self.count.data_gets

    track_get_requests.unit = "requests"

    def track_bytes_fetched(self, cache, data, chunks, zarr_format, pattern):
        return self.count.data_bytes

    track_bytes_fetched.unit = "bytes"


class RemoteRead(common.ReadBenchmark):
    """The pattern read over HTTP on 127.0.0.1, every answer delayed by ``latency_ms`` (each read checked).

    The server and the opened array (metadata requests) are set up outside
    the timing; the timed reads pay one delay per request, less what zarr
    overlaps by fetching chunks concurrently.
    """

    params = (common.DATA, CHUNKINGS, list(ZARR_FORMATS), REMOTE_PATTERNS, LATENCIES_MS)
    param_names = [*PARAM_NAMES, "latency_ms"]
    served = None

    def setup(self, cache, data, chunks, zarr_format, pattern, latency_ms):
        self.expected = self.result = None
        path = common.reference_store(cache, layout_for(data, chunks, zarr_format))
        self.volume = common.reference_volume(cache)
        self.selections = common.pattern_selections(cache, pattern)
        self.served = contextlib.ExitStack()
        self.array, _ = self.served.enter_context(served_array(path, latency=latency_ms / 1000))

    def time_read(self, cache, data, chunks, zarr_format, pattern, latency_ms):
        self.read_each(self.selections)

    def teardown(self, cache, *params):
        try:
            super().teardown(cache, *params)
        finally:
            if self.served is not None:
                self.served.close()
                self.served = None
