"""Read a crop of a real tomogram from an MRC file or a (OME-)Zarr, local or over HTTP(S).

Both readers return ``(volume, meta)``: ``volume`` is a C-contiguous float32
(z, y, x) array holding only the crop (see :mod:`zarr_cryoet.data.crop`; a centred
128³ cube unless told otherwise) and ``meta`` is a JSON-ready dict describing
where it came from (``voxel_size`` in Å as (z, y, x), ``volume_shape``,
``crop``; for Zarr also ``level`` and ``array_path``).

Only the crop is read: MRC files are memory-mapped, and Zarr arrays are sliced,
so zarr fetches just the chunks the crop touches. Remote Zarr goes through
zarr's own fsspec support. Every problem with the input raises a
:class:`~zarr_cryoet.util.errors.ZarrCryoetError` with a one-line message that
names the problem and the fix.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from zarr_cryoet.store import compat
from zarr_cryoet.data.crop import DEFAULT_CROP_SIZE, Crop, make_crop
from zarr_cryoet.util.errors import FormatUnavailableError, InvalidVolumeError, ZarrCryoetError

# Length units of OME-Zarr axes, in Å.
_ANGSTROM_PER_UNIT = {"angstrom": 1.0, "nanometer": 10.0, "micrometer": 1e4}


class SourceNotFoundError(ZarrCryoetError, FileNotFoundError):
    """No file, directory or URL at the given location."""


class SourceUnreachableError(ZarrCryoetError, ConnectionError):
    """The server of a URL cannot be reached or refuses the request."""


class NotMrcError(ZarrCryoetError, ValueError):
    """A file that is not a readable MRC/MRCS file (wrong format, corrupt or truncated)."""


class NotZarrError(ZarrCryoetError, ValueError):
    """A location that holds no Zarr array, nor an OME-Zarr image group."""


class InvalidLevelError(ZarrCryoetError, ValueError):
    """A multiscale level that the OME-Zarr image does not have."""


# ----------------------------------------------------------------------------- MRC

def read_mrc(path, size=DEFAULT_CROP_SIZE, offset=None) -> tuple[np.ndarray, dict]:
    """Read a crop of the MRC/MRCS file at ``path`` (memory-mapped: only the crop is copied).

    ``size`` is an int, a (z, y, x) tuple or None for the whole volume;
    ``offset`` is the crop's (z, y, x) start, or None to centre it.
    """
    import mrcfile

    path = Path(path)
    if not path.exists():
        raise SourceNotFoundError(f"no such MRC file: {path}; check the path")
    if not path.is_file():
        raise NotMrcError(f"{path} is a directory, not an MRC file; give the path of a .mrc or .mrcs file")
    try:
        mrc = mrcfile.mmap(path, mode="r", permissive=False)
    except ValueError as err:
        raise NotMrcError(
            f"{path} is not a readable MRC file ({_one_line(err)}); check that it is a complete .mrc/.mrcs file"
        ) from None
    with mrc:
        data = mrc.data
        _check_volume(data.shape, data.dtype, f"the MRC file {path}",
                      "give a tomogram or an image stack, not a single image")
        crop = make_crop(data.shape, size, offset)
        # Copy just the crop out of the memory map (into a plain ndarray) before the map is closed.
        volume = np.array(data[crop.slices()], dtype=np.float32, order="C", copy=True)
        voxel = mrc.voxel_size
        voxel_size = (float(voxel.z), float(voxel.y), float(voxel.x))
    return volume, {
        "voxel_size": voxel_size if any(voxel_size) else None,  # 0 means "not set" in MRC
        "volume_shape": [int(n) for n in data.shape],
        "crop": crop.as_dict(),
    }


# ----------------------------------------------------------------------------- Zarr

def read_zarr(path_or_url, size=DEFAULT_CROP_SIZE, offset=None, level=None, *,
              progress: bool = False) -> tuple[np.ndarray, dict]:
    """Read a crop of an OME-Zarr image (multiscale ``level``, default 0) or of a plain Zarr array.

    ``path_or_url`` is a local directory, an ``http(s)://`` URL or an ``s3://`` URL (the endpoint:
    ``$AWS_ENDPOINT_URL``, see :func:`zarr_cryoet.store.compat.storage_options`). Only the
    chunks that the crop touches are read. ``progress`` prints one line saying
    what is fetched.
    """
    location = str(path_or_url).rstrip("/")
    remote = _is_url(location)
    if not remote:
        _check_local_dir(Path(location))
    try:
        array, array_path, level, voxel_size = _open_level(location, level)
        _check_volume(array.shape, array.dtype, f"the Zarr array at {_join(location, array_path)}",
                      "pick a single channel or tomogram and store it as its own 3-D array")
        crop = make_crop(array.shape, size, offset)
        if progress:
            volume = _read_with_progress(array, crop, f"{_join(location, array_path)}")
        else:
            volume = np.ascontiguousarray(array[crop.slices()], dtype=np.float32)
    except _network_errors() as err:
        if not remote or isinstance(err, ZarrCryoetError):
            raise
        raise _unreachable(location, err) from None
    return volume, {
        "voxel_size": voxel_size,
        "volume_shape": [int(n) for n in array.shape],
        "crop": crop.as_dict(),
        "level": level,
        "array_path": array_path,
    }


def _read_with_progress(array, crop, where: str) -> np.ndarray:
    """Read ``crop`` in z-slabs aligned to the chunk grid, with a tqdm bar counting chunks.

    Slabs follow chunk boundaries, so every chunk is still fetched exactly once.
    """
    from tqdm import tqdm

    out = np.empty(crop.shape, dtype=np.float32)
    (z0, y0, x0), (nz, ny, nx) = crop.start, crop.shape
    cz, cy, cx = array.chunks
    per_slab = (-(-(y0 + ny) // cy) - y0 // cy) * (-(-(x0 + nx) // cx) - x0 // cx)
    edges = sorted({z0, z0 + nz, *range((z0 // cz + 1) * cz, z0 + nz, cz)})
    with tqdm(total=_chunks_touched(crop, array.chunks), unit="chunk", desc=f"fetching {where}") as bar:
        for lo, hi in zip(edges, edges[1:]):
            out[lo - z0:hi - z0] = array[lo:hi, y0:y0 + ny, x0:x0 + nx]
            bar.update(per_slab)
    return out


def _open_level(location: str, level) -> tuple[object, str, int | None, tuple | None]:
    """The array to read: ``(array, path in the store, level or None, voxel size in Å or None)``."""
    store = compat.read_only_store(location)
    node = _open_node(store, location)
    if isinstance(node, zarr_array_type()):
        if level not in (None, 0):
            raise InvalidLevelError(
                f"{location} is a single Zarr array without multiscale levels; omit the level (or use 0)")
        return node, "", None, None
    multiscale = _multiscale(node.attrs)
    if multiscale is None:
        raise NotZarrError(
            f"{location} is a Zarr group without OME-Zarr multiscales; give an OME-Zarr image "
            f"or the path of one of its arrays")
    datasets = multiscale.get("datasets") or []
    paths = [str(d.get("path")) for d in datasets]
    level = 0 if level is None else level
    if isinstance(level, bool) or not isinstance(level, (int, np.integer)) or not 0 <= level < len(paths):
        available = ", ".join(f"{i} ({p!r})" for i, p in enumerate(paths)) or "none"
        raise InvalidLevelError(f"level {level!r} is not in {location}; choose one of its levels: {available}")
    try:
        array = node[paths[level]]
    except KeyError:
        array = None
    if not isinstance(array, zarr_array_type()):
        raise NotZarrError(
            f"level {level} of {location} names array {paths[level]!r}, which is missing; "
            f"check the OME-Zarr or choose another level")
    return array, paths[level], int(level), _voxel_size(multiscale, datasets[level], array.ndim)


def _multiscale(attrs) -> dict | None:
    """The first NGFF multiscale, from ``attributes["ome"]`` (NGFF 0.5) or the top level (<= 0.4)."""
    attrs = dict(attrs)
    multiscales = (attrs.get("ome") or {}).get("multiscales") or attrs.get("multiscales")
    return multiscales[0] if isinstance(multiscales, list) and multiscales else None


def _voxel_size(multiscale: dict, dataset: dict, ndim: int) -> tuple[float, ...] | None:
    """The dataset's ``scale`` transformation, in Å where the axes' units say how; None if absent."""
    scales = [t.get("scale") for t in dataset.get("coordinateTransformations") or []
              if t.get("type") == "scale"]
    if not scales or not isinstance(scales[0], list) or len(scales[0]) != ndim:
        return None
    axes = multiscale.get("axes") or []
    factors = [1.0] * ndim
    if len(axes) == ndim:
        units = [a.get("unit") if isinstance(a, dict) else None for a in axes]
        if any(u is not None and u not in _ANGSTROM_PER_UNIT for u in units):
            return None  # not a length we know how to express in Å
        factors = [_ANGSTROM_PER_UNIT.get(u, 1.0) for u in units]
    return tuple(float(s) * f for s, f in zip(scales[0], factors))


# ------------------------------------------------------- zarr 2 / zarr 3 differences

def zarr_array_type() -> type:
    """``zarr.Array`` (``zarr.core.Array`` on zarr 2, ``zarr.core.array.Array`` on zarr 3)."""
    import zarr

    return zarr.Array


def _open_node(store, location: str):
    """The group (tried first: OME-Zarr images are groups) or array at the root of ``store``."""
    import zarr

    not_found = (ValueError, KeyError, FileNotFoundError)  # the "nothing of that kind here" errors
    try:
        return compat.open_group(store)
    except not_found:
        pass
    try:
        return zarr.open_array(store=store, mode="r")
    except not_found:
        raise _nothing_found(store, location) from None


def _nothing_found(store, location: str) -> ZarrCryoetError:
    """Why no array or group opened: no such URL, unreachable server, zarr 3 data on zarr 2, or not Zarr."""
    if _is_url(location):
        problem = _probe_url(location)
        if problem is not None:
            return problem
    if compat.cannot_read_format_3(lambda key: _has_key(store, key)):
        return FormatUnavailableError(
            f"{location} is zarr format 3, which zarr {compat.ZARR_VERSION} cannot read; install zarr>=3")
    return NotZarrError(
        f"{location} is not a Zarr array or group (no readable .zarray, .zgroup or zarr.json); "
        f"give the path of an OME-Zarr image or a Zarr array")


def _has_key(store, key: str) -> bool:
    try:
        return key in store
    except Exception:  # noqa: BLE001 - only used to improve an error message
        return False


# ----------------------------------------------------------------------------- helpers

_is_url = compat.is_url


def _join(location: str, path: str) -> str:
    return f"{location}/{path}" if path else location


def _check_local_dir(path: Path) -> None:
    if not path.exists():
        raise SourceNotFoundError(
            f"no such Zarr directory: {path}; check the path (or give an http:// or https:// URL)")
    if not path.is_dir():
        raise NotZarrError(f"{path} is a file, not a Zarr directory; give an OME-Zarr or Zarr array directory")


def _check_volume(shape, dtype, what: str, fix: str) -> None:
    """Reject data that is not a non-empty, real-valued 3-D array."""
    if len(shape) != 3:
        raise InvalidVolumeError(f"{what} has shape {tuple(shape)}, which is not 3-D (z, y, x); {fix}")
    dtype = np.dtype(dtype)
    if dtype == bool or not (np.issubdtype(dtype, np.integer) or np.issubdtype(dtype, np.floating)):
        raise InvalidVolumeError(f"{what} has dtype {dtype}, not a real number type; convert it to float32")
    if 0 in shape:
        raise InvalidVolumeError(f"{what} is empty (shape {tuple(shape)}); give a non-empty tomogram")


def _chunks_touched(crop: Crop, chunks) -> int:
    return math.prod((s + n - 1) // c - s // c + 1 for s, n, c in zip(crop.start, crop.shape, chunks))


def _network_errors() -> tuple[type[BaseException], ...]:
    """What fsspec's HTTP and S3 filesystems raise when the network or server fails."""
    errors: tuple[type[BaseException], ...] = (OSError,)
    try:
        from aiohttp import ClientError

        errors += (ClientError,)
    except ImportError:
        pass
    try:
        from botocore.exceptions import BotoCoreError

        errors += (BotoCoreError,)
    except ImportError:
        pass
    return errors


def probe_s3(location: str, timeout: float = 10) -> str:
    """Ask the S3 endpoint for ``location`` (an object or a prefix) within ``timeout`` seconds.

    Returns the endpoint's name; raises :class:`SourceNotFoundError` when it answers that nothing is
    there, :class:`SourceUnreachableError` when it does not answer (or s3fs is missing)."""
    import os

    import fsspec

    endpoint = os.environ.get(compat.S3_ENDPOINT_ENV, "").strip() or "AWS S3"
    try:
        fs, path = fsspec.core.url_to_fs(location, **compat.storage_options(location, timeout))
        fs.info(path)
    except ImportError:
        raise SourceUnreachableError(f"reading {location} needs s3fs; pip install s3fs") from None
    except FileNotFoundError:
        raise SourceNotFoundError(f"nothing at {location} on {endpoint}; check the bucket and key "
                                  f"(and ${compat.S3_ENDPOINT_ENV})") from None
    except Exception as err:  # noqa: BLE001 - any other failure: the endpoint did not answer usably
        raise SourceUnreachableError(f"cannot read {location} from {endpoint} ({_one_line(_root_cause(err))}); "
                                     f"check ${compat.S3_ENDPOINT_ENV} and the network") from None
    return endpoint


def _probe_url(url: str) -> ZarrCryoetError | None:
    """Ask the server about ``url`` itself: an error if it is unreachable or answers 404, else None."""
    import fsspec

    if url.lower().startswith("s3://"):
        try:
            probe_s3(url)
        except ZarrCryoetError as err:
            return err
        return None
    try:
        fs, _ = fsspec.core.url_to_fs(url)
        fs.info(url)
    except Exception as err:  # noqa: BLE001 - classified below
        status = _http_status(err)
        if status in (404, 410):
            return SourceNotFoundError(f"no Zarr array or group at {url} (HTTP {status}); check the address")
        return _unreachable(url, err)
    return None


def _unreachable(url: str, err: BaseException) -> SourceUnreachableError:
    status = _http_status(err)
    reason = f"HTTP {status}" if status else _one_line(_root_cause(err))
    return SourceUnreachableError(f"cannot reach URL {url} ({reason}); check the address or use a local copy")


def _http_status(err: BaseException) -> int | None:
    """The HTTP status of the first error in the cause chain that carries one (aiohttp's ``status``)."""
    while err is not None:
        status = getattr(err, "status", None)
        if isinstance(status, int):
            return status
        err = err.__cause__ or err.__context__
    return None


def _root_cause(err: BaseException) -> BaseException:
    while (err.__cause__ or err.__context__) is not None:
        err = err.__cause__ or err.__context__
    return err


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split()) or type(err).__name__
