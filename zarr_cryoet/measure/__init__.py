"""Measurement quality: the measured processes' state, and how far asv's numbers can be trusted.

* :mod:`~zarr_cryoet.measure.allocator`: pin glibc's allocator so a timing does not depend on
  what the process allocated before, and count page faults;
* :mod:`~zarr_cryoet.measure.quality`: asv's overhead (wall time against time inside the timed
  samples) and the stability of two result sets of the same commit;
* :mod:`~zarr_cryoet.measure.crosscheck`: a plain timing loop outside asv, in fresh processes,
  in three allocator states; :mod:`~zarr_cryoet.measure.crosscheck_report` runs it in every asv
  environment and sets it next to asv's own results (``zarr-cryoet crosscheck``).
"""
