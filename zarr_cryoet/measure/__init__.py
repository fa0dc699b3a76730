"""Measurement quality: the measured processes' state, and how far the numbers can be trusted.

(The suite's statistic, its intervals, the comparison rule and the process schedules of every kind of
operation are in :mod:`zarr_cryoet.stats`.)

* :mod:`~zarr_cryoet.measure.allocator`: pin glibc's allocator so a timing does not depend on
  what the process allocated before, and count page faults;
* :mod:`~zarr_cryoet.measure.injection`: a known slowdown of zarr-python's reads, the proof of the
  nightly alarm; :mod:`~zarr_cryoet.measure.instructions`: instructions per call under valgrind;
* :mod:`~zarr_cryoet.checks.quality`: asv's overhead, and how well runs of one commit agree;
* :mod:`~zarr_cryoet.checks.plain_loop`: a plain timing loop outside asv and the skeleton the
  cross-checks share (:mod:`~zarr_cryoet.checks.release_crosscheck`,
  :mod:`~zarr_cryoet.checks.engine_crosscheck`, :mod:`~zarr_cryoet.checks.lossy_crosscheck`:
  ``zarr-cryoet crosscheck``); :mod:`~zarr_cryoet.checks.schedule_study`: the measurement that
  chose the statistic and schedule.
"""
