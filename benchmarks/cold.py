"""Warm or cold: a local read with the store's files in the page cache, and with them dropped.

Every other local read here is warm (the files in the page cache), so it measures decoding. A user who
opens a tomogram for the first time also pays the disk. ``Read`` times the same reads both ways
(``cache``): ``warm`` as everywhere else, ``cold`` with the store's files dropped from the page cache
before every call (``posix_fadvise(POSIX_FADV_DONTNEED)``, no root needed), and the drop checked with
``mincore`` before the call is timed: a store that is still partly cached fails the benchmark
(:mod:`zarr_cryoet.store.page_cache`). Cold minus warm is what storage costs. One call per sample
(``number = 1``), so no timed call reads what the one before it brought into the cache.

On this VM the "disk" is a virtio device whose host may itself cache the file: cold here is the guest's
page cache dropped, not a spinning disk (docs/methodology.md). Layouts: the 128³ phantom in 16³ and 64³
chunks (format 2) and 32³ chunks in 128³ shards (format 3), all from chunking's reference stores.
"""

from zarr_cryoet.store import page_cache

from . import common
from .suite import FULL_VOLUME, LayoutSuite, ReadBenchmark, middle_plane, plain_v2_sharded_v3

CHUNKINGS = ["16x16x16", "64x64x64", "32x32x32/128x128x128"]
CACHES = ["warm", "cold"]
suite = LayoutSuite({"chunks": CHUNKINGS, "zarr_format": [2, 3], "cache": CACHES}, codec="blosc-zstd",
                    measured=plain_v2_sharded_v3)
LAYOUTS = suite.layouts


class _CacheRead(ReadBenchmark):
    """A read as :class:`ReadBenchmark` times it; with ``cache == "cold"`` the store's files leave the page
    cache in ``setup``, which asv runs before every sample (one call each)."""

    number = 1

    def setup(self, cache, *params):
        super().setup(cache, *params)
        named = self._params(params)
        if named["cache"] == "cold":
            store = common.reference_store(cache, self.suite.layout(named))
            page_cache.evict(store)
            left = page_cache.resident_fraction(store)
            if left > 0:
                raise RuntimeError(f"{left:.1%} of {store} is still in the page cache after the drop")


Read = suite.read_class(base=_CacheRead, time_read_full=FULL_VOLUME, time_read_slice_xy=middle_plane("xy"))
