"""Which compression settings? Blosc cname × clevel × shuffle, and zstd and gzip levels (a long sweep).

53 settings (:data:`zarr_cryoet.store.codecs.SWEEP_CODECS`): Blosc with zstd, lz4,
lz4hc, zlib and blosclz at clevel 1, 5 and 9 without shuffle, with byte
shuffle and with bit shuffle; zstd at levels 1, 3, 5, 9 and 19; gzip at 1, 5
and 9. All with 64³ chunks on zarr format 2, which every zarr in the matrix
writes with the same numcodecs, so the sweep compares codecs, not formats.

Not part of the default run (``python3 tasks.py benchmark`` and the nightly
job leave it out); select it with ``python3 tasks.py benchmark --bench
codec_sweep`` or ``asv run --bench codec_sweep``.
"""

from zarr_cryoet.store.codecs import SWEEP_CODECS
from zarr_cryoet.store.stores import Layout

from . import common

CHUNKS = (64, 64, 64)
ZARR_FORMAT = 2
PARAMS = (common.DATA, list(SWEEP_CODECS))
PARAM_NAMES = ["data", "codec"]


def layout_for(data, codec):
    return Layout(codec, CHUNKS, ZARR_FORMAT)


def setup_cache():
    return common.build_cache([layout_for(common.DATA[0], c) for c in SWEEP_CODECS])


setup_cache.timeout = common.SETUP_CACHE_TIMEOUT


class Write(common.WriteBenchmark):
    params, param_names = PARAMS, PARAM_NAMES
    layout_for = staticmethod(layout_for)

    def time_write(self, cache, data, codec):
        self.write()


class Read(common.ReadBenchmark):
    params, param_names = PARAMS, PARAM_NAMES
    layout_for = staticmethod(layout_for)

    def time_read(self, cache, data, codec):
        self.read(...)


class Storage(common.StorageBenchmark):
    params, param_names = PARAMS, PARAM_NAMES
    layout_for = staticmethod(layout_for)

    def track_compression_ratio(self, cache, data, codec):
        return self.stats.compression_ratio(self.volume_bytes)

    track_compression_ratio.unit = "ratio"
