"""The tests serve directories on 127.0.0.1 with zarr_cryoet.store.loopback (see there)."""

from zarr_cryoet.store.loopback import RecordingHTTPServer, Request

__all__ = ["RecordingHTTPServer", "Request"]
