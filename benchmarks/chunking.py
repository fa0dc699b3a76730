"""Which chunk shape, and should it be sharded? Writes, reads, slices, particle boxes and file counts.

Cubic chunks from 16³ to 128³ plus the slice-friendly (16, 128, 128), all with
Blosc-Zstd, on zarr formats 2 and 3; and, on format 3 only (zarr >= 3),
shards holding those inner chunks, written ``INNER/SHARD`` (e.g.
``32x32x32/128x128x128``: 128³ shards, one file each, of 32³ inner chunks).
Shards larger than the volume are skipped (NaN): (32, 256, 256) shards need
``phantom:256`` or more. Slices are the middle planes: XY (what a viewer
shows), XZ and YZ (side views through the missing wedge); particle boxes are
the 32³ boxes of :mod:`zarr_cryoet.store.access`.
"""

from zarr_cryoet.store.stores import ZARR_FORMATS, Layout, parse_chunking

from . import common

CODEC = "blosc-zstd"
CHUNK_SHAPES = ["16x16x16", "32x32x32", "64x64x64", "128x128x128", "16x128x128"]
SHARDED = ["32x32x32/128x128x128", "64x64x64/128x128x128", "16x128x128/128x128x128",
           "32x32x32/32x256x256", "16x128x128/32x256x256"]
PARAMS = (common.DATA, CHUNK_SHAPES + SHARDED, list(ZARR_FORMATS))
PARAM_NAMES = ["data", "chunks", "zarr_format"]


def layout_for(data, chunks, zarr_format):
    inner, shards = parse_chunking(chunks)
    if shards and zarr_format != 3:
        raise NotImplementedError("sharding needs zarr format 3")
    return Layout(CODEC, inner, zarr_format, shards)


def setup_cache():
    return common.build_cache([layout_for(common.DATA[0], c, f) for c in CHUNK_SHAPES + SHARDED
                               for f in ZARR_FORMATS if "/" not in c or f == 3])


setup_cache.timeout = common.SETUP_CACHE_TIMEOUT


class Write(common.WriteBenchmark):
    params, param_names = PARAMS, PARAM_NAMES
    layout_for = staticmethod(layout_for)

    def time_write(self, cache, data, chunks, zarr_format):
        self.write()


class Read(common.ReadBenchmark):
    params, param_names = PARAMS, PARAM_NAMES
    layout_for = staticmethod(layout_for)

    def setup(self, cache, data, chunks, zarr_format):
        super().setup(cache, data, chunks, zarr_format)
        self.planes = common.middle_planes(self.volume.shape)
        self.boxes = common.pattern_selections(cache, "box32")

    def time_read_full(self, cache, data, chunks, zarr_format):
        self.read(...)

    def time_read_slice_xy(self, cache, data, chunks, zarr_format):
        self.read(self.planes["xy"])

    def time_read_slice_xz(self, cache, data, chunks, zarr_format):
        self.read(self.planes["xz"])

    def time_read_slice_yz(self, cache, data, chunks, zarr_format):
        self.read(self.planes["yz"])

    def time_read_particle_boxes(self, cache, data, chunks, zarr_format):
        self.read_each(self.boxes)


class Storage(common.StorageBenchmark):
    """File count and ratio measured from the files of the reference stores."""

    params, param_names = PARAMS, PARAM_NAMES
    layout_for = staticmethod(layout_for)

    def track_file_count(self, cache, data, chunks, zarr_format):
        return self.stats.file_count

    track_file_count.unit = "files"

    def track_compression_ratio(self, cache, data, chunks, zarr_format):
        return self.stats.compression_ratio(self.volume_bytes)

    track_compression_ratio.unit = "ratio"
