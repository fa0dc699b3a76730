"""Data sources: load the voxels a :class:`~zarr_cryoet.data.request.SourceRequest` names, or say why not.

The request (the spec, the crop, how it is read) is parsed once, in :mod:`zarr_cryoet.data.request`;
here it is loaded (:func:`load`), or checked without loading anything (:func:`check`:
``zarr-cryoet check-source`` for the environment, which ``tasks.py`` runs before asv). Crops of
portal tomograms are cached locally with their provenance (:mod:`zarr_cryoet.data.crop_cache`);
the cache directory is ``$ZARR_CRYOET_CACHE``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from zarr_cryoet.data.crop import Crop, InvalidCropError, make_crop
from zarr_cryoet.data.request import (DEFAULT_DATASET, DEFAULT_SOURCE, LEVEL_ENV, OFFSET_ENV,  # noqa: F401
                                      PORTAL_URL_ENV, SIZE_ENV, SOURCE_ENV, InvalidSourceError, SourceRequest)


@dataclass
class LoadedData:
    """A loaded volume and where it came from."""

    volume: np.ndarray
    provenance: dict = field(default_factory=dict)
    #: known particle centres (z, y, x), int ``(n, 3)``: the phantom's ground truth; None for real data
    particles: np.ndarray | None = None
    #: the phantom's noise-free volume (``load(..., truth=True)``); None for real data
    truth: np.ndarray | None = None
    #: ``(even, odd)`` half maps of the volume: the phantom's (``load(..., halves=True)``) or a ``halves:`` pair's;
    #: None for a single real tomogram
    halves: tuple[np.ndarray, np.ndarray] | None = None


def load(request: SourceRequest, *, progress: bool = False, truth: bool = False, halves: bool = False) -> LoadedData:
    """Load the requested volume as C-contiguous float32 (z, y, x), with its provenance.

    ``truth``: also build the phantom's noise-free volume (real data has none: ``truth`` stays None).
    ``halves``: also build the phantom's even/odd half maps. A ``halves:EVEN,ODD`` source always has them
    (the volume is their average); a single real tomogram has none.
    """
    if request.kind == "halves":
        return _load_pair(request, progress)
    particles = noise_free = pair = None
    if request.kind == "phantom":
        shape = request.phantom_shape()
        if truth:
            from zarr_cryoet.data.phantom import make_phantom

            built = make_phantom(shape, truth=True, halves=halves)
        else:
            from zarr_cryoet.data.phantom_cache import load_phantom

            built = load_phantom(shape, halves=halves)  # large ones from the cache, built once per machine
        volume, particles, noise_free, pair = built.volume, built.particle_centres, built.truth, built.halves
        # The phantom has no physical pixel size; it is modelled on dataset 10445's 10.012 Å.
        meta = {"model": "zarr_cryoet.data.phantom", "seed": 0, "voxel_size": 10.012}
    elif request.kind == "portal":
        from zarr_cryoet.data import crop_cache  # imports the portal client only when needed

        volume, meta = crop_cache.portal_crop(request, progress=progress)
    elif request.kind == "mrc":
        from zarr_cryoet.data.readers import read_mrc

        volume, meta = read_mrc(request.location, size=request.size, offset=request.offset)
    else:  # zarr: and s3://
        from zarr_cryoet.data.readers import read_zarr

        volume, meta = read_zarr(request.location, size=request.size, offset=request.offset,
                                 level=request.level)
    volume = np.ascontiguousarray(volume, dtype=np.float32)
    provenance = {"source": request.spec, "identity": request.identity(), **meta,
                  "shape": list(volume.shape), "dtype": str(volume.dtype)}
    return LoadedData(volume, provenance, particles, noise_free, pair)


def _load_pair(request: SourceRequest, progress: bool) -> LoadedData:
    """Both halves of a ``halves:`` pair (the same crop of each); the volume is their average."""
    even, odd = (load(half, progress=progress) for half in request.half_requests())
    if even.volume.shape != odd.volume.shape:
        raise InvalidSourceError(f"{request.spec}: the half maps differ in shape ({even.volume.shape} and "
                                 f"{odd.volume.shape}); give the even and the odd half of one tomogram")
    volume = ((even.volume.astype(np.float64) + odd.volume) / 2).astype(np.float32)
    meta = {key: value for key, value in even.provenance.items() if key not in ("source", "identity")}
    provenance = {**meta, "source": request.spec, "identity": request.identity(),
                  "halves": [even.provenance, odd.provenance], "volume": "the average of the two half maps"}
    return LoadedData(volume, provenance, halves=(even.volume, odd.volume))


def load_source(spec: str = DEFAULT_SOURCE, **options) -> np.ndarray:
    """Load the volume that ``spec`` names (see :meth:`SourceRequest.parse` for the options)."""
    return load(SourceRequest.parse(spec, **options)).volume


def check(request: SourceRequest, *, timeout: float = 10) -> str:
    """Whether ``request`` can be loaded here, without loading it: a line saying why, or an error saying why not.

    ``phantom``: always. ``portal:``: the crop is cached (and intact), or the portal answers the lookup within
    ``timeout`` seconds and the crop fits the tomogram. ``mrc:``/``zarr:``: the file or directory exists, or
    an ``http(s)://`` server answers within ``timeout``. ``s3://``: the endpoint lists the key within ``timeout``.
    """
    label = request.identity()
    if request.kind == "phantom":
        return f"data: {label} (generated here)"
    if request.kind == "halves":
        return f"data: {label} (" + "; ".join(check(half, timeout=timeout).removeprefix("data: ")
                                              for half in request.half_requests()) + ")"
    if request.kind == "portal":
        return _check_portal(request, label, timeout)
    if request.kind == "s3":
        from zarr_cryoet.data.readers import probe_s3
        from zarr_cryoet.util.errors import ZarrCryoetError

        try:
            endpoint = probe_s3(request.location, timeout)
        except ZarrCryoetError as err:
            raise InvalidSourceError(f"${SOURCE_ENV}={request.spec}: {err}") from None
        return f"data: {label} (on {endpoint})"
    if request.target.startswith(("http://", "https://")):
        import urllib.error
        import urllib.request

        try:
            urllib.request.urlopen(urllib.request.Request(request.target, method="HEAD"), timeout=timeout).close()
        except urllib.error.HTTPError:
            pass  # the server answered; whether the array is there shows when it is read
        except (urllib.error.URLError, OSError, ValueError) as err:
            raise InvalidSourceError(f"${SOURCE_ENV}={request.spec}: cannot reach {request.target} "
                                     f"({getattr(err, 'reason', err)}); check the URL and the network") from None
        return f"data: {label} (server answers)"
    if not os.path.exists(request.target):
        raise InvalidSourceError(f"${SOURCE_ENV}={request.spec}: {request.target} does not exist; give the path "
                                 f"of an existing {'MRC file' if request.kind == 'mrc' else 'Zarr directory'}")
    return f"data: {label} ({request.target})"


def _check_portal(request: SourceRequest, label: str, timeout: float) -> str:
    from zarr_cryoet.data import crop_cache
    from zarr_cryoet.data.portal import PortalNotFoundError, PortalUnreachableError, find_tomogram

    dataset, run = request.portal_ids()
    directory = crop_cache.crop_dir(request)
    if crop_cache.read_cached(directory) is not None:
        return f"data: {label} (cached in {directory})"
    try:
        tomogram = find_tomogram(dataset, run, url=request.portal_url, timeout=timeout)
        make_crop(tomogram.size_zyx, request.size, request.offset)
    except PortalUnreachableError as err:
        raise InvalidSourceError(
            f"${SOURCE_ENV}={request.spec}: the crop is not cached and {err.reason}; fetch it once where the "
            f"portal is reachable (zarr-cryoet fetch --source {request.spec}, same size and offset), set "
            f"${PORTAL_URL_ENV}, or use {SOURCE_ENV}=phantom") from None
    except PortalNotFoundError as err:
        raise InvalidSourceError(f"${SOURCE_ENV}={request.spec}: {err}") from None
    except InvalidCropError as err:
        raise InvalidSourceError(f"${SOURCE_ENV}={request.spec} (${SIZE_ENV}, ${OFFSET_ENV}): {err}") from None
    return f"data: {label} (not cached yet: tomogram {tomogram.tomogram_id} of run {tomogram.run_name} " \
           "is read on first use)"


__all__ = ["Crop", "LoadedData", "SourceRequest", "check", "load", "load_source", "make_crop", "SOURCE_ENV",
           "DEFAULT_DATASET", "DEFAULT_SOURCE", "InvalidSourceError"]
