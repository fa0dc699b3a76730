"""Does the answer hold at the size users have? Headline benchmarks on a portal-sized phantom.

The default data (128³) shows per-chunk costs; a tomogram on the CryoET Data Portal is
hundreds of MB, where the same layouts can rank differently between zarr releases. This
tier writes, fully reads and reads the middle XY plane of the phantom at
:data:`SHAPE` (by default the shape of dataset 10445's run TS_100_3: 630 × 630 × 184
voxels, 292 MB) in 64³ and 128³ chunks (format 2) and 64³ chunks in 128³ shards (format 3),
with samples sized for operations of seconds. It runs only with the default data (with
``ZARR_CRYOET_SOURCE`` set, the user's own data is the realistic case).
"""

import os

from zarr_cryoet.data import sources

from . import common
from .suite import FULL_VOLUME, LayoutSuite, middle_plane

#: the tier's volume; ``ZARR_CRYOET_REALISTIC_SHAPE=ZxYxX`` changes it (the tests use a small one)
SHAPE = os.environ.get("ZARR_CRYOET_REALISTIC_SHAPE", "").strip() or "184x630x630"
REQUEST = sources.parse_source(f"phantom:{SHAPE}")
LAYOUTS_RUN = ["64x64x64", "128x128x128", "64x64x64/128x128x128"]
suite = LayoutSuite({"chunks": LAYOUTS_RUN, "zarr_format": [2, 3]}, data=[REQUEST.identity()], codec="blosc-zstd")
#: plain chunks on format 2 (the portal's format), shards on format 3
LAYOUTS = [layout for layout in suite.layouts if (layout.shards is None) == (layout.zarr_format == 2)]
ENABLED = common.REQUEST.spec == sources.DEFAULT_SOURCE


def setup_cache():
    if not ENABLED:
        return {"stores": {}, "skipped": {}, "disabled": True}
    return common.write_reference(sources.load(REQUEST), LAYOUTS)


setup_cache.timeout = common.SETUP_CACHE_TIMEOUT


def _only_measured_layouts(cls):
    """Skip (asv: NaN) the combinations this tier does not measure, before any work."""
    base_setup = cls.setup

    def setup(self, cache, *params):
        if cache.get("disabled"):
            raise NotImplementedError("the realistic-size tier runs with the default data only")
        if suite.layout(self._params(params)) not in LAYOUTS:
            raise NotImplementedError("this tier measures plain chunks on format 2 and shards on format 3")
        base_setup(self, cache, *params)

    cls.setup = setup
    cls.setup_cache = staticmethod(setup_cache)
    return cls


Write = _only_measured_layouts(suite.write_class(common.LONG))
Read = _only_measured_layouts(suite.read_class(common.SLOW, time_read_full=FULL_VOLUME,
                                               time_read_slice_xy=middle_plane("xy")))
