"""Which chunk shape, and should it be sharded? Writes, reads, slices, particle boxes and file counts.

Cubic chunks from 16³ to 128³ plus the slice-friendly (16, 128, 128), all with
Blosc-Zstd, on zarr formats 2 and 3; and, on format 3 only (zarr >= 3), shards
holding those inner chunks, written ``INNER/SHARD`` (e.g. ``32x32x32/128x128x128``:
128³ shards, one file each, of 32³ inner chunks). Slices are the middle planes: XY
(what a viewer shows), XZ and YZ (side views through the missing wedge); particle
boxes are the 32³ boxes of :mod:`zarr_cryoet.store.access`.

``ReadEveryCore`` reads the whole volume and the middle XY plane of four layouts (the best for a viewer, for
whole-volume reads and for the portal, and 32³ in 128³ shards) on every core instead of one: a reader's
realistic thread count at this size (two processes each: asv starts one per combination).

The default grid has the worst (16³) and best layouts for every read, plain and
sharded; the full grid (``ZARR_CRYOET_FULL=1``) adds (32, 256, 256) shards, which need
``phantom:256`` or more (shards larger than the volume are skipped).
"""

from . import common
from .suite import FULL_VOLUME, FormatFollowsChunks, LayoutSuite, access_pattern, middle_plane, on_every_core

PLAIN = ["16x16x16", "32x32x32", "64x64x64", "128x128x128", "16x128x128"]
SHARDED = ["32x32x32/128x128x128", "64x64x64/128x128x128", "16x128x128/128x128x128"]
LARGE_SHARDS = ["32x32x32/32x256x256", "16x128x128/32x256x256"]
CHUNKINGS = common.grid(default=PLAIN + SHARDED, full=PLAIN + SHARDED + LARGE_SHARDS)
suite = LayoutSuite({"chunks": CHUNKINGS, "zarr_format": [2, 3]}, codec="blosc-zstd")
LAYOUTS = suite.layouts

Write = suite.write_class()
Read = suite.read_class(time_read_full=FULL_VOLUME, time_read_slice_xy=middle_plane("xy"),
                        time_read_slice_xz=middle_plane("xz"), time_read_slice_yz=middle_plane("yz"),
                        time_read_particle_boxes=access_pattern("box32"))
Storage = suite.storage_class("file_count", "compression_ratio")

#: the layouts read on every core (recommend's line on threads at 128³)
EVERY_CORE_LAYOUTS = ["16x128x128", "64x64x64", "128x128x128", "32x32x32/128x128x128"]
ReadEveryCore = on_every_core(FormatFollowsChunks({"chunks": EVERY_CORE_LAYOUTS}, codec="blosc-zstd").read_class(
    common.REMOTE, name="ReadEveryCore", time_read_full=FULL_VOLUME, time_read_slice_xy=middle_plane("xy")))
