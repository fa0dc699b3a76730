"""The tests' loopback servers share zarr_cryoet.store.loopback's base."""

from zarr_cryoet.store.loopback import LoopbackServer

__all__ = ["LoopbackServer"]
