"""The suite's statistics, in one place: what a timing is, its interval, and whether two timings differ.

* :mod:`.schedule`: how many processes and samples each kind of benchmark gets (standard library only: the asv
  benchmarks import it in their lean environments);
* :mod:`.estimate`: one timing's :class:`~.estimate.Estimate` (the fastest process, every process's minimum, and an
  interval whose meaning is stated) and how it is written;
* :mod:`.calibration`: the measured interval bands of a machine (how far another run of the same commit lands) and
  their coverage checked on held-out runs;
* :mod:`.compare`: the one comparison rule (an exact Mann–Whitney test over the processes, Benjamini–Hochberg across
  one answer's comparisons) behind every "faster", "slower" and "~";
* :mod:`.release`: a release's geometric-mean ratio with an interval from the spread between benchmark methods and a
  measured run-to-run term.
"""
