"""Which codec? Write time, read time, compression ratio and bytes on disk per codec.

Every codec is benchmarked with the same 64³ chunks on zarr format 2 (the portal's) and, in
the full grid, on format 3 too (skipped on zarr 2.x, which cannot write it); the default
grid's format-3 question is answered by ``chunking``.
"""

from zarr_cryoet.store.codecs import CODEC_NAMES

from . import common
from .suite import FULL_VOLUME, LayoutSuite

CODECS = common.grid(default=CODEC_NAMES, full=CODEC_NAMES)
suite = LayoutSuite({"codec": CODECS, "zarr_format": common.grid(default=[2], full=[2, 3])}, chunks="64x64x64")
LAYOUTS = suite.layouts

Write = suite.write_class()
Read = suite.read_class(time_read=FULL_VOLUME)
Storage = suite.storage_class("compression_ratio", "stored_bytes")
