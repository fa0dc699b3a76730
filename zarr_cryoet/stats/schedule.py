"""How many processes (asv ``rounds``) and samples per process (``repeat``) each kind of benchmark gets.

The asv benchmarks (benchmarks/common.py) and the plain-loop cross-checks use these same numbers; asv's
``benchmarks.json`` records them per benchmark, and the report reads them back from there. A fixed ``repeat`` lets
the samples asv records be told apart by process: the processes are the independent units of every interval and
test (:mod:`zarr_cryoet.stats.compare`). Standard library only: the benchmarks' environments import it.
"""

#: reads of micro- to milliseconds: 5 processes are the fewest with which a rank test can tell two timings apart
#: at p < 0.05 (2 / 252 = 0.008 at best; with 3 a side it can never be below 0.1)
QUICK_READ = {"rounds": 5, "repeat": 2}
#: writes and reads of ~0.1-1 s
WRITE = {"rounds": 3, "repeat": 1}
#: reads over slow HTTP and of whole portal-sized volumes (0.1-2 s)
SLOW = {"rounds": 3, "repeat": 1}
#: writes of seconds (portal-sized volumes)
LONG = {"rounds": 2, "repeat": 1}
#: reads from object storage (benchmarks/object_storage.py): waiting on the network, they hardly feel the
#: machine's two speeds. Measured over 54 of them with 3 processes each: the fastest process is at most 1.077×
#: the slowest in the median, and the fastest of 2 is within 5 % of the fastest of 3 in 92 % of the cases
#: (98 % within 10 %; docs/object_storage.md). So 2 processes, a third less of the tier's run time.
REMOTE = {"rounds": 2, "repeat": 1}
