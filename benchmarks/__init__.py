"""The asv benchmark suite: one module per question (see docs/methodology.md, "What is measured").

Importing the suite pins glibc's allocator for the whole process (and, under asv's
forkserver, for every benchmark process forked from it), so a timing does not depend on what
the process allocated before: see :mod:`zarr_cryoet.measure.allocator`.
"""

from zarr_cryoet.measure import allocator

allocator.pin()
