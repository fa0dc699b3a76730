"""How fast could it be? The same bytes as one uncompressed file, and as a memory copy.

The physical limit every zarr time is compared with (``zarr-cryoet report`` puts the
ratio ``zarr time / raw time`` next to each result): writing the volume's bytes to one
new file (``ndarray.tofile``, no fsync, like zarr's own writes), reading them back from
one file with a warm page cache (``np.fromfile``) and copying them in memory
(``np.copyto``). Each result is checked like the zarr reads and writes. The raw file is
written by the shared setup cache (not timed).
"""

import os
import shutil
import tempfile

import numpy as np

from . import common


@common.sampled(common.WRITE)
class RawIO:
    params, param_names = (common.DATA,), ["data"]
    timeout, version = common.BENCHMARK_TIMEOUT, common.TIME_VERSION
    setup_cache = staticmethod(common.setup_cache)
    workdir = None

    def setup(self, cache, data):
        self.volume = common.reference_volume(cache)
        self.result = None
        self.workdir = tempfile.mkdtemp(prefix="zarr-cryoet-raw-")
        self.target = os.path.join(self.workdir, "volume.raw")
        self.raw_path = cache["raw_path"]
        self.buffer = np.empty_like(self.volume)

    def time_write_file(self, cache, data):
        self.volume.tofile(self.target)
        self.result = "written"

    def time_read_file(self, cache, data):
        self.result = np.fromfile(self.raw_path, dtype=self.volume.dtype).reshape(self.volume.shape)

    def time_memory_copy(self, cache, data):
        np.copyto(self.buffer, self.volume)
        self.result = self.buffer

    def teardown(self, cache, data):
        try:
            if isinstance(self.result, str):
                written = np.fromfile(self.target, dtype=self.volume.dtype).reshape(self.volume.shape)
                common.check_read(written, self.volume, "raw write")
            elif self.result is not None:
                common.check_read(self.result, self.volume, "raw read")
        finally:
            if self.workdir:
                shutil.rmtree(self.workdir, ignore_errors=True)
