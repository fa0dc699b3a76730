"""Data sources: one spec string names the tomogram every benchmark runs on.

=========================  ===================================================
spec                       data
=========================  ===================================================
``phantom``                the embedded synthetic tomogram, 128³ (default)
``phantom:SIZE``           the same at SIZE³, e.g. ``phantom:256``
``portal:DATASET[/RUN]``   a crop of a CryoET Data Portal tomogram (default
                           dataset 10445), read from its OME-Zarr over HTTPS
                           and cached locally with its provenance
``mrc:PATH``               a crop of a local MRC/MRCS file
``zarr:PATH_OR_URL``       a crop of an OME-Zarr image (level 0 unless told)
                           or a plain array, local or http(s)://
=========================  ===================================================

Crops are centred cubes of ``size`` voxels (default 128) unless an ``offset``
is given. The benchmarks read the spec from ``$ZARR_CRYOET_SOURCE`` and the
crop from ``$ZARR_CRYOET_SIZE``, ``$ZARR_CRYOET_OFFSET`` and
``$ZARR_CRYOET_LEVEL``; the portal endpoint can be changed with
``$ZARR_CRYOET_PORTAL_URL`` and the cache directory with
``$ZARR_CRYOET_CACHE``. :func:`check` says, without loading anything, whether
a request can be loaded here (``zarr-cryoet check-source`` for the environment,
which ``tasks.py`` runs before asv).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from zarr_cryoet.data.crop import DEFAULT_CROP_SIZE, Crop, InvalidCropError, make_crop
from zarr_cryoet.errors import ZarrCryoetError
from zarr_cryoet.data.phantom import DEFAULT_SHAPE

SOURCE_ENV = "ZARR_CRYOET_SOURCE"
SIZE_ENV = "ZARR_CRYOET_SIZE"
OFFSET_ENV = "ZARR_CRYOET_OFFSET"
LEVEL_ENV = "ZARR_CRYOET_LEVEL"
PORTAL_URL_ENV = "ZARR_CRYOET_PORTAL_URL"
DEFAULT_SOURCE = "phantom"
#: The CryoET Data Portal dataset of ``portal:`` without an id: the CZII CryoET Object
#: Identification challenge (e.g. its run "TS_100_3" is a 630×630×184 float32 tomogram at 10.012 Å).
DEFAULT_DATASET = 10445
KINDS = ("phantom", "portal", "mrc", "zarr")


class InvalidSourceError(ZarrCryoetError, ValueError):
    """A source spec that cannot be understood."""


@dataclass(frozen=True)
class SourceRequest:
    """A parsed spec plus the crop options: everything that decides which voxels are loaded."""

    kind: str
    target: str = ""
    size: int | tuple[int, int, int] | None = DEFAULT_CROP_SIZE
    offset: tuple[int, int, int] | None = None
    level: int | None = None
    portal_url: str | None = None

    @property
    def spec(self) -> str:
        return f"{self.kind}:{self.target}" if self.target else self.kind

    def identity(self) -> str:
        """A short label naming the data, e.g. ``portal:10445/TS_100_3 128³@centre``.

        It is computed without any I/O, so benchmarks can use it as a parameter:
        results on different data then never mix in the dashboard.
        """
        if self.kind == "phantom":
            return f"phantom {_phantom_label(_phantom_shape(self.target, self.spec))} float32"
        size = "full" if self.size is None else _format_size(self.size)
        where = "centre" if self.offset is None else ",".join(map(str, self.offset))
        level = f" level {self.level}" if self.level else ""
        return f"{self.spec} {size}@{where}{level} float32"


@dataclass
class LoadedData:
    """A loaded volume and where it came from."""

    volume: np.ndarray
    provenance: dict = field(default_factory=dict)
    #: known particle centres (z, y, x), int ``(n, 3)``: the phantom's ground truth; None for real data
    particles: np.ndarray | None = None
    #: the phantom's noise-free volume (``load(..., truth=True)``); None for real data
    truth: np.ndarray | None = None


def parse_source(spec: str | None = None, *, size=DEFAULT_CROP_SIZE, offset=None, level=None,
                 portal_url=None) -> SourceRequest:
    """Check a spec string and bundle it with the crop options."""
    spec = (spec or DEFAULT_SOURCE).strip()
    kind, sep, target = spec.partition(":")
    if kind not in KINDS:
        raise InvalidSourceError(
            f"unknown data source {spec!r}; use phantom, phantom:SIZE, portal:DATASET[/RUN], "
            f"mrc:PATH or zarr:PATH_OR_URL")
    if kind == "phantom":
        _phantom_shape(target, spec)
    elif kind == "portal":
        target = target or str(DEFAULT_DATASET)
        portal_ids(target, spec)
    elif not target:
        raise InvalidSourceError(f"{kind}: needs a path, e.g. {kind}:/data/tomogram.{'mrc' if kind == 'mrc' else 'zarr'}")
    if offset is not None and not isinstance(offset, tuple):
        offset = _parse_ints(offset, "offset")
    if isinstance(size, str):
        size = _parse_size(size)
    return SourceRequest(kind, target, size, offset, level, portal_url)


def request_from_env() -> SourceRequest:
    """The request described by the ``ZARR_CRYOET_*`` environment variables.

    A value that cannot be understood is an :class:`InvalidSourceError` naming its variable.
    """
    size = _from_env(SIZE_ENV, _parse_size, DEFAULT_CROP_SIZE)
    offset = _from_env(OFFSET_ENV, lambda text: _parse_ints(text, "offset"))
    level = _from_env(LEVEL_ENV, _parse_level)
    portal_url = _from_env(PORTAL_URL_ENV, _parse_url)
    return _from_env(SOURCE_ENV, lambda spec: parse_source(spec, size=size, offset=offset, level=level,
                                                           portal_url=portal_url),
                     parse_source(DEFAULT_SOURCE, size=size, offset=offset, level=level, portal_url=portal_url))


def _from_env(name: str, parse, default=None):
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        return parse(text)
    except InvalidSourceError as err:
        raise InvalidSourceError(f"${name}: {err}") from None


def _parse_size(text: str):
    return None if text in ("full", "all") else _parse_ints(text, "size", minimum=1)


def _parse_level(text: str) -> int:
    if not text.isdigit():
        raise InvalidSourceError(f"bad multiscale level {text!r}; give a whole number >= 0 (0 is full "
                                 "resolution), or leave it unset")
    return int(text)


def _parse_url(text: str) -> str:
    if not text.startswith(("http://", "https://")):
        raise InvalidSourceError(f"{text!r} is not an http(s) URL; give the portal's GraphQL endpoint "
                                 "(https://.../graphql), or leave it unset for the public portal")
    return text


def source_from_env() -> str:
    """The spec in ``$ZARR_CRYOET_SOURCE``, or the default."""
    return request_from_env().spec


def load(request: SourceRequest, *, progress: bool = False, truth: bool = False) -> LoadedData:
    """Load the requested volume as C-contiguous float32 (z, y, x), with its provenance.

    ``truth``: also build the phantom's noise-free volume (real data has none: ``truth`` stays None).
    """
    particles = noise_free = None
    if request.kind == "phantom":
        shape = _phantom_shape(request.target, request.spec)
        if truth:
            from zarr_cryoet.data.phantom import make_phantom

            built = make_phantom(shape, truth=True)
        else:
            from zarr_cryoet.data.phantom_cache import load_phantom

            built = load_phantom(shape)  # large ones from the cache, built once per machine
        volume, particles, noise_free = built.volume, built.particle_centres, built.truth
        # The phantom has no physical pixel size; it is modelled on dataset 10445's 10.012 Å.
        meta = {"model": "zarr_cryoet.data.phantom", "seed": 0, "voxel_size": 10.012}
    elif request.kind == "portal":
        from zarr_cryoet.data import crop_cache  # imports the portal client only when needed

        dataset, run = portal_ids(request.target, request.spec)
        volume, meta = crop_cache.portal_crop(dataset, run, size=request.size, offset=request.offset,
                                         url=request.portal_url, progress=progress)
    elif request.kind == "mrc":
        from zarr_cryoet.data.readers import read_mrc

        volume, meta = read_mrc(request.target, size=request.size, offset=request.offset)
    else:
        from zarr_cryoet.data.readers import read_zarr

        volume, meta = read_zarr(request.target, size=request.size, offset=request.offset,
                                 level=request.level)
    volume = np.ascontiguousarray(volume, dtype=np.float32)
    provenance = {"source": request.spec, "identity": request.identity(), **meta,
                  "shape": list(volume.shape), "dtype": str(volume.dtype)}
    return LoadedData(volume, provenance, particles, noise_free)


def load_source(spec: str = DEFAULT_SOURCE, **options) -> np.ndarray:
    """Load the volume that ``spec`` names (see :func:`parse_source` for the options)."""
    return load(parse_source(spec, **options)).volume


def _parse_ints(text: str, what: str, minimum: int = 0) -> int | tuple[int, int, int]:
    try:
        values = tuple(int(v) for v in str(text).replace("x", ",").split(","))
    except ValueError:
        values = ()
    if len(values) not in (1, 3) or min(values) < minimum:
        raise InvalidSourceError(f"bad crop {what} {text!r}; give one or three integers >= {minimum}, "
                                 "e.g. 128 or 64,128,128")
    return values[0] if len(values) == 1 else values


def _format_size(size) -> str:
    return f"{size}³" if isinstance(size, int) else "x".join(map(str, size))


def _phantom_shape(arg: str, spec: str) -> tuple[int, int, int]:
    """``""`` -> the default shape; ``"256"`` -> 256³; ``"184x630x630"`` -> (z, y, x)."""
    if not arg:
        return DEFAULT_SHAPE
    from zarr_cryoet.errors import InvalidChunksError
    from zarr_cryoet.store.stores import parse_chunks  # the one parser of Z x Y x X triples

    try:
        return parse_chunks(arg)
    except InvalidChunksError:
        raise InvalidSourceError(
            f"bad phantom size in {spec!r}; give a positive edge length or Z x Y x X, e.g. phantom:256 "
            "or phantom:184x630x630") from None


def _phantom_label(shape: tuple[int, int, int]) -> str:
    return f"{shape[0]}³" if len(set(shape)) == 1 else "x".join(map(str, shape))


def portal_ids(target: str, spec: str) -> tuple[int, str | None]:
    dataset, _, run = target.partition("/")
    if not dataset.isdigit():
        raise InvalidSourceError(f"bad portal dataset in {spec!r}; write portal:DATASET_ID[/RUN], "
                                 f"e.g. portal:{DEFAULT_DATASET}/TS_100_3")
    return int(dataset), run or None


def check(request: SourceRequest, *, timeout: float = 10) -> str:
    """Whether ``request`` can be loaded here, without loading it: a line saying why, or an error saying why not.

    ``phantom``: always. ``portal:``: the crop is cached (and intact), or the portal answers the lookup within
    ``timeout`` seconds and the crop fits the tomogram. ``mrc:``/``zarr:``: the file or directory exists, or
    an ``http(s)://`` server answers within ``timeout``.
    """
    label = request.identity()
    if request.kind == "phantom":
        return f"data: {label} (generated here)"
    if request.kind == "portal":
        return _check_portal(request, label, timeout)
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

    dataset, run = portal_ids(request.target, request.spec)
    directory = crop_cache.crop_dir(dataset, run, request.size, request.offset)
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


__all__ = ["Crop", "LoadedData", "SourceRequest", "check", "load", "load_source", "make_crop", "parse_source",
           "request_from_env", "source_from_env", "SOURCE_ENV", "DEFAULT_DATASET", "DEFAULT_SOURCE",
           "InvalidSourceError"]
