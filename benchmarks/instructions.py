"""Did the work change, whatever the machine's speed? Instructions per call of the one-core reads and writes.

Wall time on this VM moves by tens of per cent with the machine's state, and by ~20 % between machines
(docs/measurement.md); the number of instructions a call executes does not (within 0.4 % between two
VMs). Two kinds of class count them with valgrind (not timed; ``apt-get install valgrind``, else every
case is skipped with that message):

* **the timed classes' own cases**: ``<Module><Class>`` (``ChunkingRead``, ``AccessRead``, …) has one
  ``track_instructions_<read>`` per ``time_<read>`` of the timed class, with the same parameters, so
  every counted timing has its count under a name a reader can derive from the timing's
  (``chunking.Read.time_read_full`` → ``instructions.ChunkingRead.track_instructions_read_full``). A
  class is counted in one valgrind process per environment (:mod:`zarr_cryoet.measure.class_counts`),
  the first time one of its cases runs, and kept beside the setup cache;
* ``Instructions``: the four headline cases counted the older way (two processes per case), kept for
  its history.

The nightly alarm's first signal is a count that moves beyond the measured spread
(:data:`zarr_cryoet.tracking.regressions.INSTRUCTIONS_CHANGE`).
"""

import fcntl
import json
import os
from pathlib import Path

from zarr_cryoet.util.files import write_atomically
from zarr_cryoet.measure import class_counts, instructions

from . import access, chunking, common, compression, lossy


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


class _Counted:
    """Instructions per call of every case of ``timed`` (a timed class), counted once per environment."""

    module, name = None, ""  # the timed class: ``module.name``
    timeout, version = common.BENCHMARK_TIMEOUT, common.VERSION

    def setup(self, cache, *params):
        reason = instructions.unavailable()
        if reason:
            raise NotImplementedError(reason)
        self.counts = _counted_class(cache, self.module, self.name)

    def count(self, method: str, params) -> float:
        """The count of one case; NaN (asv: skipped) where the timed class skips it."""
        return self.counts.get(class_counts.case_key(method, params), float("nan"))


def _counted_class(cache: dict, module, name: str) -> dict:
    """Instructions per call of every case of the timed class ``module.name``
    (:mod:`zarr_cryoet.measure.class_counts`: one valgrind process for the class), counted once per setup cache
    under a file lock and kept beside it."""
    only = os.environ.get(class_counts.ONLY_ENV, "")
    memo = Path(cache["dir"], "instructions", f"{module.__name__}.{name}.json")
    memo.parent.mkdir(exist_ok=True)
    with open(memo.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not memo.is_file():
            write_atomically(memo, json.dumps(class_counts.count_class(module, name, cache, only=only)))
    return json.loads(memo.read_text())


def counted(module, timed: str) -> type:
    """The ``_Counted`` class of the timed class ``module.timed``: one ``track_instructions_*`` per ``time_*``
    method, with the same parameters."""
    def tracker(method):
        def track(self, cache, *params):
            return self.count(method, params)
        track.__name__ = track.__qualname__ = f"track_instructions_{method.removeprefix('time_')}"
        track.unit = "instructions"
        return track

    cls = getattr(module, timed)
    name = f"{module.__name__.rpartition('.')[2].capitalize()}{timed}"
    methods = {tracker(m).__name__: tracker(m) for m in class_counts.timed_methods(cls)}
    return type(name, (_Counted,), {"module": module, "name": timed, "params": cls.params,
                                    "param_names": cls.param_names, "setup_cache": staticmethod(cls.setup_cache),
                                    "__qualname__": name, "__module__": __name__, **methods})


#: the one-core tier's timed classes whose every case is counted (engines: zarr-python's reads are chunking's)
CompressionRead = counted(compression, "Read")
CompressionWrite = counted(compression, "Write")
ChunkingRead = counted(chunking, "Read")
ChunkingWrite = counted(chunking, "Write")
AccessRead = counted(access, "Read")
LossyRead = counted(lossy, "Read")
LossyWrite = counted(lossy, "Write")
