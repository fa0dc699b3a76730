"""The data the suite runs on: the phantom, portal crops and their cache, MRC and OME-Zarr readers, source specs."""
