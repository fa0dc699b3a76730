"""A data source, parsed once: which voxels to load, how the data names itself, and how it travels.

=========================  ===================================================
spec                       data
=========================  ===================================================
``phantom``                the embedded synthetic tomogram, 128³ (default)
``phantom:SIZE``           the same at SIZE³ or Z x Y x X, e.g. ``phantom:256``
``portal:DATASET[/RUN]``   a crop of a CryoET Data Portal tomogram (default
                           dataset 10445), read from its OME-Zarr over HTTPS
                           (or over S3: ``via="s3"``) and cached locally with
                           its provenance
``mrc:PATH``               a crop of a local MRC/MRCS file
``zarr:PATH_OR_URL``       a crop of an OME-Zarr image (level 0 unless told)
                           or a plain array, local, http(s):// or s3://
``s3://BUCKET/KEY``        the same, on object storage; the endpoint is
                           ``$AWS_ENDPOINT_URL`` (unset: AWS itself), signed
                           when ``$AWS_ACCESS_KEY_ID`` is set, else anonymous
``halves:EVEN,ODD``        an even/odd pair of half tomograms of one tomogram,
                           each an ``mrc:``, ``zarr:`` or ``s3://`` spec, e.g.
                           ``halves:mrc:even.mrc,mrc:odd.mrc``; the same crop of
                           both; the volume is their average, and the lossy
                           benchmarks judge each setting by the half-map FSC
=========================  ===================================================

A :class:`SourceRequest` is the parsed spec with the crop options (a centred cube of
``size`` voxels unless an ``offset`` is given). It is made once, by :meth:`SourceRequest.parse`
(a command line) or :meth:`SourceRequest.from_env` (an asv process), and then passed as it is:
it names itself (:meth:`~SourceRequest.identity`, the ``data`` parameter of every benchmark;
:meth:`~SourceRequest.machine_name`, the asv machine its results go under) and writes itself to
the environment of asv's processes (:meth:`~SourceRequest.environment`).
"""

from __future__ import annotations

import functools
import os
import re
import socket
from dataclasses import dataclass, replace

from zarr_cryoet.data.crop import DEFAULT_CROP_SIZE
from zarr_cryoet.data.phantom import DEFAULT_SHAPE as DEFAULT_PHANTOM_SHAPE
from zarr_cryoet.util.errors import InvalidChunksError, ZarrCryoetError

SOURCE_ENV = "ZARR_CRYOET_SOURCE"
SIZE_ENV = "ZARR_CRYOET_SIZE"
OFFSET_ENV = "ZARR_CRYOET_OFFSET"
LEVEL_ENV = "ZARR_CRYOET_LEVEL"
PORTAL_URL_ENV = "ZARR_CRYOET_PORTAL_URL"
PORTAL_VIA_ENV = "ZARR_CRYOET_PORTAL_VIA"
DEFAULT_SOURCE = "phantom"
#: The CryoET Data Portal dataset of ``portal:`` without an id: the CZII CryoET Object
#: Identification challenge (e.g. its run "TS_100_3" is a 630×630×184 float32 tomogram at 10.012 Å).
DEFAULT_DATASET = 10445
KINDS = ("phantom", "portal", "mrc", "zarr", "s3", "halves")
#: what each half of a ``halves:`` pair may be (files or arrays of one's own tomogram)
HALF_KINDS = ("mrc", "zarr", "s3")
#: how ``portal:`` reads the tomogram's OME-Zarr: its https_omezarr_dir or its s3_omezarr_dir
PORTAL_VIA = ("https", "s3")
USAGE = ("phantom, phantom:SIZE, portal:DATASET[/RUN], mrc:PATH, zarr:PATH_OR_URL, s3://BUCKET/KEY or "
         "halves:EVEN,ODD (two of mrc:/zarr:/s3://)")


class InvalidSourceError(ZarrCryoetError, ValueError):
    """A source spec that cannot be understood."""


@dataclass(frozen=True)
class SourceRequest:
    """A parsed spec plus the crop options: everything that decides which voxels are loaded, and how."""

    kind: str
    target: str = ""
    size: int | tuple[int, int, int] | None = DEFAULT_CROP_SIZE
    offset: tuple[int, int, int] | None = None
    level: int | None = None
    portal_url: str | None = None
    via: str = "https"

    # -- making one --------------------------------------------------------------------------------------
    @classmethod
    def parse(cls, spec: str | None = None, *, size=DEFAULT_CROP_SIZE, offset=None, level=None, portal_url=None,
              via: str | None = None) -> SourceRequest:
        """Check a spec string and bundle it with the crop options (strings as typed, or parsed values)."""
        spec = (spec or DEFAULT_SOURCE).strip()
        if spec.startswith("s3://"):
            kind, target = "s3", spec.removeprefix("s3://")
            if "/" not in target.strip("/"):
                raise InvalidSourceError(f"{spec!r} names no key; write s3://BUCKET/KEY, e.g. "
                                         "s3://cryoet-data-portal-public/10445/TS_100_3/.../TS_100_3.zarr")
        else:
            kind, _, target = spec.partition(":")
        if kind not in KINDS:
            raise InvalidSourceError(f"unknown data source {spec!r}; use {USAGE}")
        if kind == "phantom":
            _phantom_shape(target, spec)
        elif kind == "portal":
            target = target or str(DEFAULT_DATASET)
            _portal_ids(target, spec)
        elif kind == "halves":
            _half_specs(target, spec)
        elif not target:
            raise InvalidSourceError(f"{kind}: needs a path, e.g. {kind}:/data/tomogram.{'mrc' if kind == 'mrc' else 'zarr'}")
        via = _parse_via(via or "https")
        if via != "https" and kind != "portal":
            raise InvalidSourceError(f"reading via {via} applies to portal: sources, not {spec!r}; "
                                     "give an s3:// source instead")
        if isinstance(size, str):
            size = _parse_size(size)
        if isinstance(offset, str):
            offset = _parse_ints(offset, "offset")
        if isinstance(level, str):
            level = _parse_level(level)
        if portal_url is not None:
            portal_url = _parse_url(portal_url)
        return cls(kind, target, size, offset, level, portal_url, via)

    @classmethod
    def from_env(cls, environ=None) -> SourceRequest:
        """The request the ``ZARR_CRYOET_*`` variables describe; a bad value is an error naming its variable."""
        environ = os.environ if environ is None else environ
        size = _from_env(environ, SIZE_ENV, _parse_size, DEFAULT_CROP_SIZE)
        offset = _from_env(environ, OFFSET_ENV, lambda text: _parse_ints(text, "offset"))
        level = _from_env(environ, LEVEL_ENV, _parse_level)
        portal_url = _from_env(environ, PORTAL_URL_ENV, _parse_url)
        parse = functools.partial(cls.parse, size=size, offset=offset, level=level, portal_url=portal_url)
        request = _from_env(environ, SOURCE_ENV, parse) or parse(DEFAULT_SOURCE)
        # how the portal is read: checked against the source, an error naming its own variable
        return _from_env(environ, PORTAL_VIA_ENV, lambda via: parse(request.spec, via=via), request)

    def with_run(self, run: str) -> SourceRequest:
        """The same request for another run of the portal dataset."""
        if self.kind != "portal":
            raise InvalidSourceError("--run only applies to --source portal:DATASET")
        dataset, _ = self.portal_ids()
        return replace(self, target=f"{dataset}/{run}")

    # -- what it is --------------------------------------------------------------------------------------
    @property
    def spec(self) -> str:
        if self.kind == "s3":
            return f"s3://{self.target}"
        return f"{self.kind}:{self.target}" if self.target else self.kind

    @property
    def location(self) -> str:
        """Where the voxels are: the path or URL of an ``mrc:``, ``zarr:`` or ``s3://`` source."""
        return self.spec if self.kind == "s3" else self.target

    def half_requests(self) -> tuple[SourceRequest, SourceRequest]:
        """The even and the odd half of a ``halves:`` pair, each with this request's crop (same voxels of both)."""
        if self.kind != "halves":
            raise InvalidSourceError(f"{self.spec!r} is not a pair of half maps; write halves:EVEN,ODD, "
                                     "e.g. halves:mrc:even.mrc,mrc:odd.mrc")
        return tuple(replace(self, kind=kind, target=target) for kind, target in _half_specs(self.target, self.spec))

    def phantom_shape(self) -> tuple[int, int, int]:
        return _phantom_shape(self.target, self.spec)

    def portal_ids(self) -> tuple[int, str | None]:
        """``(dataset id, run name or None)`` of a ``portal:`` source."""
        return _portal_ids(self.target, self.spec)

    def identity(self) -> str:
        """A short label naming the data, e.g. ``portal:10445/TS_100_3 128³@centre float32``.

        It is computed without any I/O, so benchmarks can use it as a parameter: results on
        different data then never mix in the dashboard. How the data is fetched (``via``) is not
        part of it: the voxels are the same.
        """
        if self.kind == "phantom":
            return f"phantom {_shape_label(self.phantom_shape())} float32"
        size = "full" if self.size is None else _shape_label(self.size)
        where = "centre" if self.offset is None else ",".join(map(str, self.offset))
        level = f" level {self.level}" if self.level else ""
        return f"{self.spec} {size}@{where}{level} float32"

    def machine_name(self, hostname: str | None = None) -> str | None:
        """The asv machine name of a run on this data: None for the default phantom, else the host and the data.

        asv keeps one result per benchmark, commit, machine and environment, so a run on other data
        would overwrite the phantom's results; under a machine name of its own (shown separately in
        the dashboard) it never does.
        """
        if self.identity() == SourceRequest(DEFAULT_SOURCE).identity():
            return None
        slug = re.sub(r"[^A-Za-z0-9]+", "-", self.identity().removesuffix(" float32")).strip("-")
        return f"{hostname or socket.gethostname()}-{slug}"[:80]

    # -- how it travels ----------------------------------------------------------------------------------
    def settings(self) -> dict[str, str | None]:
        """The ``ZARR_CRYOET_*`` variables that describe this request (None: unset)."""
        size = "full" if self.size is None else ",".join(map(str, _as_tuple(self.size)))
        return {SOURCE_ENV: self.spec, SIZE_ENV: size,
                OFFSET_ENV: None if self.offset is None else ",".join(map(str, self.offset)),
                LEVEL_ENV: None if self.level is None else str(self.level), PORTAL_URL_ENV: self.portal_url,
                PORTAL_VIA_ENV: None if self.via == "https" else self.via}

    def environment(self, environ=None) -> dict[str, str]:
        """A copy of ``environ`` (default: this process's) in which :meth:`from_env` gives this request back."""
        env = dict(os.environ if environ is None else environ)
        for name, value in self.settings().items():
            if value is None:
                env.pop(name, None)
            else:
                env[name] = value
        return env


def _from_env(environ, name: str, parse, default=None):
    text = environ.get(name, "").strip()
    if not text:
        return default
    try:
        return parse(text)
    except InvalidSourceError as err:
        raise InvalidSourceError(f"${name}: {err}") from None


def _as_tuple(size) -> tuple[int, ...]:
    return (size,) if isinstance(size, int) else tuple(size)


def _shape_label(size) -> str:
    shape = _as_tuple(size)
    return f"{shape[0]}³" if len(set(shape)) == 1 else "x".join(map(str, shape))


def _parse_size(text: str):
    return None if text in ("full", "all") else _parse_ints(text, "size", minimum=1)


def _parse_ints(text: str, what: str, minimum: int = 0) -> int | tuple[int, int, int]:
    try:
        values = tuple(int(v) for v in str(text).replace("x", ",").split(","))
    except ValueError:
        values = ()
    if len(values) not in (1, 3) or min(values) < minimum:
        raise InvalidSourceError(f"bad crop {what} {text!r}; give one or three integers >= {minimum}, "
                                 "e.g. 128 or 64,128,128")
    return values[0] if len(values) == 1 else values


def _parse_level(text: str) -> int:
    if not text.isdigit():
        raise InvalidSourceError(f"bad multiscale level {text!r}; give a whole number >= 0 (0 is full "
                                 "resolution), or leave it unset")
    return int(text)


def _parse_via(text: str) -> str:
    if text not in PORTAL_VIA:
        raise InvalidSourceError(f"cannot read the portal via {text!r}; choose https (the default) or s3")
    return text


def _parse_url(text: str) -> str:
    if not text.startswith(("http://", "https://")):
        raise InvalidSourceError(f"{text!r} is not an http(s) URL; give the portal's GraphQL endpoint "
                                 "(https://.../graphql), or leave it unset for the public portal")
    return text


def _phantom_shape(arg: str, spec: str) -> tuple[int, int, int]:
    """``""`` -> the default shape; ``"256"`` -> 256³; ``"184x630x630"`` -> (z, y, x)."""
    if not arg:
        return DEFAULT_PHANTOM_SHAPE
    from zarr_cryoet.store.stores import parse_chunks  # the one parser of Z x Y x X triples

    try:
        return parse_chunks(arg)
    except InvalidChunksError:
        raise InvalidSourceError(
            f"bad phantom size in {spec!r}; give a positive edge length or Z x Y x X, e.g. phantom:256 "
            "or phantom:184x630x630") from None


def _half_specs(target: str, spec: str) -> list[tuple[str, str]]:
    """``"mrc:a.mrc,mrc:b.mrc"`` -> ``[("mrc", "a.mrc"), ("mrc", "b.mrc")]``: two specs of :data:`HALF_KINDS`."""
    parts = target.split(",")
    if len(parts) != 2 or not all(p.strip() for p in parts):
        raise InvalidSourceError(f"{spec!r} needs exactly two half maps separated by one comma (no comma inside "
                                 "a path); write halves:EVEN,ODD, e.g. halves:mrc:even.mrc,mrc:odd.mrc")
    halves = []
    for part in parts:
        half = SourceRequest.parse(part.strip())
        if half.kind not in HALF_KINDS:
            raise InvalidSourceError(f"half map {part.strip()!r} in {spec!r} is a {half.kind} source; each half "
                                     "must be mrc:PATH, zarr:PATH_OR_URL or s3://BUCKET/KEY")
        halves.append((half.kind, half.target))
    if halves[0] == halves[1]:
        raise InvalidSourceError(f"{spec!r} names the same file twice; give the even and the odd half tomogram")
    return halves


def _portal_ids(target: str, spec: str) -> tuple[int, str | None]:
    dataset, _, run = target.partition("/")
    if not dataset.isdigit():
        raise InvalidSourceError(f"bad portal dataset in {spec!r}; write portal:DATASET_ID[/RUN], "
                                 f"e.g. portal:{DEFAULT_DATASET}/TS_100_3")
    return int(dataset), run or None
