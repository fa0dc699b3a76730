"""A store as the cloud sees it: serve it over HTTP on 127.0.0.1, read a pattern, count the requests.

Every chunk (or, with sharding, every shard index and inner chunk) that zarr
needs is one HTTP request to an object store such as S3 or the CryoET Data
Portal's HTTPS mirror, and each request costs a round trip and, on commercial
clouds, money. :func:`count_requests` measures it instead of arguing it:
the store directory is served by :class:`~zarr_cryoet.store.loopback.RecordingHTTPServer`,
zarr (2.x or 3.x) opens it by URL through fsspec exactly as it would open a
remote store, the selections are read (and checked against the volume), and
what arrived at the server is counted. Opening the array (metadata) is
counted separately from reading data.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from zarr_cryoet.util.errors import ZarrCryoetError
from zarr_cryoet.store import compat
from zarr_cryoet.store.loopback import RecordingHTTPServer

METADATA_NAMES = (".zarray", ".zattrs", ".zgroup", ".zmetadata", "zarr.json")


class ReadMismatchError(ZarrCryoetError):
    """Data read over HTTP differs from the volume it should equal."""


@dataclass(frozen=True)
class RequestCount:
    """What reading a pattern cost, as counted by the server."""

    data_gets: int  # GET requests for chunks, shards or shard ranges
    data_bytes: int  # body bytes of those GETs
    metadata_gets: int  # GET requests for metadata, opening the array
    seconds: float  # wall time of the reads (not of opening)


def open_http_array(url: str):
    """A read-only zarr array at an http(s) URL, on zarr 2 (FSStore) or zarr 3 (FsspecStore)."""
    return compat.open_array(url)


def _is_metadata(path: str) -> bool:
    return path.rsplit("/", 1)[-1].split("?")[0] in METADATA_NAMES


@contextlib.contextmanager
def served_array(store: str | Path, latency: float = 0.0, opener=None) -> Iterator[tuple[object, RecordingHTTPServer]]:
    """``store`` served on 127.0.0.1 and opened by URL, as zarr opens a remote store: ``(array, server)``.

    ``latency`` (seconds) delays every answer, like a distant object store. ``opener`` (URL ->
    array) opens it with another reader (an engine of :mod:`zarr_cryoet.engines`); by default
    zarr-python. The server stops when the block ends.
    """
    store = Path(store)
    if not store.is_dir():
        raise FileNotFoundError(f"no Zarr store at {store}; write it first with write_store()")
    with RecordingHTTPServer(store.parent, latency=latency) as server:
        yield (opener or open_http_array)(f"{server.url}/{store.name}"), server


def count_requests(store: str | Path, selections, volume: np.ndarray | None = None,
                   latency: float = 0.0, opener=None) -> RequestCount:
    """Serve ``store`` on 127.0.0.1, read every selection once by URL, and count the GETs.

    With ``volume``, every read is checked against it (ReadMismatchError if it
    differs). ``latency`` (seconds) delays every answer, like a distant store.
    ``opener`` as in :func:`served_array`.
    """
    with served_array(store, latency, opener) as (array, server):
        opened = server.requests
        server.reset()
        t0 = time.perf_counter()
        for selection in selections:
            data = array[selection]
            if volume is not None and not np.array_equal(data, volume[selection]):
                raise ReadMismatchError(f"reading {selection} over HTTP from {Path(store).name} returned other data")
        seconds = time.perf_counter() - t0
        requests = server.requests
    data = [r for r in requests if r.method == "GET" and not _is_metadata(r.path)]
    return RequestCount(data_gets=len(data), data_bytes=sum(r.bytes for r in data),
                        metadata_gets=sum(r.method == "GET" and _is_metadata(r.path) for r in opened + requests),
                        seconds=seconds)
