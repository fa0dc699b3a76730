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
``$ZARR_CRYOET_CACHE``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from zarr_cryoet.data.crop import DEFAULT_CROP_SIZE, Crop, make_crop
from zarr_cryoet.errors import ZarrCryoetError
from zarr_cryoet.data.phantom import DEFAULT_SHAPE, make_phantom

SOURCE_ENV = "ZARR_CRYOET_SOURCE"
SIZE_ENV = "ZARR_CRYOET_SIZE"
OFFSET_ENV = "ZARR_CRYOET_OFFSET"
LEVEL_ENV = "ZARR_CRYOET_LEVEL"
PORTAL_URL_ENV = "ZARR_CRYOET_PORTAL_URL"
DEFAULT_SOURCE = "phantom"
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
            return f"phantom {_phantom_shape(self.target, self.spec)[0]}³ float32"
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
        target = target or "10445"
        portal_ids(target, spec)
    elif not target:
        raise InvalidSourceError(f"{kind}: needs a path, e.g. {kind}:/data/tomogram.{'mrc' if kind == 'mrc' else 'zarr'}")
    if offset is not None and not isinstance(offset, tuple):
        offset = _parse_ints(offset, "offset")
    if isinstance(size, str):
        size = None if size in ("full", "all") else _parse_ints(size, "size")
    return SourceRequest(kind, target, size, offset, level, portal_url)


def request_from_env() -> SourceRequest:
    """The request described by the ``ZARR_CRYOET_*`` environment variables."""
    env = os.environ
    level = env.get(LEVEL_ENV, "").strip()
    return parse_source(
        env.get(SOURCE_ENV, "").strip() or DEFAULT_SOURCE,
        size=env.get(SIZE_ENV, "").strip() or DEFAULT_CROP_SIZE,
        offset=env.get(OFFSET_ENV, "").strip() or None,
        level=int(level) if level.isdigit() else None,
        portal_url=env.get(PORTAL_URL_ENV, "").strip() or None,
    )


def source_from_env() -> str:
    """The spec in ``$ZARR_CRYOET_SOURCE``, or the default."""
    return request_from_env().spec


def load(request: SourceRequest, *, progress: bool = False) -> LoadedData:
    """Load the requested volume as C-contiguous float32 (z, y, x), with its provenance."""
    particles = None
    if request.kind == "phantom":
        shape = _phantom_shape(request.target, request.spec)
        truth = make_phantom(shape)
        volume, particles = truth.volume, truth.particle_centres
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
    return LoadedData(volume, provenance, particles)


def load_source(spec: str = DEFAULT_SOURCE, **options) -> np.ndarray:
    """Load the volume that ``spec`` names (see :func:`parse_source` for the options)."""
    return load(parse_source(spec, **options)).volume


def _parse_ints(text: str, what: str) -> int | tuple[int, int, int]:
    try:
        values = tuple(int(v) for v in str(text).replace("x", ",").split(","))
    except ValueError:
        values = ()
    if len(values) not in (1, 3):
        raise InvalidSourceError(f"bad crop {what} {text!r}; give one or three integers, e.g. 128 or 64,128,128")
    return values[0] if len(values) == 1 else values


def _format_size(size) -> str:
    return f"{size}³" if isinstance(size, int) else "x".join(map(str, size))


def _phantom_shape(arg: str, spec: str) -> tuple[int, int, int]:
    if not arg:
        return DEFAULT_SHAPE
    try:
        size = int(arg)
    except ValueError:
        size = 0
    if size <= 0:
        raise InvalidSourceError(
            f"bad phantom size in {spec!r}; give a positive integer edge length, e.g. phantom:256"
        )
    return (size, size, size)


def portal_ids(target: str, spec: str) -> tuple[int, str | None]:
    dataset, _, run = target.partition("/")
    if not dataset.isdigit():
        raise InvalidSourceError(f"bad portal dataset in {spec!r}; write portal:DATASET_ID[/RUN], e.g. portal:10445/TS_100_3")
    return int(dataset), run or None


__all__ = ["Crop", "LoadedData", "SourceRequest", "load", "load_source", "make_crop", "parse_source",
           "request_from_env", "source_from_env", "SOURCE_ENV", "DEFAULT_SOURCE", "InvalidSourceError"]
