"""The tests' loopback servers share zarr_cryoet.loopback's base."""

from zarr_cryoet.loopback import LoopbackServer

__all__ = ["LoopbackServer"]
