import pytest

from zarr_cryoet.store import compat

needs_zarr3 = pytest.mark.skipif(compat.ZARR_MAJOR < 3, reason="zarr format 3 needs zarr >= 3")


def formats():
    """Every zarr format, with format 3 skipped (not dropped) on zarr 2."""
    return [2, pytest.param(3, marks=needs_zarr3)]
