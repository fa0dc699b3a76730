"""The local cache of crops fetched from the CryoET Data Portal.

A crop is looked up on the portal once, read from the tomogram's OME-Zarr
(level 0, only the chunks the crop touches) and stored as
``<cache>/crops/<key>/volume.npy`` next to ``provenance.json`` (dataset, run,
tomogram id, voxel spacing, crop box, SHA-256 of the voxels), where
``<cache>`` is the project's cache directory (:func:`zarr_cryoet.util.files.cache_root`).
Later uses read the cache and need no network.

Writes are atomic: a crop is assembled in a ``.partial-*`` directory and
renamed into place only when complete, so an interrupted download leaves
nothing that a later run could mistake for data; leftovers of killed runs are
removed at the next fetch.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from zarr_cryoet.util import files
from zarr_cryoet.util.errors import ZarrCryoetError

CACHE_ENV = files.CACHE_ENV


class CorruptCacheError(ZarrCryoetError):
    """A cached crop whose voxels no longer match their recorded checksum."""


def cache_root() -> Path:
    """The directory of the cached crops: ``crops/`` in the project's cache directory."""
    return files.cache_root() / "crops"


def crop_key(request) -> str:
    """The cache entry's name: the dataset, run, size and offset (not how it was read: the voxels are the same)."""
    (dataset, run), size, offset = request.portal_ids(), request.size, request.offset
    size_part = "full" if size is None else ("x".join(map(str, size)) if isinstance(size, tuple) else str(size))
    offset_part = "centre" if offset is None else "-".join(map(str, offset))
    return f"portal-{dataset}-{run or 'auto'}-{size_part}-{offset_part}"


def crop_dir(request) -> Path:
    """Where the crop a ``portal:`` :class:`~zarr_cryoet.data.request.SourceRequest` names is (or would be) cached."""
    return cache_root() / crop_key(request)


def sha256(volume: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(volume).tobytes()).hexdigest()


def read_cached(directory: Path) -> tuple[np.ndarray, dict] | None:
    """The crop cached in ``directory``, checked against its checksum; None if not cached."""
    meta_file, volume_file = directory / "provenance.json", directory / "volume.npy"
    if not (meta_file.is_file() and volume_file.is_file()):
        return None
    provenance = json.loads(meta_file.read_text())
    volume = np.load(volume_file)
    if sha256(volume) != provenance.get("sha256"):
        raise CorruptCacheError(
            f"the cached crop in {directory} is corrupt; fetch it again with: zarr-cryoet fetch --refresh")
    return volume, provenance


def write_cached(directory: Path, volume: np.ndarray, provenance: dict) -> None:
    """Store a crop atomically (all or nothing) in ``directory``."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f".partial-{os.getpid()}-", dir=directory.parent))
    try:
        np.save(partial / "volume.npy", volume)
        (partial / "provenance.json").write_text(json.dumps(provenance, indent=2) + "\n")
        if directory.exists():
            shutil.rmtree(directory)
        partial.rename(directory)
    finally:
        shutil.rmtree(partial, ignore_errors=True)


def remove_leftovers(root: Path) -> None:
    """Delete ``.partial-*`` directories of fetches that were killed (their process is gone)."""
    for partial in root.glob(".partial-*"):
        pid = partial.name.split("-")[1]
        if pid.isdigit() and _alive(int(pid)) and int(pid) != os.getpid():
            continue
        shutil.rmtree(partial, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def portal_crop(request, *, progress=False, refresh=False) -> tuple[np.ndarray, dict]:
    """The crop a ``portal:`` request names, from the cache, or fetched from the portal (and then cached).

    The tomogram's OME-Zarr is read from its ``https_omezarr_dir``, or from its ``s3_omezarr_dir`` when the
    request says ``via="s3"`` (the endpoint: ``$AWS_ENDPOINT_URL``, else AWS itself)."""
    directory = crop_dir(request)
    if not refresh:
        cached = read_cached(directory)
        if cached is not None:
            volume, provenance = cached
            return volume, {**provenance, "cache": str(directory)}
    from zarr_cryoet.data.portal import find_tomogram
    from zarr_cryoet.data.readers import read_zarr

    remove_leftovers(directory.parent)
    dataset, run = request.portal_ids()
    tomogram = find_tomogram(dataset, run, url=request.portal_url)
    location = tomogram.s3_omezarr_dir if request.via == "s3" else tomogram.https_omezarr_dir
    if progress:
        print(f"Reading a {request.size} crop of tomogram {tomogram.tomogram_id} (run {tomogram.run_name}) "
              f"from {location}", flush=True)
    volume, meta = read_zarr(location, size=request.size, offset=request.offset, level=0, progress=progress)
    volume = np.ascontiguousarray(volume, dtype=np.float32)
    provenance = {**tomogram.as_dict(), **meta, "read_from": location, "sha256": sha256(volume)}
    write_cached(directory, volume, provenance)
    return volume, {**provenance, "cache": str(directory)}
