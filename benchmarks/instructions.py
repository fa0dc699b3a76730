"""Did the work change, whatever the machine's speed? Instructions per call of the headline reads and writes.

Wall time on this VM moves by tens of per cent with the machine's state (docs/measurement.md); the
number of instructions a call executes does not. ``Instructions.track_instructions`` counts them with
valgrind (:mod:`zarr_cryoet.measure.instructions`: a full read of 64³ and of 16³ chunks, the middle
XY plane, a write of 64³ chunks; format 2, Blosc-Zstd, the shared reference stores), every case
counted once per environment in the setup cache's directory (not timed; a few seconds per case under
valgrind). The nightly job treats a change beyond 1 % as a regression and lists these first: the
first alarm for these cases, with their wall times the second. Without valgrind (``apt-get install
valgrind``) the benchmark is skipped with that message.
"""

from zarr_cryoet.measure import instructions

from . import common


class Instructions:
    params, param_names = (common.DATA, list(instructions.CASES)), ["data", "case"]
    timeout, version = common.BENCHMARK_TIMEOUT, common.VERSION
    setup_cache = staticmethod(common.setup_cache)

    def setup(self, cache, data, case):
        reason = instructions.unavailable()
        if reason:
            raise NotImplementedError(reason)
        self.count = common.counted_instructions(cache, case)

    def track_instructions(self, cache, data, case):
        return self.count

    track_instructions.unit = "instructions"
