"""Does the answer hold at the size users have? Headline benchmarks on a portal-sized phantom.

The default data (128³) shows per-chunk costs; a tomogram on the CryoET Data Portal is
hundreds of MB, where the same layouts can rank differently between zarr releases. This
tier writes, fully reads and reads the middle XY plane of the phantom at
:data:`SHAPE` (by default the shape of dataset 10445's run TS_100_3: 630 × 630 × 184
voxels, 292 MB) in 64³ and 128³ chunks (format 2) and 64³ chunks in 128³ shards (format 3),
with samples sized for operations of seconds. It runs only with the default data (with
``ZARR_CRYOET_SOURCE`` set, the user's own data is the realistic case).

Unlike the rest of the suite, which runs on the one core asv pins it to (a stable measure of
the work per chunk), this tier uses every core of the machine, as a user's reader does:
zarr 3 decodes and encodes chunks concurrently, and on one core it cannot.
"""

import os

from zarr_cryoet.data import sources

from . import common
from .suite import FULL_VOLUME, LayoutSuite, middle_plane, plain_v2_sharded_v3

#: the tier's volume; ``ZARR_CRYOET_REALISTIC_SHAPE=ZxYxX`` changes it (the tests use a small one)
SHAPE = os.environ.get("ZARR_CRYOET_REALISTIC_SHAPE", "").strip() or "184x630x630"
REQUEST = sources.SourceRequest.parse(f"phantom:{SHAPE}")
LAYOUTS_RUN = ["64x64x64", "128x128x128", "64x64x64/128x128x128"]
suite = LayoutSuite({"chunks": LAYOUTS_RUN, "zarr_format": [2, 3]}, data=[REQUEST.identity()], codec="blosc-zstd",
                    measured=plain_v2_sharded_v3)
LAYOUTS = suite.layouts
ENABLED = common.REQUEST.spec == sources.DEFAULT_SOURCE


@common.built_once
def setup_cache():
    if not ENABLED:
        return {"stores": {}, "skipped": {}, "disabled": True}
    return common.write_reference(sources.load(REQUEST), LAYOUTS)


def _own_cache(cls):
    """The tier's own setup cache (its own volume), every core; with other data than the default, a skip."""
    base_setup = cls.setup

    def setup(self, cache, *params):
        if cache.get("disabled"):
            raise NotImplementedError("the realistic-size tier runs with the default data only")
        common.use_every_core()
        base_setup(self, cache, *params)

    cls.setup = setup
    cls.setup_cache = staticmethod(setup_cache)
    return cls


Write = _own_cache(suite.write_class(common.LONG))
Read = _own_cache(suite.read_class(common.SLOW, time_read_full=FULL_VOLUME, time_read_slice_xy=middle_plane("xy")))
