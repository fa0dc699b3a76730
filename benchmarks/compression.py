"""Which codec? Write time, read time, compression ratio and bytes on disk per codec.

Every codec is benchmarked with the same 64³ chunks on zarr formats 2 and 3
(format 3 is skipped on zarr 2.x, which cannot write it).
"""

from zarr_cryoet.store.codecs import CODEC_NAMES
from zarr_cryoet.store.stores import ZARR_FORMATS, Layout

from . import common

CHUNKS = (64, 64, 64)
PARAMS = (common.DATA, list(CODEC_NAMES), list(ZARR_FORMATS))
PARAM_NAMES = ["data", "codec", "zarr_format"]


def layout_for(data, codec, zarr_format):
    return Layout(codec, CHUNKS, zarr_format)


def setup_cache():
    return common.build_cache([layout_for(common.DATA[0], c, f) for c in CODEC_NAMES for f in ZARR_FORMATS])


setup_cache.timeout = common.SETUP_CACHE_TIMEOUT


class Write(common.WriteBenchmark):
    params, param_names = PARAMS, PARAM_NAMES
    layout_for = staticmethod(layout_for)

    def time_write(self, cache, data, codec, zarr_format):
        self.write()


class Read(common.ReadBenchmark):
    params, param_names = PARAMS, PARAM_NAMES
    layout_for = staticmethod(layout_for)

    def time_read(self, cache, data, codec, zarr_format):
        self.read(...)


class Storage(common.StorageBenchmark):
    """Sizes measured from the files of the reference stores."""

    params, param_names = PARAMS, PARAM_NAMES
    layout_for = staticmethod(layout_for)

    def track_compression_ratio(self, cache, data, codec, zarr_format):
        return self.stats.compression_ratio(self.volume_bytes)

    track_compression_ratio.unit = "ratio"

    def track_stored_bytes(self, cache, data, codec, zarr_format):
        return self.stats.stored_bytes

    track_stored_bytes.unit = "bytes"
