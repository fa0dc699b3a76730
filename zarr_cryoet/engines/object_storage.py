"""The clients that read a Zarr from S3, each an engine of :mod:`zarr_cryoet.engines` over an object-store API.

* ``zarr-python+obstore``: zarr-python 3 with ``zarr.storage.ObjectStore`` over obstore's ``S3Store``;
* ``zarr-python+s3fs``: zarr-python over fsspec's s3fs (zarr 3: ``FsspecStore``; zarr 2: ``FSStore``);
* ``zarr-python-fused+obstore``: zarr >= 3.3's fused codec pipeline over obstore;
* ``zarrs+obstore``: the zarrs pipeline, which reads an ``ObjectStore`` in Rust (zarrs-python >= 0.2.2);
* ``tensorstore``: tensorstore's ``s3`` kvstore.

**Requests in flight are pinned** per client, to ``concurrency`` (default
:func:`~zarr_cryoet.engines.base.io_concurrency`): zarr-python's ``async.concurrency`` (zarr 3),
fsspec's ``nofiles_gather_batch_size`` (zarr 2 over s3fs: its ``getitems`` fetches that many keys at a time),
the zarrs pipeline's ``chunk_concurrent_maximum`` and tensorstore's ``s3_request_concurrency``.
Compute threads get the engines' shared budget. :meth:`S3Client.config` says what each runs with.
"""

from __future__ import annotations

import contextlib

from zarr_cryoet.util.errors import UnknownEngineError
from zarr_cryoet.store import compat

from . import ENGINES
from .base import distribution_version, io_concurrency, thread_budget
from .tensorstore_engine import DRIVERS, _Reader
from .zarr_python import _WholeAxes


class S3Client:
    """One way to read a Zarr from S3: an engine, a store library, and its pinned concurrency."""

    name = ""
    engine = "zarr-python"
    library = ""  # the distribution that talks to S3
    #: requests in flight in the current session (:meth:`session` sets it)
    concurrency = None

    def unavailable(self, zarr_format: int | None = None) -> str | None:
        """Why this client cannot read ``zarr_format`` from S3 here; None if it can."""
        reason = ENGINES[self.engine].unavailable(zarr_format)
        if reason is None and distribution_version(self.library) is None:
            return f"{self.library} is not installed in this environment"
        return reason

    def config(self, concurrency: int) -> dict:
        """zarr's config while this client reads (its engine's, with ``concurrency`` requests in flight)."""
        return {**ENGINES[self.engine].config(), "async.concurrency": concurrency}

    @contextlib.contextmanager
    def session(self, concurrency: int | None = None):
        """Open and read inside: ``concurrency`` (default :func:`io_concurrency`) requests in flight."""
        self.concurrency = concurrency or io_concurrency()
        with self._pinned(self.config(self.concurrency)):
            yield

    def _pinned(self, config: dict):
        import zarr

        return zarr.config.set(config)

    def open(self, endpoint, key: str, zarr_format: int):
        """The array (``zarr_format``) at ``key`` of ``endpoint`` (:class:`~zarr_cryoet.store.object_storage.S3Endpoint`), inside
        :meth:`session`."""
        import zarr

        return zarr.open_array(store=self.store(endpoint, key), mode="r")

    def open_group(self, endpoint, key: str, consolidated: bool):
        """The group at ``key``, with its consolidated metadata or without looking for it."""
        import zarr

        return zarr.open_group(store=self.store(endpoint, key), mode="r", use_consolidated=consolidated)

    def store(self, endpoint, key: str):
        raise NotImplementedError


class _Obstore(S3Client):
    library = "obstore"

    def unavailable(self, zarr_format=None):
        reason = super().unavailable(zarr_format)
        if reason is None and compat.ZARR_MAJOR < 3:
            return f"zarr {compat.ZARR_VERSION} has no ObjectStore; it needs zarr >= 3"
        return reason

    def store(self, endpoint, key):
        from obstore.store import S3Store
        from zarr.storage import ObjectStore

        from zarr_cryoet.store.object_storage import BUCKET

        return ObjectStore(S3Store(BUCKET, prefix=key.strip("/"), **endpoint.obstore_config()), read_only=True)


class ZarrPythonObstore(_Obstore):
    name = "zarr-python+obstore"


class ZarrPythonFusedObstore(_Obstore):
    name = "zarr-python-fused+obstore"
    engine = "zarr-python-fused"


class ZarrsObstore(_Obstore):
    name = "zarrs+obstore"
    engine = "zarrs"

    def config(self, concurrency):
        # measured: zarrs 0.2.3 over obstore keeps as many requests in flight as the process has cores (1 under asv,
        # 2 unpinned here), whatever chunk_concurrent_maximum or threading.max_workers say (docs/object_storage.md)
        return {**super().config(concurrency), "codec_pipeline.chunk_concurrent_maximum": concurrency}

    def open(self, endpoint, key, zarr_format):
        return _WholeAxes(super().open(endpoint, key, zarr_format))


class ZarrPythonS3fs(S3Client):
    name = "zarr-python+s3fs"
    library = "s3fs"

    def config(self, concurrency):
        # zarr 2's FSStore.getitems fetches fsspec's batch of keys at a time; aiobotocore's connection pool (10 by
        # default) caps the requests in flight too, set in store()
        return {"nofiles_gather_batch_size": concurrency} if compat.ZARR_MAJOR < 3 else super().config(concurrency)

    @contextlib.contextmanager
    def _pinned(self, config):
        if compat.ZARR_MAJOR >= 3:
            with super()._pinned(config):
                yield
            return
        import fsspec.config

        saved = dict(fsspec.config.conf)
        fsspec.config.conf.update(config)
        try:
            yield
        finally:
            fsspec.config.conf.clear()
            fsspec.config.conf.update(saved)

    def store(self, endpoint, key):
        import zarr

        options = endpoint.s3fs_options()
        options["config_kwargs"] = {**options["config_kwargs"],
                                    "max_pool_connections": self.concurrency or io_concurrency()}
        if compat.ZARR_MAJOR < 3:
            # as compat.read_only_store: only a 404 may read as a missing chunk, never a dropped connection
            return zarr.storage.FSStore(endpoint.uri(key), mode="r", exceptions=(KeyError, FileNotFoundError),
                                        **options)
        return zarr.storage.FsspecStore.from_url(endpoint.uri(key), read_only=True,
                                                 storage_options={**options, "asynchronous": True})

    def open_group(self, endpoint, key, consolidated):
        import zarr

        if compat.ZARR_MAJOR < 3:
            store = self.store(endpoint, key)
            return zarr.open_consolidated(store, mode="r") if consolidated else zarr.open_group(store, mode="r")
        return super().open_group(endpoint, key, consolidated)


class TensorStoreS3(S3Client):
    name = "tensorstore"
    engine = "tensorstore"
    library = "tensorstore"

    def config(self, concurrency):
        return {"s3_request_concurrency": concurrency, "data_copy_concurrency": thread_budget(), "cache_pool": 0}

    def _pinned(self, config):
        return contextlib.nullcontext()  # tensorstore takes its settings in the context of each open

    def _context(self):
        import tensorstore as ts

        settings = self.config(self.concurrency or io_concurrency())
        return ts.Context({"s3_request_concurrency": {"limit": settings["s3_request_concurrency"]},
                           "data_copy_concurrency": {"limit": settings["data_copy_concurrency"]},
                           "cache_pool": {"total_bytes_limit": settings["cache_pool"]}})

    def open(self, endpoint, key, zarr_format):
        import tensorstore as ts

        spec = {"driver": DRIVERS[zarr_format], "kvstore": endpoint.tensorstore_kvstore(key), "open": True}
        return _Reader(ts.open(spec, read=True, context=self._context()).result())

    def open_group(self, endpoint, key, consolidated):
        raise NotImplementedError("tensorstore opens arrays, not groups: its multiscale open is the level's array")


#: the clients, in the order of the ``client`` parameter and of every table
CLIENTS: dict[str, S3Client] = {c.name: c for c in (ZarrPythonObstore(), ZarrPythonS3fs(), ZarrPythonFusedObstore(),
                                                     ZarrsObstore(), TensorStoreS3())}
CLIENT_NAMES = tuple(CLIENTS)


def get(name: str) -> S3Client:
    try:
        return CLIENTS[name]
    except (KeyError, TypeError):
        raise UnknownEngineError(f"unknown S3 client {name!r}; choose one of: {', '.join(CLIENT_NAMES)}") from None
