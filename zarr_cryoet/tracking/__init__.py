"""Tracking over time: the nightly job, the results history, regressions, zarr releases, the dashboard."""
