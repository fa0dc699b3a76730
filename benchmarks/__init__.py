"""The asv benchmark suite: one module per question (see docs/methodology.md, "What is measured").

Every benchmark's name and where it is defined: benchmarks/INDEX.md (tools/benchmark_index.py).

Importing the suite prepares every measured process (and, under asv's forkserver, every benchmark
process forked from it) the same way:

* it pins glibc's allocator, so a timing does not depend on what the process allocated before
  (:mod:`zarr_cryoet.measure.allocator`);
* with ``ZARR_CRYOET_INJECT_SLOWDOWN`` set, it makes zarr-python's reads that much slower
  (:mod:`zarr_cryoet.measure.injection`): the known regression that proves the nightly alarm,
  without touching a benchmark. Unset (always, outside that proof), nothing changes.
"""

from zarr_cryoet.measure import allocator, injection

allocator.pin()
injection.install_from_environment()
