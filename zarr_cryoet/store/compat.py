"""The one place that knows which zarr is installed.

zarr 2.18 and zarr 3.x differ in how arrays are created (``open_array`` with
``compressor=`` versus ``create_array`` with ``compressors=``), in which zarr
formats they can write (2.x: format 2 only) and in defaults that change the
work done (``write_empty_chunks``). Everything version-specific lives here.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import zarr

ZARR_VERSION: str = zarr.__version__
ZARR_MAJOR: int = int(ZARR_VERSION.split(".")[0])


def supported_formats() -> tuple[int, ...]:
    """The zarr formats the installed zarr can write."""
    return (2,) if ZARR_MAJOR < 3 else (2, 3)


def create_array(path, *, shape, chunks, dtype, zarr_format, compressor_v2, codecs_v3,
                 fill_value, write_empty_chunks, shards=None, filters_v2=None, filters_v3=None,
                 serializer_v3="auto", separator_v2="."):
    """Create an empty on-disk array with every behaviour that differs between versions pinned.

    ``shards`` (format 3 only) makes ``chunks`` the inner chunks of shards of that shape. ``path``
    is a directory, or a store object (e.g. an in-memory one, :func:`array_metadata`). ``separator_v2`` is
    format 2's chunk-key separator (``"/"``: the CryoET Data Portal's nested keys). Filters
    and the serializer come from :class:`~zarr_cryoet.store.codecs.Codec` (none, and zarr's
    default serializer, for the lossless codecs).
    """
    local = isinstance(path, (str, Path))
    if ZARR_MAJOR < 3:
        return zarr.open_array(
            store=zarr.DirectoryStore(str(path)) if local else path, mode="w-", shape=shape, chunks=chunks,
            dtype=dtype, compressor=compressor_v2, filters=filters_v2, fill_value=fill_value,
            order="C", dimension_separator=separator_v2, write_empty_chunks=write_empty_chunks,
        )
    common = dict(
        store=str(path) if local else path, shape=shape, chunks=chunks, dtype=dtype, fill_value=fill_value,
        zarr_format=zarr_format, config={"write_empty_chunks": write_empty_chunks},
    )
    if zarr_format == 2:
        return zarr.create_array(
            **common, order="C", compressors=compressor_v2, filters=filters_v2,
            chunk_key_encoding={"name": "v2", "separator": separator_v2},
        )
    return zarr.create_array(
        **common, compressors=codecs_v3, shards=shards, filters=filters_v3, serializer=serializer_v3,
        chunk_key_encoding={"name": "default", "separator": "/"},
    )


def array_metadata(**settings) -> dict:
    """The metadata document (``.zarray`` or ``zarr.json``) that :func:`create_array` would write with
    ``settings``, made in memory: what another engine is told to write, so that the stores of
    different engines differ only in how each one encodes and stores the chunks."""
    if ZARR_MAJOR < 3:
        store = zarr.storage.MemoryStore()
        create_array(store, **settings)
        return json.loads(store[".zarray"])
    metadata = create_array(zarr.storage.MemoryStore(), **settings).metadata.to_dict()
    for key, empty in (("attributes", {}), ("storage_transformers", [])):
        if metadata.get(key) == empty:  # zarr-python's in-memory defaults, not part of the on-disk document
            metadata.pop(key)
    return metadata


def open_array(path):
    """Open an existing array read-only: a local path, or an http(s) URL."""
    if ZARR_MAJOR < 3 and not is_url(str(path)):
        return zarr.open_array(store=zarr.DirectoryStore(str(path)), mode="r")
    if is_url(str(path)):
        return zarr.open_array(store=read_only_store(path), mode="r")
    return zarr.open_array(store=str(path), mode="r")


#: the S3 endpoint of ``s3://`` locations (the variable AWS's own tools read; unset: AWS itself)
S3_ENDPOINT_ENV = "AWS_ENDPOINT_URL"


def is_url(location: str) -> bool:
    """Whether ``location`` is an http(s) or s3 URL rather than a local path."""
    return str(location).lower().startswith(("http://", "https://", "s3://"))


def storage_options(location: str, timeout: float | None = None) -> dict:
    """fsspec's options for ``location``: for ``s3://``, the endpoint in ``$AWS_ENDPOINT_URL`` (path-style
    addressing) and anonymous access unless ``$AWS_ACCESS_KEY_ID`` is set (the portal's bucket is public);
    ``timeout`` (s): connect and read timeouts, without retries (a quick check)."""
    if not str(location).lower().startswith("s3://"):
        return {}
    options = {"anon": not os.environ.get("AWS_ACCESS_KEY_ID")}
    config = {}
    endpoint = os.environ.get(S3_ENDPOINT_ENV, "").strip()
    if endpoint:
        options["endpoint_url"] = endpoint
        config["s3"] = {"addressing_style": "path"}
    if timeout is not None:
        config.update(connect_timeout=timeout, read_timeout=timeout, retries={"max_attempts": 1})
    if config:
        options["config_kwargs"] = config
    return options


def read_only_store(location: str):
    """A read-only store for a local directory or an http(s) or s3 URL (fsspec), on either zarr."""
    location = str(location)
    if ZARR_MAJOR < 3:
        if is_url(location):
            # zarr 2 turns every OSError into "missing key" (so a dropped connection would read as
            # fill values); only a real 404 (FileNotFoundError) may mean "no such chunk".
            return zarr.storage.FSStore(location, mode="r", exceptions=(KeyError, FileNotFoundError),
                                        **storage_options(location))
        return zarr.storage.DirectoryStore(location)
    if is_url(location):
        return zarr.storage.FsspecStore.from_url(location, read_only=True, storage_options=storage_options(location))
    return zarr.storage.LocalStore(location, read_only=True)


def open_group(store):
    """Open the group at the root of ``store`` read-only (zarr 3: without looking for consolidated metadata)."""
    options = {} if ZARR_MAJOR < 3 else {"use_consolidated": False}
    return zarr.open_group(store=store, mode="r", **options)


def cannot_read_format_3(has_key) -> bool:
    """Whether the installed zarr cannot read a store for which ``has_key("zarr.json")`` holds (zarr 2)."""
    return ZARR_MAJOR < 3 and has_key("zarr.json")
