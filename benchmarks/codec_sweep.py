"""Which compression settings? Blosc cname × clevel × shuffle, and zstd and gzip levels (a long sweep).

53 settings (:data:`zarr_cryoet.store.codecs.SWEEP_CODECS`): Blosc with zstd, lz4,
lz4hc, zlib and blosclz at clevel 1, 5 and 9 without shuffle, with byte shuffle and
with bit shuffle; zstd at levels 1, 3, 5, 9 and 19; gzip at 1, 5 and 9. All with 64³
chunks on zarr format 2, which every zarr in the matrix writes with the same
numcodecs, so the sweep compares codecs, not formats.

Not part of the default run (``python3 tasks.py benchmark`` and the nightly job leave
it out); select it with ``python3 tasks.py benchmark --bench codec_sweep``. It has its
own setup cache, built only when it runs.
"""

from zarr_cryoet.store.codecs import SWEEP_CODECS

from . import common
from .suite import FULL_VOLUME, LayoutSuite

suite = LayoutSuite({"codec": list(SWEEP_CODECS)}, chunks="64x64x64", zarr_format=2)
LAYOUTS = suite.layouts


def setup_cache():
    return common.build_cache(LAYOUTS)


setup_cache.timeout = common.SETUP_CACHE_TIMEOUT

Write = suite.write_class()
Read = suite.read_class(time_read=FULL_VOLUME)
Storage = suite.storage_class("compression_ratio")
for _cls in (Write, Read, Storage):
    _cls.setup_cache = staticmethod(setup_cache)
