"""tensorstore: driver ``zarr`` for format 2, ``zarr3`` for format 3 (sharding included).

Stores are opened through the ``file`` kvstore (local) or the ``http`` kvstore (URLs),
with a context that pins the concurrency (:mod:`.base`) and keeps no chunk cache
(``cache_pool`` of 0 bytes, tensorstore's default), so every read decodes its chunks as
zarr-python's do. Writes take the metadata document zarr-python would write for the same
layout (:func:`zarr_cryoet.store.compat.array_metadata`), so two engines' stores differ
only in how the chunks were encoded and stored; empty chunks are written, as by the rest
of the suite (``store_data_equal_to_fill_value``).
"""

from __future__ import annotations

from pathlib import Path

from zarr_cryoet.store import compat, stores

from .base import Engine, io_concurrency, thread_budget

DRIVERS = {2: "zarr", 3: "zarr3"}


class _Reader:
    """``reader[selection]`` reads through tensorstore into a numpy array."""

    def __init__(self, store):
        self.store = store
        self.shape = tuple(store.shape)

    def __getitem__(self, selection):
        return self.store[selection].read().result()


class TensorStore(Engine):
    name = "tensorstore"
    distribution = module = "tensorstore"
    LIBRARY_DEFAULTS = {"data_copy_concurrency": "shared (all cores)", "file_io_concurrency": "shared",
                        "http_request_concurrency": "32", "cache_pool": "0 bytes"}

    def __init__(self):
        self._context = None

    def settings(self) -> dict:
        return {"data_copy_concurrency": thread_budget(), "file_io_concurrency": io_concurrency(),
                "http_request_concurrency": io_concurrency(), "cache_pool": 0}

    def context(self):
        import tensorstore as ts

        if self._context is None:
            settings = self.settings()
            self._context = ts.Context({
                "data_copy_concurrency": {"limit": settings["data_copy_concurrency"]},
                "file_io_concurrency": {"limit": settings["file_io_concurrency"]},
                "http_request_concurrency": {"limit": settings["http_request_concurrency"]},
                "cache_pool": {"total_bytes_limit": 0},
            })
        return self._context

    @staticmethod
    def _kvstore(location) -> dict:
        location = str(location)
        if compat.is_url(location):
            return {"driver": "http", "base_url": location.rstrip("/") + "/"}
        return {"driver": "file", "path": str(Path(location).resolve()) + "/"}

    @staticmethod
    def _format(location) -> int:
        """The zarr format of a store, from its metadata file (tensorstore needs the driver up front)."""
        location = str(location)
        if compat.is_url(location):
            import urllib.error
            import urllib.request

            try:
                with urllib.request.urlopen(location.rstrip("/") + "/zarr.json", timeout=30):
                    return 3
            except urllib.error.HTTPError as err:
                if err.code == 404:
                    return 2
                raise
        return 3 if Path(location, "zarr.json").is_file() else 2

    def open(self, location):
        import tensorstore as ts

        spec = {"driver": DRIVERS[self._format(location)], "kvstore": self._kvstore(location), "open": True}
        return _Reader(ts.open(spec, read=True, context=self.context()).result())

    def write(self, path, volume, layout) -> Path:
        import tensorstore as ts

        path = Path(path)
        settings = stores.prepare_write(path, volume, layout)
        metadata = compat.array_metadata(**settings)
        spec = {"driver": DRIVERS[layout.zarr_format], "kvstore": self._kvstore(path), "metadata": metadata,
                "create": True, "store_data_equal_to_fill_value": stores.WRITE_EMPTY_CHUNKS}
        with stores.removed_on_failure(path):
            store = ts.open(spec, write=True, context=self.context()).result()
            store.write(volume).result()
        return path
