"""Does a number depend on what the process did before? Minor page faults per read, in both allocator states.

The suite's processes run with the allocator pinned (``benchmarks/__init__.py``): a read
then reuses warm heap memory and takes almost no page faults, whatever came before.
``PageFaults`` tracks the faults per read of the headline reads in that state
(``pinned``) and, measured in a fresh process of the same environment that has only
loaded the volume, in glibc's default state (``glibc default``): there every decoded
chunk lands in freshly mapped pages, one fault per 4 KiB. The difference is what a
timing taken without the pin would depend on.
"""

from zarr_cryoet.checks import plain_loop

from . import common
from .suite import LayoutSuite, StorageBenchmark

READS = ["full", "xy"]
ALLOCATORS = ["pinned", "glibc default"]
CHUNKINGS = common.grid(default=["64x64x64"], full=["16x16x16", "64x64x64", "128x128x128"])
suite = LayoutSuite({"chunks": CHUNKINGS, "zarr_format": [2, 3], "read": READS, "allocator": ALLOCATORS},
                    codec="blosc-zstd")


class PageFaults(StorageBenchmark):
    """Minor page faults per read (the mean of 5 reads after one warm-up read, each read checked)."""

    suite = suite
    params, param_names = suite.params, suite.param_names

    def setup(self, cache, data, chunks, zarr_format, read, allocator):
        store = common.reference_store(cache, suite.layout({"chunks": chunks, "zarr_format": zarr_format}))
        measure = plain_loop.measure_here if allocator == "pinned" else plain_loop.measure_in_fresh_process
        self.measured = measure(store, read, cache["volume_path"], reads=5)

    def track_minor_faults_per_read(self, cache, data, chunks, zarr_format, read, allocator):
        return self.measured["faults_per_read"]

    track_minor_faults_per_read.unit = "faults"
