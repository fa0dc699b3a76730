"""The multiscale viewer at portal size: what a user waits for before the first image, locally and from S3.

A viewer (napari's OME-Zarr plugin, neuroglancer, the portal's own) opens an OME-Zarr image, reads its
``multiscales`` metadata, shows the coarsest level first and then the finest. ``FirstView.time_first_view``
times exactly that on each candidate of :mod:`benchmarks.conversion` (the images that tier's setup cache
converted with ome-zarr: levels 0, 1, 2 of the 184×630×630 phantom), with zarr-python, on every core: open the
group, read the middle XY plane of level 2, open level 0 and read its middle XY plane. ``target`` is local
disk (warm page cache) or the S3 endpoint on loopback (20 ms per request, a 1 Gbit/s link; 10 requests in
flight). Both planes are checked against what the levels must hold. What the same sequence costs in requests
is ``conversion.Reads`` with ``workload='viewer'``; what writing the pyramid costs is in ``conversion.Convert``
(against ``realistic.Write``: level 0 alone).
"""

import contextlib

from zarr_cryoet.data import ome_zarr
from zarr_cryoet.data.conversion import Destination, open_image

from . import common, conversion


@common.sampled(common.REMOTE)
class FirstView:
    """Open the image, read the coarsest level's middle XY plane, then level 0's (a viewer's first view)."""

    params = (conversion.DATA, conversion.CHUNKS, conversion.CODECS, conversion.TARGETS)
    param_names = ["data", "chunks", "codec", "target"]
    timeout = common.BENCHMARK_TIMEOUT
    version = common.TIME_VERSION
    setup_cache = staticmethod(conversion.setup_cache)
    result = session = None

    def setup(self, cache, data, chunks, codec, target):
        conversion._check_enabled()
        if not conversion.candidate(codec, chunks):
            raise NotImplementedError(f"{codec} {chunks} is not in this grid")
        common.use_every_core()
        self.result, self.session = None, contextlib.ExitStack()
        lay = conversion.layout(codec, chunks)
        path = cache["images"][lay.slug]
        if target == "s3":
            s3 = conversion.endpoint(cache)
            key = f"images/{lay.slug}"
            s3.put_tree(path, key)
            s3.shape(conversion.NETWORK)
            self.destination = conversion.s3_destination(s3, "images")
            self.name = lay.slug
            self.session.enter_context(conversion.s3_reads())
        else:
            self.destination = Destination(str(path.rpartition("/")[0]))
            self.name = path.rpartition("/")[2]

    def time_first_view(self, cache, data, chunks, codec, target):
        group = open_image(self.destination, self.name)
        self.result = ome_zarr.first_view(group)

    def teardown(self, cache, data, chunks, codec, target):
        try:
            if self.result is not None:
                conversion.check_first_view(*self.result, conversion.expected_levels(cache))
        finally:
            if self.session is not None:
                self.session.close()
